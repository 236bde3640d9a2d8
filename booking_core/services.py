"""The message bus: one handler per command, run as a unit of work by the store.

Front doors build a command, ``await services.handle(command)``, and word the
typed errors it may raise; reads go through :meth:`BookingServices.read`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from . import call_commands as calls
from . import call_taking, message_queries, outbox, reveal_commands
from . import commands as c
from . import message_commands as msgs
from .clock import Clock
from .handlers import Deps, call_proof
from .handlers import calls as call_handlers
from .handlers import messages as message_handlers
from .handlers import office as office_handlers
from .handlers import operators as operator_handlers
from .handlers.admin import add_to_blacklist, create_operator, create_token, lift_ban, set_rule
from .handlers.booking import book_slot, unsafe_precheck
from .handlers.changes import cancel_booking, check_in, pay_booking, reschedule_booking
from .handlers.patients import register_patient, top_up
from .handlers.schedule import (
    create_session,
    stop_session,
    upsert_department,
    upsert_doctor,
    upsert_hospital,
)
from .handlers.sweeps import expire_holds, purge_audit, sweep_no_shows
from .pii import Cipher
from .store.base import Store, UnitOfWork

UNSAFE_RACE_WINDOW_SECONDS = 0.02  # longer than a group commit under load

CATALOGUE_COMMANDS = (c.UpsertHospital, c.UpsertDepartment, c.UpsertDoctor)
"""Commands that change what a hospital's department and doctor lists say."""

BOOKKEEPING_COMMANDS = (calls.ClaimCallStep,)
"""Units whose commit does not make a door's "busy" untrue for the person (a voice step's
claim): they do not hold the door's time budget (:mod:`booking_core.store.budget`)."""

_CORE_HANDLERS: dict[type[c.Command], Callable[..., Any]] = {
    c.UpsertHospital: upsert_hospital,
    c.UpsertDepartment: upsert_department,
    c.UpsertDoctor: upsert_doctor,
    c.CreateSession: create_session,
    c.StopSession: stop_session,
    c.RegisterPatient: register_patient,
    c.TopUp: top_up,
    c.BookSlot: book_slot,
    c.PayBooking: pay_booking,
    c.CancelBooking: cancel_booking,
    c.RescheduleBooking: reschedule_booking,
    c.CheckIn: check_in,
    c.ExpireHolds: expire_holds,
    c.SweepNoShows: sweep_no_shows,
    c.PurgeAudit: purge_audit,
    c.AddToBlacklist: add_to_blacklist,
    c.LiftBan: lift_ban,
    c.SetRule: set_rule,
    c.CreateToken: create_token,
    c.CreateOperator: create_operator,
    # phone calls and complaints (来电、投诉)
    calls.StartCall: call_handlers.start_call,
    calls.RecordCallStep: call_handlers.record_call_step,
    calls.ClaimCallStep: call_handlers.claim_call_step,
    calls.FinishCallStep: call_handlers.finish_call_step,
    calls.BookForCall: call_handlers.book_for_call,
    calls.ClaimStepAndBook: call_handlers.claim_step_and_book,
    calls.CancelForCall: call_handlers.cancel_for_call,
    calls.TransferCall: call_handlers.transfer_call,
    calls.EndCall: call_handlers.end_call,
    calls.OpenComplaint: call_handlers.open_complaint,
    calls.AttachRecording: call_handlers.attach_recording,
    calls.SetComplaintStatus: call_handlers.set_complaint_status,
    # text messages (短信)
    msgs.ReceiveMessage: message_handlers.receive_message,
    msgs.AnswerMessage: message_handlers.answer_message,
    msgs.QueueMessages: message_handlers.queue_messages,
    msgs.ClaimOutgoing: message_handlers.claim_outgoing,
    msgs.MarkSent: message_handlers.mark_sent,
    msgs.MarkFailed: message_handlers.mark_failed,
    msgs.UpdateDelivery: message_handlers.update_delivery,
    msgs.SetOptOut: message_handlers.set_opt_out,
    msgs.CountRegistration: message_handlers.count_registration,
    msgs.KeepUndecodable: message_handlers.keep_undecodable,
    msgs.AnswerSurvey: message_handlers.answer_survey,
    msgs.QueueReminders: message_handlers.queue_reminders,
}


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


COMMAND_HANDLERS: dict[type[c.Command], Callable[..., Any]] = merge_handlers(
    _CORE_HANDLERS,
    operator_handlers.HANDLERS,  # operators and console log-in
    call_taking.HANDLERS,  # the agent's desk
    reveal_commands.HANDLERS,
    office_handlers.HANDLERS,  # the back office: complaints, 排班
    call_proof.HANDLERS,  # who a caller may act for (来电身份核验)
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

    async def handle(self, command: c.Command) -> Any:
        handler = COMMAND_HANDLERS[type(command)]
        if self.store.unsafe_capacity_check and isinstance(command, c.BookSlot):
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
        """Run a query function from :mod:`booking_core.queries` on a read connection."""
        if kwargs:
            return await self.store.read(_with_kwargs, fn, args, kwargs)
        return await self.store.read(fn, *args)

    # --- the outbox API for delivery workers ------------------------------------------

    async def claim(self, consumer: str, limit: int = 100, lease_seconds: int = 60):
        return await self.store.write(outbox.claim, consumer, limit, lease_seconds)

    async def mark_done(self, consumer: str, event_ids: list[int]) -> int:
        return await self.store.write(outbox.mark_done, consumer, event_ids)

    async def retry_later(
        self, consumer: str, event_id: int, delay_seconds: int, error: str
    ) -> int:
        return await self.store.write(outbox.retry_later, consumer, event_id, delay_seconds, error)

    async def claim_notices(self, consumer: str, limit: int = 50, lease_seconds: int = 60):
        """Outbox events with who must be told of them (:mod:`booking_core.message_queries`)."""
        return await self.store.write(
            message_queries.claim_notices, consumer, self.cipher, limit, lease_seconds
        )


def _with_kwargs(tx, fn, args, kwargs):
    return (yield from fn(tx, *args, **kwargs))


def bootstrap(store: Store, cipher: Cipher) -> BookingServices:
    return BookingServices(store, cipher)
