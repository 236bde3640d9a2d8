"""Commands: what a front door asks the core to do (imperative, one handler each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from .domain import SYSTEM, Actor, Channel, Period
from .rules import Rule


@dataclass(frozen=True, kw_only=True)
class Command:
    actor: Actor = field(default=SYSTEM)


# --- schedules (排班) ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UpsertHospital(Command):
    code: str
    name: str
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, kw_only=True)
class UpsertDepartment(Command):
    hospital_code: str
    code: str  # 3 digits
    name: str
    aliases: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class UpsertDoctor(Command):
    hospital_code: str
    work_no: str  # 5 digits
    department_code: str
    name: str
    title: str = ""
    specialty: str = ""
    fee: int = 0
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class CreateSession(Command):
    """A doctor's session on one day, cut into slots of ``slot_minutes`` with
    ``places_per_slot`` places each."""

    hospital_code: str
    doctor_work_no: str
    day: date
    period: Period
    start: time
    end: time
    slot_minutes: int
    places_per_slot: int
    room: str = ""
    fee: int | None = None  # None: the doctor's fee


@dataclass(frozen=True, kw_only=True)
class StopSession(Command):
    """停诊: move every booking to ``target_session_id`` or cancel them all."""

    session_id: int
    mode: str  # "move" | "cancel"
    target_session_id: int | None = None
    reason: str = ""


# --- patients ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterPatient(Command):
    hospital_code: str
    name: str
    id_number: str | None
    phone: str | None
    card_no: str | None = None


@dataclass(frozen=True, kw_only=True)
class TopUp(Command):
    """Money onto a patient card's prepaid balance (fen)."""

    patient_id: int
    amount: int
    method: str = "cash"
    reference: str | None = None


# --- bookings ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BookSlot(Command):
    slot_id: int
    patient_id: int
    channel: Channel
    booker_phone: str | None = None  # caller ID or SMS sender; default the patient's phone
    patient_name: str | None = None  # when given, must match the registered name (实名)
    idempotency_key: str | None = None
    idempotency_scope: str = ""
    request_hash: str = ""


@dataclass(frozen=True, kw_only=True)
class PayBooking(Command):
    booking_no: str
    method: str  # "balance" | "card" | "cash"
    reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class CancelBooking(Command):
    booking_no: str
    by_hospital: bool = False


@dataclass(frozen=True, kw_only=True)
class RescheduleBooking(Command):
    booking_no: str
    slot_id: int


@dataclass(frozen=True, kw_only=True)
class CheckIn(Command):
    """取号: gives the next queue number of the session."""

    booking_no: str


# --- sweeps ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ExpireHolds(Command):
    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class SweepNoShows(Command):
    """Confirmed and never checked in when the session ended → no_show (爽约), then the
    no-show rule; checked in → completed."""

    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class PurgeAudit(Command):
    older_than_days: int = 365


# --- blacklist and rules -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddToBlacklist(Command):
    patient_id: int
    until: date  # last banned day, hospital-local, inclusive
    reason: str
    source: str = "admin"  # "admin" | "his"
    platform_wide: bool = False


@dataclass(frozen=True, kw_only=True)
class LiftBan(Command):
    entry_id: int


@dataclass(frozen=True, kw_only=True)
class SetRule(Command):
    rule: Rule


@dataclass(frozen=True, kw_only=True)
class CreateToken(Command):
    name: str
    role: str
    hospital_code: str | None
    token_hash: str


@dataclass(frozen=True, kw_only=True)
class CreateOperator(Command):
    username: str
    display_name: str
    password_hash: str
    roles: tuple[str, ...]
    hospital_code: str | None = None
    must_change_password: bool = False
