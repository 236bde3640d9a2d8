"""The message bus: one handler per command, run as a unit of work by the store.

Front doors build a command, ``await services.handle(command)``, and word the
typed errors it may raise; reads go through :meth:`BookingServices.read`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .blacklist import handlers as blacklist
from .bookings import handlers as bookings
from .bookings.admission import unsafe_precheck
from .bookings.commands import BookSlot
from .calls import handlers as calls
from .calls.commands import ClaimCallStep
from .catalogue import handlers as catalogue
from .catalogue.commands import UpsertDepartment, UpsertDoctor, UpsertHospital
from .complaints import handlers as complaints
from .events import handlers as events
from .events.outbox import claim, mark_done, retry_later
from .kernel.clock import Clock
from .kernel.deps import Deps
from .kernel.pii import Cipher
from .kernel.unit import Command, UnitOfWork
from .messages import handlers as messages
from .messages.notices import claim_notices
from .operators import handlers as operators
from .patients import handlers as patients
from .payments import handlers as payments
from .rules import handlers as rules
from .schedule import handlers as schedule
from .store.base import Store

UNSAFE_RACE_WINDOW_SECONDS = 0.02  # longer than a group commit under load

CATALOGUE_COMMANDS = (UpsertHospital, UpsertDepartment, UpsertDoctor)
"""Commands that change what a hospital's department and doctor lists say."""

BOOKKEEPING_COMMANDS = (ClaimCallStep,)
"""Units whose commit does not make a door's "busy" untrue for the person (a voice step's
claim): they do not hold the door's time budget (:mod:`booking_core.store.budget`)."""


def merge_handlers(*tables: dict) -> dict:
    """One table from each domain's ``HANDLERS``; a command registered twice is refused at
    import (two handlers for one act would depend on the order of these lines)."""
    merged: dict = {}
    for table in tables:
        for command, handler in table.items():
            if command in merged:
                raise TypeError(
                    f"{command.__name__} is registered twice: {merged[command].__qualname__} "
                    f"and {handler.__qualname__}"
                )
            merged[command] = handler
    return merged


COMMAND_HANDLERS: dict[type[Command], Callable[..., Any]] = merge_handlers(
    catalogue.HANDLERS,
    rules.HANDLERS,
    patients.HANDLERS,
    schedule.HANDLERS,
    payments.HANDLERS,
    blacklist.HANDLERS,
    bookings.HANDLERS,
    calls.HANDLERS,
    complaints.HANDLERS,
    messages.HANDLERS,
    operators.HANDLERS,
    events.HANDLERS,
)


class BookingServices:
    """The core as the front doors see it."""

    def __init__(self, store: Store, cipher: Cipher) -> None:
        self.store = store
        self.cipher = cipher
        self.deps = Deps(cipher=cipher)
        self.catalogue_version = 0
        """Moves on after each catalogue command handled here: caches of department and
        doctor lists compare it (another process's change reaches them by their TTL)."""

    @property
    def clock(self) -> Clock:
        return self.store.clock

    async def handle(self, command: Command) -> Any:
        handler = COMMAND_HANDLERS[type(command)]
        if self.store.unsafe_capacity_check and isinstance(command, BookSlot):
            # test-only negative control: check-then-act across two transactions, with
            # the gap between them held open so the race shows on a busy machine too
            await self.store.read(unsafe_precheck, command.slot_id)
            await asyncio.sleep(UNSAFE_RACE_WINDOW_SECONDS)
        if isinstance(command, BOOKKEEPING_COMMANDS):
            return await self.store.write(handler, command, self.deps, holds=False)
        if not isinstance(command, CATALOGUE_COMMANDS):
            return await self.store.write(handler, command, self.deps)
        try:
            return await self.store.write(handler, command, self.deps)
        finally:  # also when the outcome is unknown (cancelled after the commit)
            self.catalogue_version += 1

    async def read_small(self, fn: UnitOfWork, *args: Any) -> Any:
        """:meth:`read` for a few indexed rows (see :meth:`Store.read_small`)."""
        return await self.store.read_small(fn, *args)

    async def read(self, fn: UnitOfWork, *args: Any, **kwargs: Any) -> Any:
        """Run a domain's query function (``bookings.get_booking`` …) on a read connection."""
        if kwargs:
            return await self.store.read(_with_kwargs, fn, args, kwargs)
        return await self.store.read(fn, *args)

    # --- the outbox API for delivery workers ------------------------------------------

    async def claim(self, consumer: str, limit: int = 100, lease_seconds: int = 60):
        return await self.store.write(claim, consumer, limit, lease_seconds)

    async def mark_done(self, consumer: str, event_ids: list[int]) -> int:
        return await self.store.write(mark_done, consumer, event_ids)

    async def retry_later(
        self, consumer: str, event_id: int, delay_seconds: int, error: str
    ) -> int:
        return await self.store.write(retry_later, consumer, event_id, delay_seconds, error)

    async def claim_notices(self, consumer: str, limit: int = 50, lease_seconds: int = 60):
        """Outbox events with who must be told of them (:mod:`booking_core.messages.notices`)."""
        return await self.store.write(claim_notices, consumer, self.cipher, limit, lease_seconds)


def _with_kwargs(tx, fn, args, kwargs):
    return (yield from fn(tx, *args, **kwargs))


def bootstrap(store: Store, cipher: Cipher) -> BookingServices:
    return BookingServices(store, cipher)
