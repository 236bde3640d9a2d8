"""Typed domain errors (业务错误).

Every error has a stable ``code`` and ``params`` carrying what a person needs to
hear (the date a ban ends, the time booking opens). Each front door words them
for its own audience from one table keyed by ``code``.

``BookingError`` is the caller's side of things (a rejected request, worded
kindly); ``SystemFault`` is ours (the store is unavailable: retry or hand the
caller to an agent).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar


class GuahaoError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self._describe())

    def _describe(self) -> str:
        if not self.params:
            return self.code
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.params.items())
        return f"{self.code}({inner})"

    def __getattr__(self, name: str) -> Any:
        # `err.until` reads params["until"]; only called for missing attributes.
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # picklable across process pools
        return (_rebuild, (type(self), self.params))


def _rebuild(cls: type[GuahaoError], params: dict[str, Any]) -> GuahaoError:
    return cls(**params)


def _show(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)


class BookingError(GuahaoError):
    """The request was understood and refused: the caller can do something about it."""


class SystemFault(GuahaoError):
    """Our fault: nothing was changed, try again or pass the caller to a person."""


# --- the caller's side -------------------------------------------------------------


class NotFound(BookingError):
    """No such thing, or not one the actor may see (never "forbidden": that would leak it).

    ``entity`` is 'hospital', 'department', 'doctor', 'session', 'slot', 'patient',
    'booking' …; ``key`` is what was looked for.
    """

    code = "not_found"

    def __init__(self, entity: str, key: Any) -> None:
        super().__init__(entity=entity, key=key)


class InvalidInput(BookingError):
    """A field has a value the domain cannot accept (the door validated its shape already)."""

    code = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field=field, reason=reason)


class InvalidIdNumber(BookingError):
    """Resident ID number (居民身份证号) fails its checksum, date or region check."""

    code = "invalid_id_number"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)


class RealNameMismatch(BookingError):
    """The name given does not match the registered patient (实名制)."""

    code = "real_name_mismatch"

    def __init__(self) -> None:
        super().__init__()


class PatientExists(BookingError):
    code = "patient_exists"

    def __init__(self, patient_id: int, card_no: str) -> None:
        super().__init__(patient_id=patient_id, card_no=card_no)


class SlotFull(BookingError):
    """No place left in the slot (号源已满)."""

    code = "slot_full"

    def __init__(self, slot_id: int) -> None:
        super().__init__(slot_id=slot_id)


class ChannelFull(BookingError):
    """No place left that this channel may book (本渠道号源已满), though other channels'
    pools (号源池) still have some: the hospital keeps them for those channels until they
    roll into the public pool."""

    code = "channel_full"

    def __init__(self, slot_id: int, channel: str) -> None:
        super().__init__(slot_id=slot_id, channel=channel)


class AlreadyBooked(BookingError):
    """This patient already holds a place in this slot."""

    code = "already_booked"

    def __init__(self, booking_no: str) -> None:
        super().__init__(booking_no=booking_no)


class Blacklisted(BookingError):
    """The patient is banned until ``until`` (黑名单): the hospital-local instant the ban
    ends (exclusive; local midnight after its last day), so booking is open from then.
    ``source`` is who banned them (a ``BanSource``: no_show, credit, admin, his), so a door
    says "after missed visits" only when that is why."""

    code = "blacklisted"

    def __init__(self, until: datetime, reason: str, source: str) -> None:
        super().__init__(until=until, reason=reason, source=source)


class NoBanToAppeal(BookingError):
    """An appeal (申诉) needs a ban in force: the patient has none (or this one is over or
    lifted already)."""

    code = "no_ban_to_appeal"

    def __init__(self, patient_id: int) -> None:
        super().__init__(patient_id=patient_id)


class AppealPending(BookingError):
    """The ban has an appeal (申诉) waiting for a decision, filed at ``filed_at`` (the
    hospital-local instant): one open appeal per ban."""

    code = "appeal_pending"

    def __init__(self, appeal_id: int, filed_at: datetime) -> None:
        super().__init__(appeal_id=appeal_id, filed_at=filed_at)


class OutsideBookingWindow(BookingError):
    """Too early: this day's places are released (放号) at ``opens_at``."""

    code = "outside_window"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(opens_at=opens_at)


