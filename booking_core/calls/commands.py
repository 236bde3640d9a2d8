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
from .model import (
    WRAP_UP_SECONDS,
    AgentState,
    AgentStatus,
    CallbackAsked,
    CallbackOutcome,
    ClaimedBooking,
    CodeCheck,
    CodeSent,
    Disposition,
    StepAnswer,
    StepRecord,
    TakenCall,
)


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
    """An available agent takes a waiting caller and is busy on the call; when it ends
    (:class:`FinishAgentCall`, or the caller hangs up: :class:`EndCall`) they are in wrap-up
    for at most ``wrap_up_seconds`` (the console's ``agent_wrap_up_seconds``)."""

    call_sid: str
    wrap_up_seconds: int = WRAP_UP_SECONDS


@dataclass(frozen=True, kw_only=True)
class SetAgentState(Command[AgentStatus]):
    """The acting agent chooses available, break (小休) or offline; busy and wrap-up come
    from the calls (:class:`TakeCall`, :class:`FinishAgentCall`). An agent on a call
    cannot leave it by choosing a state (:class:`~booking_core.kernel.errors.AgentNotAvailable`);
    one in wrap-up may (the call then has no wrap-up record)."""

    state: AgentState


@dataclass(frozen=True, kw_only=True)
class FinishAgentCall(Command[AgentStatus]):
    """The agent ended the call they took: busy → wrap_up for at most ``wrap_up_seconds``
    (None: what :class:`TakeCall` was given), then available by itself. Finishing a call
    the agent is not busy on changes nothing."""

    call_sid: str
    wrap_up_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class WrapUpCall(Command[AgentStatus]):
    """The wrap-up form (话后处理): the call's disposition and short summary (来电小结,
    at most ``SUMMARY_MAX_CHARS``; it may name the patient, so it is never logged nor put
    in an event or audit row) stored with the call; the agent is available again."""

    call_sid: str
    disposition: Disposition
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class HandOverCall(Command[dict[str, Any]]):
    """The agent who took a caller hands them over (转接): to the agent ``to`` (an operator's
    user name: the call is no longer taken, and is offered to that agent), or with ``to``
    None back to the IVR menu (the call leaves the agents' queue). Only the agent who has
    the call may; doing it again with the same ``to`` is a no-op (a retried click).
    Answers the call's transfer context after it."""

    call_sid: str
    to: str | None = None


@dataclass(frozen=True, kw_only=True)
class RequestCallback(Command[CallbackAsked]):
    """A waiting caller pressed 1 (回拨): the call becomes a call-back, keeping its place
    (its transfer time), with the calling number to call (encrypted like every phone). A
    withheld number cannot be called back: :attr:`CallbackStatus.WITHHELD`, nothing changed.
    Asking again answers as the first time did."""

    call_sid: str


@dataclass(frozen=True, kw_only=True)
class CallbackDialed(Command[CallbackOutcome]):
    """The agent's ``<Dial>`` to a call-back ended (Twilio's ``DialCallStatus``): answered
    closes it; no-answer, busy or failed counts an attempt and puts it back in the queue at
    its place, or, the ``attempts``-th time, closes it and texts the caller. ``canceled``
    (the agent hung up first) puts it back without counting; any other status changes
    nothing. Only the operator who took it (``operator_id``) moves it."""

    call_sid: str
    operator_id: int
    dial_status: str
    attempts: int = 2


@dataclass(frozen=True, kw_only=True)
class SweepCallbacks(Command[int]):
    """Call-backs not reached within ``answer_within_minutes`` of entering the queue count an
    attempt each: back in the queue, or, out of ``attempts``, closed with a text. Returns
    how many moved."""

    answer_within_minutes: int = 30
    attempts: int = 2


@dataclass(frozen=True, kw_only=True)
class SignOffAbsentAgents(Command[int]):
    """Agents who are available, on a break or in wrap-up but have no live console session
    (they closed the browser without logging out, and the session ran out) are offline
    from then on, by the engine: the wallboard and the workload report then count them as
    they are. A session is live until it expires and while it was used within
    ``idle_minutes`` (the console's ``console_idle_minutes``; an open desk's live list
    uses it every 30 s). An agent busy on a call is left to the call's end. Returns how
    many."""

    idle_minutes: int = 30
