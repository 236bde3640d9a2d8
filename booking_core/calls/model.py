"""What the call commands and reads answer with (来电)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..bookings.model import BookingView
from ..kernel.errors import Queued


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What :class:`FinishCallStep` stores: the call's next state and the step's answer."""

    state: str
    response: str
    patient_id: int | None = None


class CodeStatus(StrEnum):
    """What :class:`SendCallCode` did."""

    CALLER = "caller"  # the call comes from the patient's own phone: no code needed
    SENT = "sent"  # a new code is on its way to the patient's phone
    RECENT = "recent"  # one was sent to that phone less than a minute ago: type that one
    NO_PHONE = "no_phone"  # the patient has no phone to text


@dataclass(frozen=True, slots=True)
class CodeSent:
    status: CodeStatus
    phone_masked: str = ""


class CodeCheck(StrEnum):
    """What :class:`CheckCallCode` found."""

    OK = "ok"  # the call may now hear and cancel the patient's bookings
    WRONG = "wrong"  # not the code; tries are left
    SPENT = "spent"  # no live code for this call (expired, or three wrong tries)


class CallResult(StrEnum):
    """How a call ended, for the reports (``calls.result``): the first that applies."""

    TRANSFERRED = "transferred"  # put through to an agent
    BOOKED = "booked"  # at least one booking made
    CANCELLED = "cancelled"  # at least one booking cancelled
    COMPLAINT = "complaint"  # a complaint left
    ABANDONED = "abandoned"  # none of these


@dataclass(frozen=True, slots=True)
class StepAnswer:
    """What a call-step write found: ``won`` when this delivery took the step; else the
    answer already stored for it (None: still being worked out, or never taken)."""

    won: bool
    response: str | None = None
    known: bool = False  # a delivery of this very step was seen before


@dataclass(frozen=True, slots=True)
class ClaimedBooking:
    """What :class:`~booking_core.calls.ClaimStepAndBook` did: the claim, the
    booking when the claim was won, and whether the step's answer was stored with it."""

    claim: StepAnswer
    booked: BookingView | None = None
    finished: bool = False
    # fair admission at release (公平放号): the request was queued for its draw, the claim
    # kept with it; the door says so and finishes the step itself
    queued: Queued | None = None


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """A call as its next webhook needs it: the door's state, the step it is at, and
    the stored answer to the step being delivered (if it was answered before)."""

    call_sid: str
    hospital_id: int | None
    seq: int
    state: str
    patient_id: int | None
    response: str | None
    known: bool


@dataclass(frozen=True, slots=True)
class QueuedCall:
    """A caller transferred to the agents, with what the IVR learnt before (screen pop)."""

    call_sid: str
    hospital_id: int | None
    caller_masked: str
    patient_id: int | None
    context: dict[str, Any] = field(hash=False)
    transferred_at: datetime
    callback: bool = False  # 回拨: the caller asked to be called back (the call may be over)
    callback_masked: str = ""  # the number to call back, masked (139****5678)
    callback_attempts: int = 0  # tries that did not reach the caller

    @property
    def taken_by(self) -> str | None:
        return self.context.get("taken_by")


@dataclass(frozen=True, slots=True)
class TakenCall:
    """``won``: this agent has the call (now, or already had it); else ``taken_by`` has it."""

    won: bool
    call: QueuedCall
    taken_by: str


class CallbackStatus(StrEnum):
    """What :class:`~booking_core.calls.RequestCallback` did."""

    ASKED = "asked"  # the caller will be called back; the call may end
    WITHHELD = "withheld"  # no number to call: the caller keeps waiting
    NOT_WAITING = "not_waiting"  # not a waiting caller (unknown, taken, ended)


@dataclass(frozen=True, slots=True)
class CallbackAsked:
    status: CallbackStatus
    number_masked: str = ""
    last4: str = ""  # the number's last four digits, said to the caller


class CallbackOutcome(StrEnum):
    """What became of one try to call a caller back (:class:`CallbackDialed`)."""

    REACHED = "reached"  # the caller answered: closed
    RETRY = "retry"  # not reached: back in the queue at its place, an attempt counted
    CLOSED = "closed"  # not reached, out of attempts: closed, the caller texted
    IGNORED = "ignored"  # not an open call-back of that agent's: nothing changed


@dataclass(frozen=True, slots=True)
class QueuePlace:
    """A waiting caller's place among the hospital's waiting calls and call-backs (1: next)
    and the expected wait in seconds; None when not known."""

    position: int | None
    wait_seconds: int | None = None


class LegKind(StrEnum):
    """What the agent's browser leg is connected to (:func:`agent_leg`)."""

    QUEUE = "queue"  # bridge the waiting caller's own queue, q-<CallSid>
    CALLBACK = "callback"  # dial the number of a call-back
    REFUSED = "refused"  # not a call that operator has taken (or over, or unknown)


@dataclass(frozen=True, slots=True)
class AgentLeg:
    kind: LegKind
    call_sid: str = ""
    number: str = ""  # a call-back's number, in the clear (for the <Dial>, never logged)
    reason: str = ""  # why refused: unknown, not_taken, ended


class AgentState(StrEnum):
    """An agent's state (坐席状态). An operator with no row in ``agent_states`` is offline."""

    AVAILABLE = "available"  # 空闲: offered callers
    BUSY = "busy"  # 通话中: on the call they took
    WRAP_UP = "wrap_up"  # 话后处理: after a call, until the wrap-up form or the limit
    BREAK = "break"  # 小休
    OFFLINE = "offline"  # 离线 (logged out, or never in)


SETTABLE_STATES = frozenset({AgentState.AVAILABLE, AgentState.BREAK, AgentState.OFFLINE})
"""What an agent may choose; busy and wrap_up come from the calls they take and end."""


class Disposition(StrEnum):
    """How a call ended, as the agent recorded it in the wrap-up (来电结果)."""

    BOOKED = "booked"  # 预约挂号
    CHANGED = "changed"  # 改约
    CANCELLED = "cancelled"  # 取消预约
    INFORMATION = "information"  # 仅咨询
    COMPLAINT = "complaint"  # 投诉
    OTHER = "other"  # 其他


WRAP_UP_SECONDS = 120  # the setting agent_wrap_up_seconds's default

SUMMARY_MAX_CHARS = 500  # a wrap-up summary (来电小结) is a few sentences, not a record


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """An agent's state as it is now: a wrap-up past its limit (``wrap_up_until``) reads as
    available since that instant, whether or not anything was written since."""

    operator_id: int
    username: str
    display_name: str
    hospital_id: int | None
    state: AgentState
    since: datetime
    call_sid: str | None = None
    wrap_up_until: datetime | None = None

    @property
    def available(self) -> bool:
        return self.state is AgentState.AVAILABLE
