"""Kiosks in the hospital hall (自助机): the registry, each kiosk's and device's latest
status, and the jobs for their devices (print a ticket, charge, reverse, refund, show a
message). Instants are aware UTC datetimes; money integer fen (分)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..bookings.model import BookingView
from ..kernel.actor import Actor, Channel

OUTBOX_CONSUMER = "kiosk"
"""The outbox consumer the engine's kiosk publisher claims :class:`KioskJobQueued` as."""


class JobKind(StrEnum):
    """What a job asks of a kiosk's devices (docs/kiosk-protocol.md, "Jobs")."""

    PRINT_TICKET = "print_ticket"  # 打印取号凭条
    CHARGE = "charge"  # 刷卡扣款
    REVERSAL = "reversal"  # 冲正 a charge
    REFUND = "refund"  # 退货 a charge
    SHOW_MESSAGE = "show_message"


class JobStatus(StrEnum):
    """queued (to be published) → sent (published, not acked) → done / failed (its one ack)."""

    QUEUED = "queued"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"

    @property
    def open(self) -> bool:
        return self in (JobStatus.QUEUED, JobStatus.SENT)


OPEN_SQL = "('queued', 'sent')"
"""The open statuses, for SQL (the partial index ``kiosk_jobs_open`` uses it too)."""


class AckOutcome(StrEnum):
    DONE = "done"
    FAILED = "failed"


class ChargePurpose(StrEnum):
    BOOKING = "booking"  # a held booking's fee
    TOP_UP = "top_up"  # 预交金充值


class ChargeResult(StrEnum):
    """What came of a ``charge`` acked done (``KioskJob.result``)."""

    PAID = "paid"  # the booking is paid with it
    TOPPED_UP = "topped_up"  # the prepaid balance is credited with it
    REVERSING = "reversing"  # it could not be applied: a reversal job went out for it


class JobResult(StrEnum):
    """What came of a ``reversal`` or ``refund`` acked done."""

    REVERSED = "reversed"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Kiosk:
    """A registered kiosk and its latest status: ``online`` None until it first reports;
    ``since`` when it went online or offline; ``reason`` why offline (lost, stopped)."""

    kiosk_id: str  # k + 8 lower-case hex digits: its MQTT user name and client id
    hospital_id: int
    hospital_code: str
    name: str
    location: str
    disabled: bool
    online: bool | None
    since: datetime | None
    reason: str
    created_at: datetime

    @property
    def actor(self) -> Actor:
        """Who acts when a patient does something at this kiosk (the audit says so)."""
        return kiosk_actor(self.kiosk_id, self.hospital_id)


def kiosk_actor(kiosk_id: str, hospital_id: int) -> Actor:
    """A kiosk as the actor of what a patient does at it: bound to its hospital."""
    return Actor("kiosk", kiosk_id, hospital_id, Channel.KIOSK)


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """One device of a kiosk as it last reported it; ``since`` the state began."""

    device: str  # printer, card_reader, terminal
    state: str  # ok, paper_near_end, paper_out, cover_open, unavailable …
    reason: str
    since: datetime
    pending_reversals: int = 0


