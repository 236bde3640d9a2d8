"""What a patient does at a kiosk (自助机业务), each one unit of work run as the kiosk: check
in and print the ticket (取号), pay a held booking at the card terminal (缴费), book with the
ID card (自助预约), top up the prepaid balance (充值); and what a desk asks of a kiosk:
print a ticket again (补打), refund a card payment of a cancelled booking (退款)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ..bookings.admission import book_slot, slot_context
from ..bookings.changes import check_in, check_in_refusal, payment_refusal
from ..bookings.commands import BookSlot, CheckIn
from ..bookings.model import BookingStatus
from ..bookings.repo import booking_by_no, view_by_no
from ..kernel import tenancy
from ..kernel.actor import Channel
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, InvalidState, NotFound
from ..kernel.identity import normalize_id_number
from ..kernel.unit import Tx, Unit, one, val
from ..patients.commands import RegisterPatient
from ..patients.handlers import register_patient
from .commands import (
    BookAtKiosk,
    CheckInAtKiosk,
    PayAtKiosk,
    RefundAtKiosk,
    ReprintTicket,
    TopUpAtKiosk,
)
from .model import (
    ChargePurpose,
    ChargeResult,
    JobKind,
    Kiosk,
    KioskBooking,
    KioskCheckIn,
    KioskJob,
)
from .repo import JOB_SQL, job_from, open_job, queue_job, usable_kiosk
from .tickets import queue_ticket

TOP_UP_MAX_FEN = 500_000
"""The most one kiosk top-up takes (5 000 元): more is an extra zero typed far more often
than a wish, and the cashier's window takes large sums."""

TOP_UP_LIFETIME = timedelta(minutes=3)
"""A top-up charge is asked of a patient standing at the kiosk; one that reaches the kiosk
later (it was offline) would charge whoever stands there next: it expires instead."""


def _checked_in_and_printed(
    tx: Tx, kiosk: Kiosk, booking_no: str, deps: Deps
) -> Unit[KioskCheckIn]:
    """Bookings' own check-in (every rule of it) as the kiosk, then the ticket's job."""
    checked = yield from check_in(tx, CheckIn(actor=kiosk.actor, booking_no=booking_no), deps)
    job = yield from queue_ticket(tx, kiosk, checked)
    return KioskCheckIn(checked, job)


def check_in_at_kiosk(tx: Tx, cmd: CheckInAtKiosk, deps: Deps) -> Unit[KioskCheckIn]:
    """取号: the booking checked in and its ticket's print job, in one unit."""
    kiosk = yield from usable_kiosk(cmd.actor, cmd.kiosk_id)
    booking = yield from booking_by_no(cmd.booking_no, lock=True)  # a retry waits, then sees it
    tenancy.check(kiosk.actor, booking.hospital_id, "booking", cmd.booking_no)
    if booking.status is BookingStatus.CHECKED_IN:  # asked again: the ticket still on its way
        job = yield from open_job(
            "j.kiosk_id = ? AND j.kind = 'print_ticket' AND j.booking_id = ?",
            kiosk.kiosk_id,
            booking.id,
        )
        if job is not None:
            return KioskCheckIn((yield from view_by_no(cmd.booking_no)), job)
    return (yield from _checked_in_and_printed(tx, kiosk, cmd.booking_no, deps))


def pay_at_kiosk(tx: Tx, cmd: PayAtKiosk, deps: Deps) -> Unit[KioskJob]:
    """A ``charge`` for what a held booking owes; it expires when the hold does (the kiosk
    never starts it after that). The ack applies it (:mod:`.money`)."""
    kiosk = yield from usable_kiosk(cmd.actor, cmd.kiosk_id)
    booking = yield from booking_by_no(cmd.booking_no, lock=True)
    tenancy.check(kiosk.actor, booking.hospital_id, "booking", cmd.booking_no)
    asked = yield from open_job(
        "j.kiosk_id = ? AND j.kind = 'charge' AND j.booking_id = ?", kiosk.kiosk_id, booking.id
    )
    if asked is not None:
        return asked
    if booking.status is not BookingStatus.HELD:
        raise InvalidState(status=str(booking.status), action="pay")
    refusal = payment_refusal(booking, tx.now)
    if refusal is not None:
        raise refusal
    amount = booking.fee - booking.paid
    return (
        yield from queue_job(
            tx,
            kiosk,
            JobKind.CHARGE,
            {
                "amount": amount,
                "purpose": str(ChargePurpose.BOOKING),
                "booking_no": booking.booking_no,
            },
            booking=(booking.id, booking.booking_no),
            purpose=str(ChargePurpose.BOOKING),
            amount=amount,
            expires_at=booking.hold_expires_at,
        )
    )


