"""``guahao token list`` and ``guahao token revoke``: every token with its hospital, role and
hospital-local times, never the token nor its hash; a revoked one stops working."""

from __future__ import annotations

import asyncio
import re

from booking_core import operators
from booking_core.bus import bootstrap
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from engine import cli
from hospital_api.auth import TokenCache, hash_token, new_token, verify
from tests.support.world import World

KEY = Cipher.generate_key()


async def _setup(db: str) -> dict[str, str]:
    store = make_store(db, SystemClock())
    await store.open()
    services = bootstrap(store, Cipher.from_base64(KEY))
    try:
        await World(services).hospital(name="协和")
        made = {}
        for name, role, hospital in (
            ("his-main", "his", "H001"),
            ("kiosk-1", "kiosk", "H001"),
            ("ops", "admin", None),
        ):
            token = new_token()
            await services.handle(
                operators.CreateToken(
                    name=name, role=role, hospital_code=hospital, token_hash=hash_token(token)
                )
            )
            made[name] = token
        return made
    finally:
        await store.close()


async def _works(db: str, token: str) -> bool:
    store = make_store(db, SystemClock())
    await store.open()
    try:
        services = bootstrap(store, Cipher.from_base64(KEY))
        return await verify(services, TokenCache(0), token) is not None
    finally:
        await store.close()


def test_token_list_and_revoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GUAHAO_PII_KEY", KEY)
    db = str(tmp_path / "g.db")
    made = asyncio.run(_setup(db))

    assert cli.main(["token", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].split() == ["id", "name", "role", "hospital", "created", "revoked"]
    rows = [line.split() for line in lines[1:]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("1", "his-main", "his", "H001"),
        ("2", "kiosk-1", "kiosk", "H001"),
        ("3", "ops", "admin", "(platform)"),
    ]
    assert all(r[-1] == "-" for r in rows)  # none revoked
    for token in made.values():
        assert token not in out
        assert hash_token(token) not in out

    assert cli.main(["token", "list", "--db", db, "--hospital", "H001"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3

    assert asyncio.run(_works(db, made["kiosk-1"]))
    assert cli.main(["token", "revoke", "--db", db, "2"]) == 0
    said = capsys.readouterr().out
    assert "token 2 (kiosk-1, kiosk) is revoked" in said
    assert "token_cache_seconds (30 s)" in said
    assert not asyncio.run(_works(db, made["kiosk-1"]))
    assert asyncio.run(_works(db, made["his-main"]))

    assert cli.main(["token", "list", "--db", db]) == 0
    assert "kiosk-1" not in capsys.readouterr().out  # revoked: only with --all
    assert cli.main(["token", "list", "--db", db, "--all"]) == 0
    revoked = [line for line in capsys.readouterr().out.splitlines() if "kiosk-1" in line]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d$", revoked[0])  # when it was revoked

    assert cli.main(["token", "revoke", "--db", db, "99"]) == 1
    assert "not_found" in capsys.readouterr().err