class BookingClosed(BookingError):
    """Too late: booking for this session closed (截止) at ``closed_at``."""

    code = "booking_closed"

    def __init__(self, closed_at: datetime) -> None:
        super().__init__(closed_at=closed_at)


class NotEligible(BookingError):
    """The department does not take this patient (就诊资格): ``reason`` is ``age_under``
    (under ``limit`` years only: 儿科), ``age_from`` (``limit`` years and over: 老年科),
    ``sex`` (``limit`` F or M only: 产科) or ``id_required`` (a first visit, or an age or
    sex to check: a resident ID number must be on record first). ``department``: its name."""

    code = "not_eligible"

    def __init__(self, reason: str, department: str, limit: int | str) -> None:
        super().__init__(reason=reason, department=department, limit=limit)


class DayClosed(BookingError):
    """The clinic ``day`` is closed to booking (节假日停诊): ``reason`` ``holiday`` (a public
    holiday, ``name`` its Chinese name: 国庆节), ``weekend``, or ``hospital`` (the
    hospital's own calendar, ``name`` its note)."""

    code = "day_closed"

    def __init__(self, day: date, reason: str, name: str) -> None:
        super().__init__(day=day, reason=reason, name=name)


class BookingHoursClosed(BookingError):
    """Booking is closed at this hour (停止预约时段, e.g. 00:00-06:30): it opens again at
    ``opens_at`` (hospital-local)."""

    code = "closed_hours"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(opens_at=opens_at)


class LimitReached(BookingError):
    """An anti-scalping limit (限号) is reached: ``rule`` names it, ``limit`` its value."""

    code = "limit_reached"

    def __init__(self, rule: str, limit: int) -> None:
        super().__init__(rule=rule, limit=limit)


class CancelDeadlinePassed(BookingError):
    code = "cancel_deadline_passed"

    def __init__(self, deadline: datetime) -> None:
        super().__init__(deadline=deadline)


class RescheduleDeadlinePassed(BookingError):
    code = "reschedule_deadline_passed"

    def __init__(self, deadline: datetime) -> None:
        super().__init__(deadline=deadline)


class InvalidState(BookingError):
    """The booking is ``status``, so ``action`` cannot be done to it."""

    code = "invalid_state"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(status=status, action=action)


class SessionUnavailable(BookingError):
    """The clinic session is stopped (停诊) or otherwise not open for booking."""

    code = "session_unavailable"

    def __init__(self, session_id: int, status: str) -> None:
        super().__init__(session_id=session_id, status=status)


class CheckInNotOpen(BookingError):
    code = "check_in_not_open"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(opens_at=opens_at)


class CheckInClosed(BookingError):
    code = "check_in_closed"

    def __init__(self, closed_at: datetime) -> None:
        super().__init__(closed_at=closed_at)


class InsufficientBalance(BookingError):
    """The prepaid card balance (fen) is below the fee (fen)."""

    code = "insufficient_balance"

    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(balance=balance, needed=needed)


class SubstituteFull(BookingError):
    """Moving a stopped session's bookings needs ``needed`` places; the target has ``available``."""

    code = "substitute_full"

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(needed=needed, available=available)


class IdempotencyKeyReused(BookingError):
    """The same idempotency key came with a different request."""

    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__(key=key)


class ImportRejected(BookingError):
    """An import (排班导入) had bad rows, so nothing of it was written. ``rows`` lists every
    one as ``{"list": "sessions", "index": 3, "field": "start", "reason": "…"}`` (``index``
    as the door numbered the rows: a JSON list's position, a sheet's row number)."""

    code = "import_rejected"

    def __init__(self, rows: tuple[dict[str, Any], ...]) -> None:
        super().__init__(rows=tuple(rows))


