"""``/healthz`` reports the writer's health (issue #10 item 14): a store that still reads
but whose writes fail (a full disk) answers 503 with the reason, and ok again after a
write commits. The failures are real where the store can be made to fail for real
(SQLite's ``max_page_count``: SQLITE_FULL from SQLite itself; a deferred PostgreSQL
trigger raising ``disk_full`` at COMMIT), and injected at the SQLite writer's COMMIT."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from booking_core.kernel.errors import StoreUnavailable
from booking_core.kernel.pii import Cipher
from booking_core.kernel.unit import execute, val
from booking_core.store.sqlite import SqliteStore
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES, STORE
from tests.support.events import noted
from tests.support.world import World

KEY = Cipher.generate_key()


def _settings(db: str):
    return load_settings(env={"GUAHAO_PII_KEY": KEY}, overrides={"db": db})


@pytest.fixture
async def client(aiohttp_client, db_url, clock):
    return await aiohttp_client(build_app(_settings(db_url), clock=clock))


def _grow(tx, code: str):
    """A write that needs new pages (a hospital with a long name)."""
    yield execute(
        "INSERT INTO hospitals (code, name, timezone, created_at, updated_at) "
        "VALUES (?, ?, 'Asia/Shanghai', 0, 0)",
        code,
        code * 20_000,
    )
    tx.emit(noted(code))
    return code


async def _health(client) -> tuple[int, dict]:
    resp = await client.get("/healthz")
    return resp.status, await resp.json()


async def test_healthz_is_503_while_writes_meet_a_full_disk_and_ok_after_one_commits(client):
    store = client.app[STORE]
    assert (await _health(client))[0] == 200
    if store.dialect == "sqlite":
        pages = await store.read(lambda tx: (yield val("PRAGMA page_count")))
        await store._writer.execute(f"PRAGMA max_page_count = {pages}")
    else:
        await store.write(_ddl, FULL_AT_COMMIT)
    with pytest.raises(StoreUnavailable, match=r"full|No space"):
        await store.write(_grow, "FULL1")
    status, body = await _health(client)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("writes are failing: ")
    assert "full" in body["reason"] or "No space" in body["reason"]
    # reads still work meanwhile: it is the writes that fail
    assert await store.read(lambda tx: (yield val("SELECT count(*) FROM hospitals"))) == 0
    if store.dialect == "sqlite":
        await store._writer.execute("PRAGMA max_page_count = 1073741823")
    else:
        await store.write(_ddl, ["DROP TRIGGER test_disk_full ON hospitals"])
    assert await store.write(_grow, "ROOM1") == "ROOM1"
    status, body = await _health(client)
    assert (status, body["status"]) == (200, "ok")


async def test_a_failed_write_is_forgotten_after_the_window(client):
    store = client.app[STORE]
    store._writes_failing("database or disk is full")
    assert store.write_fault() == "database or disk is full"
    assert store.write_fault(within_seconds=0) is None  # no write since, but long ago
    await World(client.app[SERVICES]).hospital()  # a write that commits
    assert store.write_fault() is None


async def test_a_unit_refused_for_its_own_reasons_leaves_healthz_ok(client):
    def refused(tx):
        yield execute("INSERT INTO hospitals (code) VALUES (NULL)")  # NOT NULL: the unit's fault

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the dialect's own error
        await client.app[STORE].write(refused)
    assert not isinstance(caught.value, StoreUnavailable)
    assert (await _health(client))[0] == 200


class _FullAtCommit:
    """The writer's sqlite3 connection, whose COMMIT fails as on a full disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql, *args):
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


async def test_sqlite_commit_failing_as_on_a_full_disk(
    aiohttp_client, tmp_path, clock, monkeypatch
):
    client = await aiohttp_client(build_app(_settings(str(tmp_path / "g.db")), clock=clock))
    store = client.app[STORE]
    real = SqliteStore._run_batch
    monkeypatch.setattr(store, "_run_batch", lambda c, b, t: real(store, _FullAtCommit(c), b, t))
    with pytest.raises(StoreUnavailable, match="disk is full"):
        await store.write(_grow, "FULL2")
    status, body = await _health(client)
    assert status == 503
    assert body["reason"] == "writes are failing: database or disk is full"
    monkeypatch.undo()
    assert await store.write(_grow, "ROOM2") == "ROOM2"
    assert (await _health(client))[0] == 200


FULL_AT_COMMIT = [
    "CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'could not extend file: No space left on device' "
    "USING ERRCODE = 'disk_full'; END $$",
    "CREATE CONSTRAINT TRIGGER test_disk_full AFTER INSERT ON hospitals "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_disk_full()",
]


def _ddl(tx, statements):
    for statement in statements:
        yield execute(statement)


async def test_sqlite_unit_meeting_a_full_disk_is_the_stores_fault(aiohttp_client, tmp_path, clock):
    """SQLITE_FULL that rolled back only the statement (the transaction goes on): the
    other units of the batch commit, that unit's caller hears "store unavailable", and
    /healthz says the writes are failing."""
    client = await aiohttp_client(build_app(_settings(str(tmp_path / "g.db")), clock=clock))
    store = client.app[STORE]

    def full(tx):
        err = sqlite3.OperationalError("database or disk is full")
        err.sqlite_errorcode = sqlite3.SQLITE_FULL
        raise err
        yield

    results = await asyncio.gather(
        store.write(_grow, "A"), store.write(full), store.write(_grow, "B"), return_exceptions=True
    )
    assert results[0] == "A"
    assert results[2] == "B"
    assert isinstance(results[1], StoreUnavailable)
    assert (await _health(client))[0] == 503
