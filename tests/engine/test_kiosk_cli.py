"""``guahao kiosk register | list | disable | reset-password``: the kiosk registry from the
command line, the password printed once and only its broker hash stored."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from booking_core import catalogue
from booking_core.bus import bootstrap
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from edge.mosquitto import password_matches
from engine import cli

KEY = Cipher.generate_key()


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("GUAHAO_PII_KEY", KEY)
    path = str(tmp_path / "g.db")

    async def hospital() -> None:
        store = make_store(path, SystemClock())
        await store.open()
        try:
            await bootstrap(store, Cipher.from_base64(KEY)).handle(
                catalogue.UpsertHospital(code="H001", name="协和示范医院", actor=SYSTEM)
            )
        finally:
            await store.close()

    asyncio.run(hospital())
    return path


def _kiosk(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["kiosk", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _printed(out: str) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in out.splitlines())


def _stored_hash(db: str, kiosk_id: str) -> str:
    with sqlite3.connect(db) as conn:
        [(hashed,)] = conn.execute("SELECT password_hash FROM kiosks WHERE id = ?", (kiosk_id,))
    return hashed


def test_register_prints_the_id_and_password_once_and_stores_only_the_hash(db, capsys):
    code, out, err = _kiosk(
        capsys, "register", "--db", db, "--hospital", "H001", "--name", "门诊大厅1号机",
        "--location", "门诊楼一层",
    )  # fmt: skip
    assert code == 0, err
    printed = _printed(out)
    assert printed["kiosk_id"].startswith("k")
    assert len(printed["kiosk_id"]) == 9
    assert len(printed["password"]) >= 24
    assert "shown only this once" in err
    hashed = _stored_hash(db, printed["kiosk_id"])
    assert hashed.startswith("$7$")
    assert password_matches(printed["password"], hashed)
    assert printed["password"].encode() not in Path(db).read_bytes()

    code, out, _err = _kiosk(capsys, "list", "--db", db)
    assert code == 0
    assert f"{printed['kiosk_id']}  H001  门诊大厅1号机 · 门诊楼一层  never connected" in out


def test_reset_password_gives_a_new_one_and_disable_stops_the_kiosk(db, capsys):
    _code, out, _err = _kiosk(capsys, "register", "--db", db, "--hospital", "H001", "--name", "A")
    first = _printed(out)
    code, out, err = _kiosk(capsys, "reset-password", "--db", db, first["kiosk_id"])
    assert code == 0, err
    second = _printed(out)
    assert second["kiosk_id"] == first["kiosk_id"]
    assert second["password"] != first["password"]
    hashed = _stored_hash(db, first["kiosk_id"])
    assert password_matches(second["password"], hashed)
    assert not password_matches(first["password"], hashed)

    code, out, err = _kiosk(capsys, "disable", "--db", db, first["kiosk_id"])
    assert (code, out) == (0, "")
    assert "disabled" in err
    _code, out, _err = _kiosk(capsys, "list", "--db", db, "--hospital", "H001")
    assert out.rstrip().endswith("disabled  open jobs: 0")
    code, out, err = _kiosk(capsys, "reset-password", "--db", db, first["kiosk_id"])
    assert code == 1  # a disabled kiosk gets no new password
    assert out == ""


@pytest.mark.parametrize("kiosk_id", ["k00000000", "zz", "k" + "9" * 400, "' OR 1=1 --"])
def test_an_unknown_kiosk_is_a_clear_error(db, capsys, kiosk_id):
    code, out, err = _kiosk(capsys, "disable", "--db", db, kiosk_id)
    assert code == 1
    assert out == ""
    assert err.startswith("guahao: not_found")


def test_an_unknown_hospital_or_an_empty_name_is_refused(db, capsys):
    code, out, err = _kiosk(capsys, "register", "--db", db, "--hospital", "H999", "--name", "A")
    assert (code, out) == (1, "")
    assert "not_found" in err
    code, out, err = _kiosk(capsys, "register", "--db", db, "--hospital", "H001", "--name", " ")
    assert (code, out) == (1, "")
    assert "invalid_input" in err
    code, out, err = _kiosk(capsys, "list", "--db", db)
    assert (code, out) == (0, "")
    assert "no kiosks" in err
