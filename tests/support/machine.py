"""What every hypothesis state machine over the real bus shares (the bookings' and the
channel pools'): one example's database (a copy of the session's migrated SQLite file or
PostgreSQL template, dropped after the example), a store and the services on it with a
frozen clock, and ``run`` — a command's answer, or the refusal it was refused with, which
must have recorded no event."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck
from hypothesis.stateful import RuleBasedStateMachine

from booking_core.bus import BookingServices, bootstrap
from booking_core.kernel import errors as e
from booking_core.kernel.clock import FrozenClock
from booking_core.kernel.pii import Cipher
from booking_core.kernel.unit import Command, val
from booking_core.store import make_store

from .fixtures import TEST_PII_KEY
from .services import create_database, drop_database

SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@dataclass
class Database:
    """Where one example's store lives; ``drop`` removes it."""

    url: str
    drop: Callable[[], None]


def sqlite_databases(folder: Path, migrated: Path) -> Callable[[], Database]:
    """A new copy of the migrated SQLite file per example, under ``folder``."""

    def new() -> Database:
        own = tempfile.mkdtemp(dir=folder)
        shutil.copyfile(migrated, f"{own}/guahao.db")
        return Database(f"{own}/guahao.db", lambda: shutil.rmtree(own))

    return new


def postgres_databases(server_dsn: str, template: str) -> Callable[[], Database]:
    """A new copy of the migrated template per example on the private server."""

    def new() -> Database:
        dsn = create_database(server_dsn, template=template)
        return Database(dsn, lambda: drop_database(dsn))

    return new


class StoreMachine(RuleBasedStateMachine):
    """A machine on its own event loop, store and services; subclasses build the world in an
    ``@initialize`` rule (after :meth:`open`) and keep their model."""

    def __init__(self, new_database: Callable[[], Database], start: datetime) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.database = new_database()
        self.clock = FrozenClock(start)
        self.store = make_store(self.database.url, self.clock, outbox_consumers=["test"])
        self.opened = False
        self.services: BookingServices = bootstrap(self.store, Cipher.from_base64(TEST_PII_KEY))

    def open(self) -> None:
        self._await(self.store.open())
        self.opened = True

    def teardown(self) -> None:
        try:
            if self.opened:
                self.loop.run_until_complete(self.store.close())
        finally:
            self.loop.close()
            self.database.drop()

    def _await(self, coro) -> Any:
        return self.loop.run_until_complete(coro)

    def read(self, fn, *args) -> Any:
        return self._await(self.store.read(fn, *args))

    def run(self, cmd: Command) -> Any:
        """The command's answer, or the domain error it was refused with (which must have
        changed nothing and recorded no event: the invariants check the rest)."""
        before = self.read(last_event_id)
        try:
            return self._await(self.services.handle(cmd))
        except e.BookingError as err:
            refusal = err
        assert self.read(last_event_id) == before, f"{cmd} refused ({refusal!r}) but emitted"
        return refusal


def last_event_id(tx):
    return (yield val("SELECT coalesce(max(id), 0) FROM outbox"))
