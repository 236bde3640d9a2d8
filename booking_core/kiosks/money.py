"""Money a kiosk's terminal took (刷卡): a ``charge`` acked done is applied in the same
transaction as the ack is recorded — the booking paid (bookings' own payment, method card)
or the prepaid balance credited (payments' own top-up) — or, when it can no longer be
applied, reversed at once: a ``reversal`` job for its terminal reference and a message
telling the patient why. Money is never kept without what it paid for. A charge acked after
its booking's hold ran out (超时支付) follows the hospital's ``late_payment`` rule
(``booking_core.bookings.late``): the place taken again and paid, or the charge reversed and
the patient texted.

The ledger keys a kiosk's card movement as ``<kiosk id>:<terminal reference>``: a
terminal's reference is unique on that terminal only (two kiosks' terminals may count the
same numbers), and the ledger's one row per reference is what makes a repeated ack move
money once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..bookings.changes import check_in, check_in_refusal, pay_booking, payment_refusal
from ..bookings.commands import CheckIn, PayBooking
from ..bookings.late import hold_lapsed, record_late_refund, retake_if_free
from ..bookings.model import Booking
from ..bookings.repo import booking_by_no
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.unit import Row, Tx, Unit, execute, one, val
from ..payments.commands import TopUp
from ..payments.handlers import top_up
from ..payments.repo import movement_by_reference
from .model import ChargePurpose, ChargeResult, JobKind, Kiosk, KioskJob
from .repo import queue_job
from .tickets import queue_ticket

MESSAGE_SECONDS = 20  # long enough to read two lines twice
MESSAGE_LIFETIME = timedelta(minutes=2)
"""A message for the patient at the kiosk: shown later it would speak to a stranger."""

SORRY = "本次扣款将原路退回您的银行卡，如有疑问请到人工窗口。"
WHY = {
    "hold_expired": "支付未成功：预约保留时间已过，号源已释放。",
    "cancelled": "支付未成功：该预约已取消。",
    "paid": "该预约已支付，无需再次付款。",
    "amount": "支付未成功：扣款金额与应付金额不符。",
    "reference": "支付未成功：交易参考号重复。",
}
"""Why a charge could not be applied, as the kiosk shows it (then :data:`SORRY`)."""
CHANGED = "支付未成功：预约状态已变化。"


def ledger_reference(kiosk_id: str, terminal_ref: str) -> str:
    """The ledger's reference of a kiosk card movement (see the module's docstring)."""
    return f"{kiosk_id}:{terminal_ref}"


def _result(job_row: Row, result: ChargeResult) -> Unit[None]:
    yield execute("UPDATE kiosk_jobs SET result = ? WHERE id = ?", str(result), job_row["id"])


def settle_charge(
    tx: Tx, kiosk: Kiosk, job_row: Row, terminal_ref: str, amount: int, deps: Deps
) -> Unit[tuple[KioskJob, ...]]:
    """Apply a charge acked done (its row already marked done): the jobs that follow."""
    reference = ledger_reference(kiosk.kiosk_id, terminal_ref)
    if job_row["purpose"] == ChargePurpose.TOP_UP:
        return (yield from _top_up(tx, kiosk, job_row, terminal_ref, reference, amount, deps))
    booking_no = yield val("SELECT booking_no FROM bookings WHERE id = ?", job_row["booking_id"])
    booking = yield from booking_by_no(booking_no, lock=True)
    tenancy.check(kiosk.actor, booking.hospital_id, "booking", booking_no)
    prior = yield from movement_by_reference(booking.hospital_id, "payment", reference)
    if prior is not None and prior["booking_id"] == booking.id:
        yield from _result(job_row, ChargeResult.PAID)  # this very money paid it already
        return ()
    if prior is None and amount == booking.fee - booking.paid and hold_lapsed(booking, tx.now):
        # 超时支付: the hospital's late_payment rule confirms it if the place is free …
        retaken = yield from retake_if_free(tx, booking, kiosk.actor, deps)
        if retaken is None:  # … or the money goes back the way it came, the patient told
            yield from record_late_refund(tx, booking, kiosk.actor, amount, "card")
            return (
                yield from _reverse(
                    tx, kiosk, job_row, terminal_ref, amount, booking, "hold_expired"
                )
            )
        booking = retaken
    why = _why_not(tx, booking, amount, prior)
    if why is not None:
        return (yield from _reverse(tx, kiosk, job_row, terminal_ref, amount, booking, why))
    yield from _result(job_row, ChargeResult.PAID)  # before the ticket: it prints the card
    actor = kiosk.actor
    paid = yield from pay_booking(
        tx, PayBooking(actor=actor, booking_no=booking_no, method="card", reference=reference), deps
    )
    refusal = yield from check_in_refusal(tx, paid.booking, actor)
    if refusal is None:  # the patient is standing there: checked in and printed at once
        checked = yield from check_in(tx, CheckIn(actor=actor, booking_no=booking_no), deps)
        return ((yield from queue_ticket(tx, kiosk, checked)),)
    day = paid.booking.day
    text = f"缴费成功。请于就诊当日（{day.month}月{day.day}日）到自助机签到取号。"
    return ((yield from _message(tx, kiosk, text)),)


def _why_not(tx: Tx, booking: Booking, amount: int, prior: Any) -> str | None:
    """Why this charge cannot pay ``booking`` (a key of :data:`WHY`), or None."""
    if prior is not None:  # the reference moved other money already: never apply it twice
        return "reference"
    refusal = payment_refusal(booking, tx.now)
    if refusal is not None:
        return str(refusal.params["status"])
    if amount != booking.fee - booking.paid:
        return "amount"
    return None


def _top_up(
    tx: Tx, kiosk: Kiosk, job_row: Row, terminal_ref: str, reference: str, amount: int, deps: Deps
) -> Unit[tuple[KioskJob, ...]]:
    patient_id = job_row["patient_id"]
    yield one("SELECT id FROM patients WHERE id = ?", patient_id, lock=True)  # as top_up does
    prior = yield from movement_by_reference(kiosk.hospital_id, "top_up", reference)
    if prior is not None and (prior["patient_id"], prior["amount"], prior["method"]) == (
        patient_id,
        amount,
        "card",
    ):
        yield from _result(job_row, ChargeResult.TOPPED_UP)  # credited already
        return ()
    if prior is not None or amount != job_row["amount"]:
        why = "reference" if prior is not None else "amount"
        return (yield from _reverse(tx, kiosk, job_row, terminal_ref, amount, None, why))
    yield from top_up(
        tx,
        TopUp(
            actor=kiosk.actor,
            patient_id=patient_id,
            amount=amount,
            method="card",
            reference=reference,
        ),
        deps,
    )
    yield from _result(job_row, ChargeResult.TOPPED_UP)
    return ()


def _reverse(
    tx: Tx,
    kiosk: Kiosk,
    job_row: Row,
    terminal_ref: str,
    amount: int,
    booking: Booking | None,
    why: str,
) -> Unit[tuple[KioskJob, ...]]:
    """A ``reversal`` of the charge (冲正) at once, and the patient told why."""
    yield from _result(job_row, ChargeResult.REVERSING)
    reversal = yield from queue_job(
        tx,
        kiosk,
        JobKind.REVERSAL,
        {"terminal_ref": terminal_ref},
        booking=None if booking is None else (booking.id, booking.booking_no),
        patient_id=job_row["patient_id"],
        amount=amount,
        terminal_ref=terminal_ref,
        of_job=job_row["job_id"],
    )
    message = yield from _message(tx, kiosk, WHY.get(why, CHANGED) + SORRY)
    return (reversal, message)


def _message(tx: Tx, kiosk: Kiosk, text: str) -> Unit[KioskJob]:
    return (
        yield from queue_job(
            tx,
            kiosk,
            JobKind.SHOW_MESSAGE,
            {"text": text, "seconds": MESSAGE_SECONDS},
            expires_at=tx.now + MESSAGE_LIFETIME,
        )
    )
