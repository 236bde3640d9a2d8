"""``guahao operator create``: the first platform admin, its password from stdin; weak
passwords refused; and the engine serves the console it logs in to."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import sqlite3

import pytest

from booking_core import catalogue
from booking_core.bus import bootstrap
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
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


def _create(monkeypatch, db: str, *options: str) -> int:
    monkeypatch.setenv("GUAHAO_PII_KEY", KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    return cli.main(["operator", "create", "--db", db, *options])


def _operators(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "operators" not in tables:
            return []
        return conn.execute("SELECT username FROM operators").fetchall()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (["--username", "x!", "--name", "平台管理员"], "username"),
        (["--username", "root", "--name", "长" * 41], "display_name"),
        (["--username", "root", "--name", "  "], "display_name"),
    ],
)
def test_the_cli_adds_an_operator_with_the_consoles_checks(
    tmp_path, monkeypatch, capsys, options, field
):
    """#11 item 7: the CLI runs the one command the console runs (AddOperator), checks and
    all: a user name of the wrong shape, an empty or overlong display name."""
    db = str(tmp_path / "g.db")
    assert _create(monkeypatch, db, *options, "--role", "platform_admin") == 1
    assert f"field='{field}'" in capsys.readouterr().err
    assert _operators(db) == []


async def _hospital(db: str, code: str) -> None:
    store = make_store(db, SystemClock())
    await store.open()
    try:
        await bootstrap(store, Cipher.from_base64(KEY)).handle(
            catalogue.UpsertHospital(code=code, name="第一医院")
        )
    finally:
        await store.close()


def test_the_cli_binds_no_platform_admin_to_a_hospital(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "g.db")
    asyncio.run(_hospital(db, "H001"))
    argv = ["--username", "root", "--name", "平台管理员", "--role", "platform_admin"]
    assert _create(monkeypatch, db, *argv, "--hospital", "H001") == 1
    assert "a platform admin belongs to no hospital" in capsys.readouterr().err
    assert _operators(db) == []
    assert _create(monkeypatch, db, "--username", "agent1", "--name", "值班", "--role", "agent",
                   "--hospital", "H001") == 0  # fmt: skip
    assert _operators(db) == [("agent1",)]
