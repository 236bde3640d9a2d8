"""Bookings (预约) and their life cycle: held → confirmed → checked_in → completed; or
cancelled / no_show. Instants are aware UTC datetimes; clinic days hospital-local dates;
money integer fen (分)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from ..kernel.actor import Channel
from ..schedule.model import Period


class BookingStatus(StrEnum):
    """The booking life cycle: held → confirmed → checked_in → completed; or cancelled / no_show."""

    HELD = "held"  # unpaid, released when the hold expires (待支付)
    CONFIRMED = "confirmed"  # 已预约
    CHECKED_IN = "checked_in"  # ticket taken, queue number given (已取号)
    COMPLETED = "completed"  # 已就诊
    CANCELLED = "cancelled"  # 已取消 (by patient, hospital or expiry)
    NO_SHOW = "no_show"  # 爽约

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN})

ACTIVE_SQL = "('held', 'confirmed', 'checked_in')"
"""The same set, for SQL; the partial unique indexes in the schema use it too."""


class CancelReason(StrEnum):
    PATIENT = "patient"
    HOSPITAL = "hospital"
    HOLD_EXPIRED = "hold_expired"
    SESSION_STOPPED = "session_stopped"


@dataclass(frozen=True, slots=True)
class Booking:
    id: int
    booking_no: str  # 预约号: 8 digits + check digit
    hospital_id: int
    department_id: int
    doctor_id: int
    session_id: int
    slot_id: int
    patient_id: int
    place_no: int
    channel: Channel
    status: BookingStatus
    fee: int
    paid: int
    queue_no: int | None
    day: date
    created_at: datetime
    hold_expires_at: datetime | None
    cancel_reason: str | None = None
    pool: str | None = None  # 号源池 it took its place from; None: the session has no pools


@dataclass(frozen=True, slots=True)
class BookingView:
    """A booking with the names a person reads (for answers, SMS and tickets)."""

    booking: Booking
    hospital_code: str
    department_code: str
    department_name: str
    doctor_work_no: str
    doctor_name: str
    doctor_title: str
    room: str
    period: Period
    start: time
    end: time
    starts_at: datetime
    patient_name: str
    patient_card_no: str
    replayed: bool = False  # the first answer to a retried idempotent request


@dataclass(frozen=True, slots=True)
class DrawOutcome:
    """What a round of release draws (公平放号) did: draws run, requests booked, refused."""

    draws: int = 0
    booked: int = 0
    refused: int = 0


class WaitlistStatus(StrEnum):
    """A waitlist entry's life (候补): waiting → offered → accepted | lapsed | declined; or
    left (asked to, or booked a place themselves) | closed (the session closed first)."""

    WAITING = "waiting"  # 候补中
    OFFERED = "offered"  # 候补成功，待确认: a held booking is theirs until the deadline
    ACCEPTED = "accepted"  # 已确认
    LAPSED = "lapsed"  # 逾期未确认: passed to the next
    DECLINED = "declined"  # the offered booking was cancelled: passed to the next
    LEFT = "left"  # 已退出
    CLOSED = "closed"  # 候补未成功: the session was stopped or closed for booking


LIVE_WAITLIST_SQL = "('waiting', 'offered')"
"""The entries that hold a place in a line, for SQL (the schema's unique index uses it)."""


@dataclass(frozen=True, slots=True)
class WaitlistEntry:
    """A patient's place in a full session's line (候补). ``position``: their place among
    those still waiting (1: next to be offered; 0 once they are no longer waiting)."""

    id: int
    hospital_id: int
    session_id: int
    patient_id: int
    day: date
    channel: Channel
    status: WaitlistStatus
    joined_at: datetime
    position: int
    offer_booking_no: str | None = None
    offer_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExtraPlaces:
    """What 加号 did: the slot the places went to, the session's extra places so far, the
    named patient's booking (or None) and how many were offered to the waitlist."""

    session_id: int
    slot_id: int
    places: int
    added_total: int
    booking: BookingView | None
    offered: int
