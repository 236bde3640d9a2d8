"""The store: one interface (``Store``), an SQLite and a PostgreSQL implementation."""

from __future__ import annotations

from collections.abc import Sequence

from ..kernel.clock import Clock
from .base import Store

__all__ = ["Store", "make_store"]


def make_store(
    db: str,
    clock: Clock,
    *,
    sqlite_readers: int = 4,
    sqlite_max_batch: int = 256,
    pg_pool_min: int = 2,
    pg_pool_max: int = 20,
    outbox_consumers: Sequence[str] = (),
    sql_trace: bool = False,
) -> Store:
    """A store for ``db``: a ``postgresql://`` URL or an SQLite file path."""
    store = _make(
        db, clock, sqlite_readers, sqlite_max_batch, pg_pool_min, pg_pool_max, outbox_consumers
    )
    store.sql_trace = sql_trace
    return store


def _make(
    db: str,
    clock: Clock,
    sqlite_readers: int,
    sqlite_max_batch: int,
    pg_pool_min: int,
    pg_pool_max: int,
    outbox_consumers: Sequence[str],
) -> Store:
    if db.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(
            db, clock, min_size=pg_pool_min, max_size=pg_pool_max, outbox_consumers=outbox_consumers
        )
    from .sqlite import SqliteStore

    return SqliteStore(
        db.removeprefix("sqlite:///"),
        clock,
        readers=sqlite_readers,
        max_batch=sqlite_max_batch,
        outbox_consumers=outbox_consumers,
    )