@dataclass(frozen=True, slots=True)
class KioskJob:
    """A job for a kiosk's devices, as the engine publishes it and as it stands."""

    job_id: str
    kiosk_id: str
    hospital_id: int
    kind: JobKind
    payload: dict[str, Any] = field(hash=False)
    status: JobStatus
    created_at: datetime
    expires_at: datetime | None
    booking_no: str | None = None
    amount: int | None = None  # fen: a charge's, a reversal's or a refund's
    purpose: str | None = None  # a charge's: booking or top_up
    terminal_ref: str | None = None  # a charge's once done; the charge a reversal undoes
    of_job: str | None = None  # the job this one follows from (a reversal's charge)
    reason: str = ""  # why it failed (or, queued again, why its last try did)
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict, hash=False)
    result: str | None = None  # ChargeResult / JobResult
    attempts: int = 0  # how often it was published
    sent_at: datetime | None = None
    acked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KioskOverview:
    """A kiosk as the console's devices screen shows it: its status, each device, its
    newest jobs, its newest failures and how many jobs are still unacknowledged."""

    kiosk: Kiosk
    devices: tuple[DeviceStatus, ...]
    last_jobs: tuple[KioskJob, ...]
    failures: tuple[KioskJob, ...]
    open_jobs: int


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    """One line of the broker's password file: an enabled kiosk's user name and hash."""

    kiosk_id: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class StatusRecorded:
    """What :class:`RecordKioskStatus` did: ``changed`` when the status said something new
    (a :class:`~booking_core.events.KioskStatusChanged` was recorded); ``came_online`` when
    the kiosk was not online before: publish its unacknowledged jobs now."""

    kiosk: Kiosk
    devices: tuple[DeviceStatus, ...]
    changed: bool
    came_online: bool


@dataclass(frozen=True, slots=True)
class KioskCheckIn:
    """取号 at a kiosk: the booking checked in and the ticket's print job."""

    booking: BookingView
    job: KioskJob

    @property
    def queue_no(self) -> int:
        queue_no = self.booking.booking.queue_no
        assert queue_no is not None
        return queue_no


@dataclass(frozen=True, slots=True)
class KioskBooking:
    """自助预约: the booking made, whether the patient was registered by it, and the
    ticket's print job when it was checked in at once (confirmed for today)."""

    booking: BookingView
    registered: bool
    ticket: KioskJob | None = None


@dataclass(frozen=True, slots=True)
class JobAcked:
    """What :class:`RecordJobAck` did: ``first`` when this ack was recorded (a repeat
    changes nothing); ``queued``: the jobs it made (a ticket after a payment, a reversal
    and the patient's message when a charge could not be applied)."""

    job: KioskJob
    first: bool
    queued: tuple[KioskJob, ...] = ()


# --- the swipe (刷卡) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatientCard:
    """A patient card (就诊卡) read at the kiosk."""

    card_no: str


@dataclass(frozen=True, slots=True)
class IdCard:
    """A resident ID card (二代身份证) read at the kiosk: the name and number on it."""

    name: str
    id_number: str


Card = PatientCard | IdCard


@dataclass(frozen=True, slots=True)
class SwipedPatient:
    masked_name: str  # 李*
    card_no: str

    def fields(self) -> dict[str, Any]:
        """As the protocol's swipe reply gives it."""
        return {"masked_name": self.masked_name, "card_no": self.card_no}


@dataclass(frozen=True, slots=True)
class SwipedBooking:
    """One of today's bookings as the kiosk lists it."""

    booking_no: str
    department: str  # its name
    doctor: str  # the doctor's name
    time: str  # 08:30-09:00, hospital-local
    status: str  # held, confirmed, checked_in
    fee: int  # fen
    paid: bool
    ticket_printed: bool = False  # a kiosk acked printing its ticket (checked in)

    def fields(self) -> dict[str, Any]:
        """As the protocol's swipe reply gives it."""
        return {
            "booking_no": self.booking_no,
            "department": self.department,
            "doctor": self.doctor,
            "time": self.time,
            "status": self.status,
            "fee": self.fee,
            "paid": self.paid,
            "ticket_printed": self.ticket_printed,
        }


@dataclass(frozen=True, slots=True)
class Swiped:
    """A card swiped at a kiosk: the patient and today's active bookings (in time order)."""

    patient: SwipedPatient
    bookings: tuple[SwipedBooking, ...]
    patient_id: int = field(default=0, compare=False)

    def fields(self) -> dict[str, Any]:
        """The protocol's swipe reply fields (``ok`` and ``request_id`` are the door's)."""
        return {
            "patient": self.patient.fields(),
            "bookings": [b.fields() for b in self.bookings],
        }
