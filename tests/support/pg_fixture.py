"""pytest fixtures for a private PostgreSQL: one server per test session, one database per test.

Load it from the root conftest with ``pytest_plugins = ["tests.support.pg_fixture"]``. When the
PostgreSQL binaries are missing or the server does not start, tests that use these fixtures are
skipped, or fail when CI=true (see ``service_missing``).
"""

import asyncio
from collections.abc import Iterator

import pytest

from booking_core.kernel.clock import SystemClock
from booking_core.store import make_store

from .services import (
    ServiceError,
    create_database,
    drop_database,
    service_missing,
    start_private_postgres,
)


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DSN of this session's private PostgreSQL server (superuser, database ``postgres``)."""
    try:
        pg = start_private_postgres(tmp_path_factory.mktemp("postgres"))
    except ServiceError as err:
        service_missing("PostgreSQL", str(err))
    try:
        yield pg.dsn
    finally:
        pg.stop()


MIGRATED_TEMPLATE = "t_migrated"


@pytest.fixture(scope="session")
def migrated_template(postgres_dsn: str) -> str:
    """Name of a database on the private server that holds the schema, every migration
    applied by the store itself (once per session): copying it is a file copy, where
    migrating each test's database took longer than most tests (800 of them run on
    PostgreSQL). Nothing connects to it after, as ``CREATE DATABASE … TEMPLATE`` needs."""
    dsn = create_database(postgres_dsn, MIGRATED_TEMPLATE)

    async def migrate() -> None:
        store = make_store(dsn, SystemClock(), pg_pool_min=1, pg_pool_max=1)
        await store.open()
        await store.close()

    asyncio.run(migrate())
    return MIGRATED_TEMPLATE


@pytest.fixture
def fresh_pg_dsn(postgres_dsn: str, migrated_template: str) -> Iterator[str]:
    """DSN of a new database on the private server with the schema of this checkout
    (a copy of :func:`migrated_template`: opening a store on it migrates nothing); dropped
    after the test. Tests of a migration itself step the schema back first, as they did."""
    dsn = create_database(postgres_dsn, template=migrated_template)
    yield dsn
    drop_database(dsn)
