"""Commands about bookings (预约): book, pay, cancel, reschedule, check in, stop a
session (停诊), and the background sweeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kernel.actor import Channel
from ..kernel.unit import Command
from .model import BookingView, DrawOutcome, ExtraPlaces, WaitlistEntry


@dataclass(frozen=True, kw_only=True)
class StopSession(Command[dict[str, Any]]):
    """停诊: move every booking to ``target_session_id`` or cancel them all."""

    session_id: int
    mode: str  # "move" | "cancel"
    target_session_id: int | None = None
    reason: str = ""


# --- bookings ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BookSlot(Command[BookingView]):
    slot_id: int
    patient_id: int
    channel: Channel
    booker_phone: str | None = None  # caller ID or SMS sender; default the patient's phone
    patient_name: str | None = None  # when given, must match the registered name (实名)
    idempotency_key: str | None = None
    idempotency_scope: str = ""
    request_hash: str = ""
    # held for the hold time (未支付锁号) even where no prepayment is due: FHIR's $hold,
    # confirmed by ConfirmBooking or released by the hold sweep
    hold: bool = False
    # a referral (医联体/转诊) from a hospital system (his/api channels only): drawn first
    # from the referral pool where the hospital keeps one (号源池)
    referral: bool = False


@dataclass(frozen=True, kw_only=True)
class PayBooking(Command[BookingView]):
    booking_no: str
    method: str  # "balance" | "card" | "cash"
    reference: str | None = None
    # fen the payer says it paid (a hospital window's till): refused unless it is what is due
    amount: int | None = None


@dataclass(frozen=True, kw_only=True)
class ConfirmBooking(Command[BookingView]):
    """Confirm a held booking before its hold ends (FHIR's $book of a $hold); one whose
    fee is still due where the hospital requires prepayment is confirmed by paying it."""

    booking_no: str


@dataclass(frozen=True, kw_only=True)
class CancelBooking(Command[BookingView]):
    booking_no: str
    by_hospital: bool = False
    # why, as the desk recorded it (kept in the audit log only, never in an event or text):
    # ``why`` a short code from the door's list (``patient_asked``, ``other`` …), ``note``
    # the agent's words; both bounded (:data:`MAX_WHY`, :data:`MAX_NOTE` characters)
    why: str = ""
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RescheduleBooking(Command[BookingView]):
    booking_no: str
    slot_id: int


@dataclass(frozen=True, kw_only=True)
class CheckIn(Command[BookingView]):
    """取号: gives the next queue number of the session. ``reference``: the caller's own
    number for this check-in (a HIS's registration number, 挂号流水号); sent again under
    it, the check-in is answered with the booking as it stands (the same queue number)."""

    booking_no: str
    reference: str | None = None


# --- sweeps ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ExpireHolds(Command[int]):
    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class SweepNoShows(Command[tuple[int, int, int]]):
    """Confirmed and never checked in when the session ended → no_show (爽约), then a strike
    on the credit ladder (信用; the fixed no-show rule where the ladder is off); checked in →
    completed. Returns (no-shows, completed, patients newly banned)."""

    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class RunDraws(Command[DrawOutcome]):
    """Run the release draws (公平放号) whose window has closed: at most ``limit`` draws,
    each serving its queued requests by lot (:mod:`.lottery`)."""

    limit: int = 1


@dataclass(frozen=True, kw_only=True)
class ResendConfirmation(Command[BookingView]):
    """Text the booking's confirmation again (an agent at the caller's request): the same
    notice the SMS notifier sends for a new booking, at most :data:`RESENDS_PER_HOUR`
    times per booking in any hour, each audited."""

    booking_no: str


# --- the waitlist (候补) and extra places (加号) ------------------------------------------


@dataclass(frozen=True, kw_only=True)
class JoinWaitlist(Command[WaitlistEntry]):
    """候补: ``patient_id`` joins the line of full session ``session_id`` (arrival order)."""

    session_id: int
    patient_id: int
    channel: Channel


@dataclass(frozen=True, kw_only=True)
class LeaveWaitlist(Command[WaitlistEntry]):
    """退出候补: the patient leaves the session's line (an offer held for them is declined:
    its held booking is cancelled and the place passes to the next)."""

    session_id: int
    patient_id: int


@dataclass(frozen=True, kw_only=True)
class SweepWaitlists(Command[tuple[int, int]]):
    """Close the lines of sessions that can no longer be booked (stopped, started, past the
    cut-off: every patient still waiting is texted), and offer any free place of a session
    with a line; returns (closed entries, offers made). Lapsed offers are the hold sweep's
    (:class:`ExpireHolds`): an offer is a held booking."""

    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class AddExtraPlaces(Command[ExtraPlaces]):
    """加号: ``places`` more places in session ``session_id`` (in ``slot_id``, default the
    session's last slot): for ``patient_id`` (one place, booked at once) or, with no
    patient, for the waitlist (offered in order; any left over are free for anyone)."""

    session_id: int
    places: int = 1
    patient_id: int | None = None
    slot_id: int | None = None
