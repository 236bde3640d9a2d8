"""The message bus: one handler per command, run as a unit of work by the store.

Front doors build a command, ``await services.handle(command)``, and word the
typed errors it may raise; reads go through :meth:`BookingServices.read`.
"""

from __future__ import annotations

import asyncio
import random
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
from .events.model import OutboxEvent
from .events.outbox import claim, mark_done, retry_later
from .feeds import handlers as feeds
from .kernel.cache import Cache
from .kernel.clock import Clock
from .kernel.deps import Deps
from .kernel.errors import Accepted
from .kernel.pii import Cipher
from .kernel.registry import Handler, HandlerTable, merge_handlers
from .kernel.unit import Command, R, T, Tx, Unit, UnitOfWork
from .kiosks import handlers as kiosks
from .messages import handlers as messages
from .messages.model import Notice
from .messages.notices import claim_notices
from .operators import handlers as operators
from .patients import handlers as patients
from .payments import handlers as payments
from .rules import handlers as rules
from .rules.commands import SetRule
from .schedule import handlers as schedule
from .store.base import Store

UNSAFE_RACE_WINDOW_SECONDS = 0.02  # longer than a group commit under load

CACHED_COMMANDS = (UpsertHospital, UpsertDepartment, UpsertDoctor, SetRule)
"""Commands that change what the cache keeps (a hospital, its department and doctor lists,
its rules): handled here, they empty it (:mod:`booking_core.kernel.cache`)."""

BOOKKEEPING_COMMANDS = (ClaimCallStep,)
"""Units whose commit does not make a door's "busy" untrue for the person (a voice step's
claim): they do not hold the door's time budget (:mod:`booking_core.store.budget`)."""


COMMAND_HANDLERS: HandlerTable = merge_handlers(
    catalogue.HANDLERS,
    rules.HANDLERS,
    patients.HANDLERS,
    schedule.HANDLERS,
    payments.HANDLERS,
    blacklist.HANDLERS,
    bookings.HANDLERS,
    calls.HANDLERS,
    kiosks.HANDLERS,
    feeds.HANDLERS,
    complaints.HANDLERS,
    messages.HANDLERS,
    operators.HANDLERS,
    events.HANDLERS,
)


class BookingServices:
    """The core as the front doors see it."""

    def __init__(
        self,
        store: Store,
        cipher: Cipher,
        *,
        cache: Cache | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.cipher = cipher
        self.cache = Cache() if cache is None else cache
        """Hospitals, their lists and rule sets, for the doors (:meth:`cached`) and the units
        (``deps.cache``); emptied after each of the :data:`CACHED_COMMANDS` handled here."""
        self.deps = Deps(cipher=cipher, cache=self.cache)
        if rng is not None:  # tests: a seeded draw (公平放号); else the system's entropy
            self.deps = Deps(cipher=cipher, cache=self.cache, rng=rng)

    @property
    def clock(self) -> Clock:
        return self.store.clock

    async def handle(self, command: Command[R]) -> R:
        """Run ``command``'s unit of work in a write transaction; its answer once committed
        (the command's ``R``: ``BookSlot`` → ``BookingView``). Refusals are typed errors."""
        handler = COMMAND_HANDLERS[type(command)]
        if self.store.unsafe_capacity_check and isinstance(command, BookSlot):
            # test-only negative control: check-then-act across two transactions, with
            # the gap between them held open so the race shows on a busy machine too
            await self.store.read(unsafe_precheck, command.slot_id)
            await asyncio.sleep(UNSAFE_RACE_WINDOW_SECONDS)
        result: R | Accepted
        if isinstance(command, BOOKKEEPING_COMMANDS):
            result = await self.store.write(_keeping, handler, command, self.deps, holds=False)
        elif not isinstance(command, CACHED_COMMANDS):
            result = await self.store.write(_keeping, handler, command, self.deps)
        else:
            try:
                result = await self.store.write(_keeping, handler, command, self.deps)
            finally:  # also when the outcome is unknown (cancelled after the commit)
                self.cache.clear()
        if isinstance(result, Accepted):  # committed, and the door says "queued"
            raise result
        return result

    async def read_small(self, fn: UnitOfWork[T], *args: Any) -> T:
        """:meth:`read` for a few indexed rows (see :meth:`Store.read_small`)."""
        return await self.store.read_small(fn, *args)

    async def cached(self, query: UnitOfWork[T], *args: Any) -> T:
        """:meth:`read`, kept in the cache by ``(query, *args)`` (all hashable): for what
        is read all the time and changed by :data:`CACHED_COMMANDS` only — a hospital, its
        department and doctor lists. Errors are not kept."""
        return await self.cache.get((query, *args), lambda: self.store.read(query, *args))

    async def read(self, fn: UnitOfWork[T], *args: Any, **kwargs: Any) -> T:
        """Run a domain's query function (``bookings.get_booking`` …) on a read connection."""
        if kwargs:
            return await self.store.read(_with_kwargs, fn, args, kwargs)
        return await self.store.read(fn, *args)

    # --- the outbox API for delivery workers ------------------------------------------

    async def claim(
        self, consumer: str, limit: int = 100, lease_seconds: int = 60
    ) -> list[OutboxEvent]:
        return await self.store.write(claim, consumer, limit, lease_seconds)

    async def mark_done(self, consumer: str, event_ids: list[int]) -> int:
        return await self.store.write(mark_done, consumer, event_ids)

    async def retry_later(
        self, consumer: str, event_id: int, delay_seconds: int, error: str
    ) -> int:
        return await self.store.write(retry_later, consumer, event_id, delay_seconds, error)

    async def claim_notices(
        self, consumer: str, limit: int = 50, lease_seconds: int = 60
    ) -> list[Notice]:
        """Outbox events with who must be told of them (:mod:`booking_core.messages.notices`)."""
        return await self.store.write(claim_notices, consumer, self.cipher, limit, lease_seconds)


def _keeping(tx: Tx, handler: Handler, command: Command[R], deps: Deps) -> Unit[R | Accepted]:
    """Run ``handler``; an :class:`Accepted` it raises (a request queued for a release
    draw, 公平放号) is its answer, so what it wrote is committed before the door hears it."""
    try:
        return (yield from handler(tx, command, deps))
    except Accepted as accepted:
        return accepted


def _with_kwargs(
    tx: Tx, fn: UnitOfWork[T], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Unit[T]:
    return (yield from fn(tx, *args, **kwargs))


def bootstrap(store: Store, cipher: Cipher, *, rng: random.Random | None = None) -> BookingServices:
    return BookingServices(store, cipher, rng=rng)
