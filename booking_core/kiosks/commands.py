"""Commands about kiosks (自助机): the registry, their status, their jobs' lifecycle, and
what a patient does at one (check in, pay, book, top up) or a desk asks of one (reprint).

A patient's command names the kiosk (``kiosk_id``: the MQTT user name the broker
authenticated) and runs as the kiosk (``Actor("kiosk", id, its hospital, Channel.KIOSK)``):
``actor`` is whoever asks on its behalf (the engine: SYSTEM; a console operator), and must
be allowed to see the kiosk's hospital."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..kernel.unit import Command
from .model import JobAcked, Kiosk, KioskBooking, KioskCheckIn, KioskJob, StatusRecorded

# --- the registry -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterKiosk(Command[Kiosk]):
    """A new kiosk of ``hospital_code``; its id is drawn here. ``password_hash`` is the
    broker's hash of its password (the door makes the password, shows it once and hashes
    it; the core never sees it)."""

    hospital_code: str
    name: str
    location: str = ""
    password_hash: str


@dataclass(frozen=True, kw_only=True)
class DisableKiosk(Command[Kiosk]):
    """停用: the kiosk leaves the broker's accounts and can do nothing more. Its jobs never
    published are failed (``kiosk_disabled``: a reversal among them shows on the devices
    screen as failed, for the desk to give the money back); acks still arriving are
    recorded (money its terminal took is applied or reversed)."""

    kiosk_id: str


@dataclass(frozen=True, kw_only=True)
class ResetKioskPassword(Command[Kiosk]):
    kiosk_id: str
    password_hash: str


# --- status -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RecordKioskStatus(Command[StatusRecorded]):
    """The kiosk's retained status (or its last will): ``devices`` by name, each
    ``{"state": …, "reason": …, "pending_reversals": n}``; ``at`` the kiosk's time of it
    (None: the will, which has none). A status older than the one recorded, or saying the
    same again, changes nothing."""

    kiosk_id: str
    online: bool
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    at: datetime | None = None
    reason: str = ""  # offline: lost (the will) or stopped


# --- jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MarkJobSent(Command[KioskJob]):
    """The engine published the job (again): sent now, one more attempt. A job already
    acked is left as it is."""

    job_id: str


@dataclass(frozen=True, kw_only=True)
class RecordJobAck(Command[JobAcked]):
    """The kiosk's one acknowledgement of a job (``outcome`` done or failed). The first is
    kept and acted on in the same transaction (a printed ticket recorded, a charge applied
    or reversed); a repeat changes nothing. A reversal or refund failed with
    ``detail["outcome_unknown"]`` is put back to be sent again under its id instead."""

    kiosk_id: str
    job_id: str
    outcome: str
    reason: str = ""
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


# --- a patient at the kiosk -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CheckInAtKiosk(Command[KioskCheckIn]):
    """取号: check the booking in and print its ticket at the kiosk. Asked again while that
    ticket is still unacknowledged, it answers the same check-in and job."""

    kiosk_id: str
    booking_no: str


@dataclass(frozen=True, kw_only=True)
class PayAtKiosk(Command[KioskJob]):
    """缴费: a ``charge`` job for what a held booking still owes, expiring with its hold.
    Asked again while that charge is unacknowledged, it answers the same job."""

    kiosk_id: str
    booking_no: str


@dataclass(frozen=True, kw_only=True)
class BookAtKiosk(Command[KioskBooking]):
    """自助预约: book ``slot_id`` (today's or tomorrow's) under the name and ID number read
    from the patient's ID card; a patient the hospital does not know is registered first
    (with ``phone`` when the real-name rule asks for one). ``request_id``: the kiosk's, so
    a request sent again books once."""

    kiosk_id: str
    slot_id: int
    name: str
    id_number: str
    phone: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TopUpAtKiosk(Command[KioskJob]):
    """预交金充值: a ``charge`` job of ``amount`` fen onto card ``card_no``'s balance.
    Asked again while an equal top-up is unacknowledged at the kiosk, it answers that job."""

    kiosk_id: str
    card_no: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class ReprintTicket(Command[KioskJob]):
    """补打凭条: print a checked-in booking's ticket again, at ``kiosk_id`` or else at the
    kiosk that printed (or last tried to print) it."""

    booking_no: str
    kiosk_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RefundAtKiosk(Command[KioskJob | None]):
    """退款到卡: a booking paid by card at a kiosk and cancelled since gets its money back
    on the card, by a ``refund`` job of the charge (at the kiosk that took it). Once per
    booking; None when nothing is due on a card (not paid at a kiosk, not cancelled)."""

    booking_no: str
