"""Commands about phone calls (来电): the call record, a step's claim and answer, bookings
and cancellations made on a call, the transfer to an agent and the agent taking it,
and the codes that prove a caller may act for a patient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..bookings.model import BookingView
from ..kernel.actor import Channel
from ..kernel.unit import Command
from .model import ClaimedBooking, CodeCheck, CodeSent, StepAnswer, StepRecord, TakenCall


@dataclass(frozen=True, kw_only=True)
class StartCall(Command[StepAnswer]):
    """A call came in: its record, its first state, and the answer to its first step.

    A second delivery of the same call finds the record and gets the stored answer."""

    call_sid: str
    hospital_code: str
    caller: str  # caller ID as the carrier gave it (may be empty: withheld)
    called: str = ""
    channel: Channel = Channel.IVR
    state: str  # the door's opaque state (JSON)
    digits: str  # the dedupe key of the first step
    response: str


@dataclass(frozen=True, kw_only=True)
class RecordCallStep(Command[StepAnswer]):
    """A step that changed nothing but the call's own state: move ``step`` → ``step + 1``
    and store the answer under (call, step, digits). A step already taken returns the
    stored answer instead (a replay, or a parallel delivery that lost)."""

    call_sid: str
    step: int
    digits: str
    state: str
    response: str
    patient_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimCallStep(Command[StepAnswer]):
    """Before a step acts on the core (books, cancels …): take (call, step, digits) so
    that only one delivery of it acts. Finish it with :class:`FinishCallStep`."""

    call_sid: str
    step: int
    digits: str


@dataclass(frozen=True, kw_only=True)
class FinishCallStep(Command[StepAnswer]):
    call_sid: str
    step: int
    digits: str
    state: str
    response: str
    patient_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimStepAndBook(Command[ClaimedBooking]):
    """:class:`ClaimCallStep`, :class:`BookForCall` and, when ``finish`` gives one, the
    step's answer (:class:`FinishCallStep`) in one transaction: a confirm step waits for
    one durable commit instead of three. A lost claim books nothing (``booked`` is None);
    a refused booking keeps nothing, not even the claim (the door claims on its own).

    ``finish(booking)`` is the door's pure function from the new booking to the step's
    record (None: the door finishes the step itself); it runs inside the transaction,
    so it must not block or touch the store."""

    call_sid: str
    step: int
    digits: str
    slot_id: int
    patient_id: int
    lang: str = "zh"
    finish: Callable[[BookingView], StepRecord | None] | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class BookForCall(Command[BookingView]):
    """Book a place for the patient a caller identified, counted on the call; the
    caller's number goes on the booking (per-phone limits) and into a ``call.booked``
    event (encrypted) for the confirmation SMS."""

    call_sid: str
    slot_id: int
    patient_id: int
    lang: str = "zh"


@dataclass(frozen=True, kw_only=True)
class CancelForCall(Command[BookingView]):
    call_sid: str
    booking_no: str


@dataclass(frozen=True, kw_only=True)
class TransferCall(Command[dict[str, Any]]):
    """The caller goes to an agent queue; ``context`` is what the agent's screen shows
    when the call is answered (step reached, digits typed, patient found …)."""

    call_sid: str
    queue: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EndCall(Command[str | None]):
    """The carrier's status callback: the call is over (duration in seconds)."""

    call_sid: str
    status: str
    duration_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class CountCallLookup(Command[int]):
    """A card or ID number typed on the call is about to be looked up: counted against
    ``ivr_lookups_per_hour`` for the caller ID (a withheld number shares one count), so
    nobody tries numbers at will. Past the limit: :class:`~booking_core.kernel.errors.LimitReached`
    (and the count stays at the limit)."""

    call_sid: str


@dataclass(frozen=True, kw_only=True)
class SendCallCode(Command[CodeSent]):
    """Before a caller hears or cancels a patient's bookings from a number that is not the
    patient's: a 6-digit code texted to the patient's phone (through the outbox, event
    ``call.code``), at most ``sms_codes_per_minute`` a minute per phone."""

    call_sid: str
    patient_id: int
    lang: str = "zh"


@dataclass(frozen=True, kw_only=True)
class CheckCallCode(Command[CodeCheck]):
    """The code the caller typed, for the patient the call asked a code for."""

    call_sid: str
    patient_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class TakeCall(Command[TakenCall]):
    call_sid: str


@dataclass(frozen=True, kw_only=True)
class HandOverCall(Command[dict[str, Any]]):
    """The agent who took a caller hands them over (转接): to the agent ``to`` (an operator's
    user name: the call is no longer taken, and is offered to that agent), or with ``to``
    None back to the IVR menu (the call leaves the agents' queue). Only the agent who has
    the call may; doing it again with the same ``to`` is a no-op (a retried click).
    Answers the call's transfer context after it."""

    call_sid: str
    to: str | None = None