def _request_hash(slot_id: int, id_index: str) -> str:
    return hashlib.sha256(f"{slot_id}:{id_index}".encode()).hexdigest()[:32]


def book_at_kiosk(tx: Tx, cmd: BookAtKiosk, deps: Deps) -> Unit[KioskBooking]:
    """Real name from the ID card: the patient of that ID number at the kiosk's hospital
    (their registered name must be the card's), or registered now by patients' own
    registration; then bookings' own booking, channel kiosk, every rule of every door. A
    booking confirmed for today is checked in and its ticket printed at once (the patient
    is standing there); a held one waits for :class:`PayAtKiosk`."""
    kiosk = yield from usable_kiosk(cmd.actor, cmd.kiosk_id)
    actor = kiosk.actor
    id_number = normalize_id_number(cmd.id_number)
    name = " ".join(cmd.name.split())
    ctx = yield from slot_context(cmd.slot_id, actor)
    today = tx.now.astimezone(ZoneInfo(ctx["timezone"])).date()
    if date.fromisoformat(ctx["day"]) not in (today, today + timedelta(days=1)):
        raise InvalidInput("slot_id", "a kiosk books today's and tomorrow's places only")
    id_index = deps.cipher.blind_index(id_number, context="id_number")
    where, args = tenancy.scope(actor, "hospital_id")
    found = yield one(
        f"SELECT id FROM patients WHERE {' AND '.join([*where, 'id_index = ?'])}", *args, id_index
    )
    registered = found is None
    if found is None:
        patient = yield from register_patient(
            tx,
            RegisterPatient(
                actor=actor,
                hospital_code=kiosk.hospital_code,
                name=name,
                id_number=id_number,
                phone=cmd.phone,
            ),
            deps,
        )
        patient_id = patient.id
    else:
        patient_id = found["id"]
    view = yield from book_slot(
        tx,
        BookSlot(
            actor=actor,
            slot_id=cmd.slot_id,
            patient_id=patient_id,
            channel=Channel.KIOSK,
            patient_name=name,
            idempotency_key=cmd.request_id,
            idempotency_scope=f"kiosk:{kiosk.kiosk_id}" if cmd.request_id else "",
            request_hash=_request_hash(cmd.slot_id, id_index),
        ),
        deps,
    )
    if view.replayed:  # the same request again: the same answer, ticket included
        row = yield one(
            JOB_SQL + " WHERE j.kiosk_id = ? AND j.kind = 'print_ticket' AND j.booking_id = ? "
            "ORDER BY j.id LIMIT 1",
            kiosk.kiosk_id,
            view.booking.id,
        )
        return KioskBooking(view, False, None if row is None else job_from(row))
    if view.booking.status is BookingStatus.CONFIRMED:
        refusal = yield from check_in_refusal(tx, view.booking, actor)
        if refusal is None:  # today's: checked in and printed now
            done = yield from _checked_in_and_printed(tx, kiosk, view.booking.booking_no, deps)
            return KioskBooking(done.booking, registered, done.job)
    return KioskBooking(view, registered, None)


