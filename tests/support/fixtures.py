"""Shared fixtures: a settable clock, a store on a real SQLite file or a private
PostgreSQL, the booking services over it (also over a pool wide enough for races), and the
world builder."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from booking_core import feeds
from booking_core.bus import BookingServices, bootstrap
from booking_core.kernel.clock import FrozenClock, SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from booking_core.store.base import Store

from .world import World, local

TEST_PII_KEY = Cipher.generate_key()
RACE_CONNECTIONS = 100  # PostgreSQL: this many transactions in the server at once (of 200 allowed)


@pytest.fixture
def clock() -> FrozenClock:
    """2026-07-10 09:00 in Beijing unless a test moves it."""
    return FrozenClock(local(2026, 7, 10, 9, 0))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied by the store itself, once per session (as
    :func:`tests.support.pg_fixture.migrated_template` for PostgreSQL): each test's file is a
    copy, where migrating each took 60 ms of a 2-core box's time, ~2,000 times a run."""
    path = tmp_path_factory.mktemp("sqlite-template") / "guahao.db"

    async def migrate() -> None:
        store = make_store(str(path), SystemClock())
        await store.open()
        await store.close()

    asyncio.run(migrate())
    left = [p.name for p in path.parent.iterdir() if p != path]
    assert not left, f"the template must be one closed file, not {left}"  # a WAL not folded in
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A new SQLite file for this test with the schema of this checkout."""
    path = tmp_path / "guahao.db"
    shutil.copyfile(migrated_sqlite, path)
    return str(path)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], name="db_url"
)
def on_both_stores(request) -> str:
    """``db_url``: the test's database on each store in turn. A conftest that narrows it to
    SQLite (the console's) is widened again in a module by importing this fixture."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("fresh_pg_dsn")


@pytest.fixture
async def store(db_url: str, clock: FrozenClock) -> AsyncIterator[Store]:
    s = make_store(db_url, clock, outbox_consumers=["test"])
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def cipher() -> Cipher:
    return Cipher.from_base64(TEST_PII_KEY)


@pytest.fixture
def services(store: Store, cipher: Cipher) -> BookingServices:
    return bootstrap(store, cipher)


@asynccontextmanager
async def feeding_services(
    db: str, clock: FrozenClock, cipher: Cipher
) -> AsyncIterator[BookingServices]:
    """The services over a store whose outbox has the feeds' consumer (so each event is fanned
    out to the hospitals' subscriptions, #13)."""
    store = make_store(db, clock, outbox_consumers=[feeds.OUTBOX_CONSUMER])
    await store.open()
    try:
        yield bootstrap(store, cipher)
    finally:
        await store.close()


@pytest.fixture
async def feed_services(db_url: str, clock: FrozenClock, cipher: Cipher):
    """:func:`feeding_services` on both stores."""
    async with feeding_services(db_url, clock, cipher) as services:
        yield services


@pytest.fixture
async def sqlite_feed_services(tmp_path, clock: FrozenClock, cipher: Cipher):
    """:func:`feeding_services` on a SQLite file (tests that start servers of their own)."""
    async with feeding_services(str(tmp_path / "feeds.db"), clock, cipher) as services:
        yield services


@pytest.fixture
def world(services: BookingServices) -> World:
    return World(services)


async def open_race_services(db_url: str, clock: FrozenClock, cipher: Cipher) -> BookingServices:
    """The bus over a store whose PostgreSQL pool is wide enough for real parallel races
    (SQLite's one writer takes them in its group-commit batches); the caller closes it."""
    store = make_store(
        db_url,
        clock,
        pg_pool_min=RACE_CONNECTIONS,
        pg_pool_max=RACE_CONNECTIONS,
        outbox_consumers=["test"],
    )
    await store.open()
    return bootstrap(store, cipher)


@pytest.fixture
async def race_services(
    db_url: str, clock: FrozenClock, cipher: Cipher
) -> AsyncIterator[BookingServices]:
    """:func:`open_race_services` on both stores."""
    services = await open_race_services(db_url, clock, cipher)
    try:
        yield services
    finally:
        await services.store.close()


@pytest.fixture
async def pg_race_services(
    fresh_pg_dsn: str, clock: FrozenClock, cipher: Cipher
) -> AsyncIterator[BookingServices]:
    """:func:`open_race_services` on PostgreSQL only: a race's negative control, which
    needs transactions truly in parallel (SQLite's one writer serialises them)."""
    services = await open_race_services(fresh_pg_dsn, clock, cipher)
    try:
        yield services
    finally:
        await services.store.close()