class Forbidden(BookingError):
    """The actor's role does not allow this action."""

    code = "forbidden"

    def __init__(self, action: str) -> None:
        super().__init__(action=action)


class CallOver(BookingError):
    """The caller hung up before an agent took the call (a call-back is still takeable)."""

    code = "call_ended"

    def __init__(self, call_sid: str) -> None:
        super().__init__(call_sid=call_sid)


class AgentNotAvailable(BookingError):
    """An agent who is not available (坐席非空闲) cannot take a caller: ``state`` is theirs
    (busy on another call, wrap_up of the last one, break, offline)."""

    code = "agent_not_available"

    def __init__(self, state: str) -> None:
        super().__init__(state=state)


class Accepted(BookingError):
    """Not a refusal: the request was taken and will be decided later, and the person is
    told so. What the unit wrote before raising it is kept (the bus commits the unit and
    then raises it to the door). Only :class:`Queued` is one."""


class Queued(Accepted):
    """Fair admission at release (公平放号): the request came within the first seconds after
    the places were released, so it is kept and served by lot at ``draw_at`` (the
    hospital-local instant the window closes); the booker is texted the outcome. Nothing
    is wrong: the door says "queued, we will text you the result" (the API: 202)."""

    code = "queued"

    def __init__(self, draw_at: datetime) -> None:
        super().__init__(draw_at=draw_at)


class AlreadyQueued(BookingError):
    """The patient is already queued in this session's draw (one request each): no second
    ticket; the outcome of the first is texted after ``draw_at`` (hospital-local)."""

    code = "already_queued"

    def __init__(self, draw_at: datetime) -> None:
        super().__init__(draw_at=draw_at)


class WaitlistNotNeeded(BookingError):
    """候补: the session still has ``free`` places, so it cannot be waited for: book one."""

    code = "waitlist_not_needed"

    def __init__(self, session_id: int, free: int) -> None:
        super().__init__(session_id=session_id, free=free)


class AlreadyWaiting(BookingError):
    """候补: the patient is in this session's line already, at ``position`` (1: first)."""

    code = "already_waiting"

    def __init__(self, session_id: int, position: int) -> None:
        super().__init__(session_id=session_id, position=position)


class WaitlistClosed(BookingError):
    """候补: this session's line takes nobody: ``reason`` is ``off`` (the hospital has no
    waitlist), ``closed`` (booking for the session has closed, at ``closed_at``, hospital-
    local) or the session's status (``stopped``: 停诊)."""

    code = "waitlist_closed"

    def __init__(self, session_id: int, reason: str, closed_at: datetime | None = None) -> None:
        super().__init__(session_id=session_id, reason=reason, closed_at=closed_at)


class ExtraPlacesExhausted(BookingError):
    """加号: the session has had ``added`` extra places of the ``limit`` it may have."""

    code = "extra_places_exhausted"

    def __init__(self, session_id: int, added: int, limit: int) -> None:
        super().__init__(session_id=session_id, added=added, limit=limit)


# --- our side -------------------------------------------------------------------------


class StoreUnavailable(SystemFault):
    code = "store_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)


class NotStarted(StoreUnavailable):
    """The door's time budget ran out before the store started the unit of work: nothing
    was done (see :mod:`booking_core.store.budget`). Worded as ``store_unavailable``."""

    def __init__(self, reason: str = "the time budget ran out before the unit started") -> None:
        super().__init__(reason=reason)


ALL_ERRORS: tuple[type[GuahaoError], ...] = (
    *(c for c in BookingError.__subclasses__() if c is not Accepted),
    *Accepted.__subclasses__(),
    *SystemFault.__subclasses__(),
)
"""Every concrete error; the doors' wording tables are tested against their codes."""