def top_up_at_kiosk(tx: Tx, cmd: TopUpAtKiosk, deps: Deps) -> Unit[KioskJob]:
    """A ``charge`` of ``amount`` onto the card's prepaid balance; the ack credits it
    (payments' own top-up, once per terminal reference)."""
    kiosk = yield from usable_kiosk(cmd.actor, cmd.kiosk_id)
    if type(cmd.amount) is not int or not 0 < cmd.amount <= TOP_UP_MAX_FEN:
        raise InvalidInput("amount", f"1 to {TOP_UP_MAX_FEN} fen")
    card_no = cmd.card_no.strip()
    where, args = tenancy.scope(kiosk.actor, "hospital_id")
    patient_id = yield val(
        f"SELECT id FROM patients WHERE {' AND '.join([*where, 'card_no = ?'])}", *args, card_no
    )
    if patient_id is None:
        raise NotFound("patient", card_no)
    yield one("SELECT id FROM patients WHERE id = ?", patient_id, lock=True)  # a retry waits
    asked = yield from open_job(
        "j.kiosk_id = ? AND j.kind = 'charge' AND j.purpose = 'top_up' AND j.patient_id = ? "
        "AND j.amount = ?",
        kiosk.kiosk_id,
        patient_id,
        cmd.amount,
    )
    if asked is not None:
        return asked
    return (
        yield from queue_job(
            tx,
            kiosk,
            JobKind.CHARGE,
            {"amount": cmd.amount, "purpose": str(ChargePurpose.TOP_UP), "card_no": card_no},
            patient_id=patient_id,
            purpose=str(ChargePurpose.TOP_UP),
            amount=cmd.amount,
            expires_at=tx.now + TOP_UP_LIFETIME,
        )
    )


def reprint_ticket(tx: Tx, cmd: ReprintTicket, deps: Deps) -> Unit[KioskJob]:
    """A new print job for a checked-in booking (a ticket lost, or failed: paper out), at
    the kiosk named or at the one that last printed (or tried to print) it. One still
    unacknowledged at that kiosk is answered instead of a second."""
    booking = yield from booking_by_no(cmd.booking_no, lock=True)
    tenancy.check(cmd.actor, booking.hospital_id, "booking", cmd.booking_no)
    kiosk_id = cmd.kiosk_id
    if kiosk_id is None:
        kiosk_id = yield val(
            "SELECT kiosk_id FROM kiosk_jobs WHERE booking_id = ? AND kind = 'print_ticket' "
            "ORDER BY id DESC LIMIT 1",
            booking.id,
        )
        if kiosk_id is None:
            raise InvalidInput("kiosk_id", "no kiosk printed this ticket: name one")
    kiosk = yield from usable_kiosk(cmd.actor, kiosk_id)
    tenancy.check(kiosk.actor, booking.hospital_id, "booking", cmd.booking_no)  # its own only
    if booking.status is not BookingStatus.CHECKED_IN:
        raise InvalidState(status=str(booking.status), action="print_ticket")
    asked = yield from open_job(
        "j.kiosk_id = ? AND j.kind = 'print_ticket' AND j.booking_id = ?",
        kiosk.kiosk_id,
        booking.id,
    )
    if asked is not None:
        return asked
    view = yield from view_by_no(cmd.booking_no)
    return (yield from queue_ticket(tx, kiosk, view))


def refund_at_kiosk(tx: Tx, cmd: RefundAtKiosk, deps: Deps) -> Unit[KioskJob | None]:
    """The card payment of a cancelled booking back to the card: a ``refund`` job of the
    charge that paid it, at the kiosk whose terminal took it (bookings' cancellation wrote
    the ledger's refund row; this makes it true at the bank). Once per charge."""
    booking = yield from booking_by_no(cmd.booking_no, lock=True)
    tenancy.check(cmd.actor, booking.hospital_id, "booking", cmd.booking_no)
    if booking.status is not BookingStatus.CANCELLED:
        return None
    row = yield one(
        JOB_SQL + " WHERE j.booking_id = ? AND j.kind = 'charge' AND j.result = ? "
        "ORDER BY j.id DESC LIMIT 1",
        booking.id,
        str(ChargeResult.PAID),
    )
    if row is None:
        return None
    charge = job_from(row)
    before = yield one(JOB_SQL + " WHERE j.kind = 'refund' AND j.of_job = ?", charge.job_id)
    if before is not None:
        return job_from(before)
    kiosk = yield from usable_kiosk(cmd.actor, charge.kiosk_id)  # its terminal took it
    assert charge.amount is not None
    assert charge.terminal_ref is not None
    return (
        yield from queue_job(
            tx,
            kiosk,
            JobKind.REFUND,
            {"amount": charge.amount, "terminal_ref": charge.terminal_ref},
            booking=(booking.id, booking.booking_no),
            amount=charge.amount,
            terminal_ref=charge.terminal_ref,
            of_job=charge.job_id,
        )
    )
