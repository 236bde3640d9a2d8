"""pytest fixtures for a private PostgreSQL: one server per test session, one database per test.

Load it from the root conftest with ``pytest_plugins = ["tests.support.pg_fixture"]``. When the
PostgreSQL binaries are missing or the server does not start, tests that use these fixtures are
skipped, or fail when CI=true (see ``service_missing``).
"""

from collections.abc import Iterator

import pytest

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


@pytest.fixture
def fresh_pg_dsn(postgres_dsn: str) -> Iterator[str]:
    """DSN of a new, empty database on the private server; dropped after the test."""
    dsn = create_database(postgres_dsn)
    yield dsn
    drop_database(dsn)
