"""Domain types of the booking core (号源、预约、患者).

Instants are aware UTC datetimes; clinic days are hospital-local ``date``s and
clock times hospital-local ``time``s. Money is integer fen (分).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum


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


class Channel(StrEnum):
    IVR = "ivr"
    SMS = "sms"
    AGENT = "agent"
    API = "api"
    KIOSK = "kiosk"
    HIS = "his"
    SYSTEM = "system"


class Period(StrEnum):
    MORNING = "morning"  # 上午
    AFTERNOON = "afternoon"  # 下午
    EVENING = "evening"  # 夜间


class SessionStatus(StrEnum):
    OPEN = "open"
    STOPPED = "stopped"  # 停诊


class CancelReason(StrEnum):
    PATIENT = "patient"
    HOSPITAL = "hospital"
    HOLD_EXPIRED = "hold_expired"
    SESSION_STOPPED = "session_stopped"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something: written into every audit record.

    ``hospital_id`` set means the actor may only see and change that hospital.
    """

    kind: str  # "operator" | "token" | "patient" | "system"
    name: str
    hospital_id: int | None = None
    channel: Channel = Channel.API

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    def may_access(self, hospital_id: int | None) -> bool:
        return self.hospital_id is None or self.hospital_id == hospital_id


SYSTEM = Actor("system", "engine", None, Channel.SYSTEM)


@dataclass(frozen=True, slots=True)
class Hospital:
    id: int
    code: str
    name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Department:
    id: int
    hospital_id: int
    code: str  # 3 digits, typed on a keypad
    name: str
    aliases: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, slots=True)
class Doctor:
    id: int
    hospital_id: int
    department_id: int
    work_no: str  # 工号, 5 digits
    name: str
    title: str
    specialty: str
    fee: int  # 挂号费, fen
    active: bool = True


@dataclass(frozen=True, slots=True)
class ClinicSession:
    """A doctor's clinic session on one day (出诊/排班)."""

    id: int
    hospital_id: int
    department_id: int
    doctor_id: int
    day: date
    period: Period
    start: time
    end: time
    room: str
    fee: int
    status: SessionStatus
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """A time slot inside a session (号源), with ``capacity`` places."""

    id: int
    session_id: int
    start: time
    end: time
    starts_at: datetime
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass(frozen=True, slots=True)
class SlotView:
    """A slot with what a person choosing it needs to hear."""

    slot_id: int
    session_id: int
    hospital_code: str
    department_code: str
    department_name: str
    doctor_work_no: str
    doctor_name: str
    doctor_title: str
    day: date
    period: Period
    start: time
    end: time
    room: str
    fee: int
    capacity: int
    booked: int
    # filled by ``queries.search_slots`` from the hospital's rules, at the read's instant:
    window: str = "open"  # rules.SlotWindow: "not_yet_open" (before 放号), "open", "closed"
    opens_at: datetime | None = None  # 放号: the first instant it can be booked (UTC)
    closes_at: datetime | None = None  # the booking cut-off (UTC)

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)

    @property
    def bookable(self) -> bool:
        """A place can be booked now: released, before the cut-off, not full."""
        return self.window == "open" and self.free > 0


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient registered at one hospital (实名制患者)."""

    id: int
    hospital_id: int
    name: str
    card_no: str  # 就诊卡号
    id_last4: str
    phone_masked: str
    balance: int  # prepaid, fen
    sms_opt_out: bool = False


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
class BlacklistEntry:
    id: int
    hospital_id: int | None  # None: every hospital on the platform
    patient_id: int
    reason: str
    source: str  # "no_show" | "admin" | "his"
    starts_at: datetime
    ends_at: datetime
    lifted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    topic: str  # booking.created, booking.cancelled, slot.changed ...
    hospital_id: int | None
    key: str  # the aggregate: a booking number, a slot id ...
    payload: dict = field(hash=False)
    created_at: datetime
    attempts: int = 0
