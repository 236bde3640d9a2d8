"""``guahao operator create``: the first platform admin, its password from stdin; weak
passwords refused; and the engine serves the console it logs in to."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import sqlite3

import pytest

from booking_core.kernel.pii import Cipher
from engine import cli
from engine.app import build_app
from engine.config import load_settings

KEY = Cipher.generate_key()
PASSWORD = "a long admin passphrase 2026"
CREATE = ["operator", "create", "--username", "Root", "--name", "平台管理员", "--role",
          "platform_admin"]  # fmt: skip


def _run(monkeypatch, db: str, stdin: str, *extra: str) -> int:
    monkeypatch.setenv("GUAHAO_PII_KEY", KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main([*CREATE, "--db", db, *extra])


async def test_operator_create_reads_stdin_and_the_admin_can_log_in(
    tmp_path, monkeypatch, capsys, aiohttp_client, clock
):
    db = str(tmp_path / "g.db")
    code = await asyncio.to_thread(_run, monkeypatch, db, PASSWORD + "\n")
    assert code == 0, capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        [(username, roles, hospital, must_change, hashed)] = conn.execute(
            "SELECT username, roles, hospital_id, must_change_password, password_hash "
            "FROM operators"
        ).fetchall()
    assert (username, roles, hospital, must_change) == ("root", "platform_admin", None, 0)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD.encode() not in (tmp_path / "g.db").read_bytes()

    settings = load_settings(env={"GUAHAO_PII_KEY": KEY}, overrides={"db": db})
    client = await aiohttp_client(build_app(dataclasses.replace(settings), clock=clock))
    async with client.get("/console/login.json") as resp:
        csrf = (await resp.json())["csrf_token"]
    async with client.post(
        "/console/login",
        data={"username": "root", "password": PASSWORD, "csrf_token": csrf},
        headers={"Accept": "application/json"},
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["stage"] == "totp_enrol"  # an admin sets up TOTP first


@pytest.mark.parametrize(
    "stdin", ["short1\n", "password1234\n", "aaaaaaaaaaaaaaaa\n", "root-is-my-name-ok\n", "\n"]
)
def test_operator_create_refuses_a_weak_password(tmp_path, monkeypatch, capsys, stdin):
    db = str(tmp_path / "g.db")
    assert _run(monkeypatch, db, stdin) == 1
    assert "password refused" in capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "operators" in tables:
            assert conn.execute("SELECT count(*) FROM operators").fetchone() == (0,)


def test_hospital_roles_need_a_hospital(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "g.db")
    monkeypatch.setenv("GUAHAO_PII_KEY", KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["operator", "create", "--db", db, "--username", "agent1", "--name", "值班",
            "--role", "agent"]  # fmt: skip
    assert cli.main(argv) == 1
    assert "hospital" in capsys.readouterr().err
