"""Money at the kiosk (#12 flows 2 and 4), on both stores: a held booking's charge, applied
by its ack in the same unit (the booking paid by card under the terminal's reference,
checked in and printed at once) or, when it can no longer be applied, reversed at once with
the patient told why; the ledger balanced either way; a repeated ack moving money once; a
top-up credited once per terminal reference; a refund of a cancelled card payment; a
reversal whose outcome is unknown sent again under its own id."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking_core import bookings, kiosks
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import Forbidden, InvalidInput, InvalidState, NotFound
from booking_core.rules import RuleKey
from tests.booking_core.helpers import events, last_event_id, set_rule
from tests.booking_core.kiosks.hall import (
    FEE,
    HASH,
    balance,
    booking_row,
    hall,
    jobs,
    ledger,
    status_of,
)
from tests.support.world import local

REF = "100000000001"


def pay(h, booking_no: str, kiosk_id: str | None = None):
    return h.services.handle(
        kiosks.PayAtKiosk(kiosk_id=kiosk_id or h.kiosk.kiosk_id, booking_no=booking_no)
    )


def ledger_ref(h, ref: str = REF) -> str:
    return f"{h.kiosk.kiosk_id}:{ref}"


# --- paying a held booking -------------------------------------------------------------------


async def test_a_held_booking_is_charged_for_what_it_owes_until_its_hold_ends(services, clock):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    before = await last_event_id(services)
    charge = await pay(h, booking_no)
    assert (charge.kind, charge.purpose, charge.amount, charge.booking_no) == (
        "charge",
        "booking",
        FEE,
        booking_no,
    )
    assert charge.payload == {"amount": FEE, "purpose": "booking", "booking_no": booking_no}
    assert charge.expires_at == clock.now() + timedelta(minutes=15)  # the hold's end
    assert [e.topic for e in await events(services, before)] == ["kiosk.job_queued"]
    # the kiosk asks again (its reply was lost): the same charge, not a second one
    assert (await pay(h, booking_no)).job_id == charge.job_id
    assert len(await jobs(services, kind="charge")) == 1


async def test_only_a_held_booking_is_paid_at_the_kiosk(services, clock):
    h = await hall(services)
    confirmed = await h.book()  # no prepayment asked: confirmed, nothing to pay here
    with pytest.raises(InvalidState) as err:
        await pay(h, confirmed)
    assert err.value.params == {"status": "confirmed", "action": "pay"}
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    held = await h.book(h.today[1], await h.world.patient("王五"))
    clock.advance(minutes=15)  # the hold ended; the sweep has not run yet
    with pytest.raises(InvalidState) as expired:
        await pay(h, held)
    assert expired.value.params == {"status": "hold_expired", "action": "pay"}
    assert await jobs(services, kind="charge") == []


async def test_an_approved_charge_pays_checks_in_and_prints_at_once(services, clock):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    before = await last_event_id(services)
    clock.advance(minutes=1)

    acked = await h.charge_done(charge)

    assert acked.first
    assert (acked.job.status, acked.job.result, acked.job.terminal_ref) == ("done", "paid", REF)
    row = await booking_row(services, booking_no)
    assert (row["status"], row["paid"], row["pay_method"], row["queue_no"]) == (
        "checked_in",
        FEE,
        "card",
        1,
    )
    assert await ledger(services) == [("payment", "card", -FEE, ledger_ref(h))]
    [ticket] = acked.queued
    assert ticket.kind == "print_ticket"
    assert ticket.payload["paid_by"] == "银行卡 尾号0123"
    assert ticket.payload["queue_no"] == 1
    assert [e.topic for e in await events(services, before)] == [
        "booking.confirmed",
        "booking.checked_in",
        "kiosk.job_queued",
        "kiosk.job_acked",
    ]


async def test_tomorrows_booking_paid_at_the_kiosk_is_confirmed_and_the_patient_told_when(
    services,
):
    h = await hall(services, prepay=True)
    booking_no = await h.book(h.tomorrow[0])
    acked = await h.charge_done(await pay(h, booking_no))
    assert await status_of(services, booking_no) == "confirmed"
    [message] = acked.queued
    assert message.kind == "show_message"
    assert message.payload == {
        "text": "缴费成功。请于就诊当日（7月11日）到自助机签到取号。",
        "seconds": 20,
    }
    assert message.expires_at is not None


async def test_the_same_ack_twice_moves_money_once(services):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    first = await h.charge_done(charge)
    before = await last_event_id(services)
    again = await h.charge_done(charge)
    assert (first.first, again.first) == (True, False)
    assert again.queued == ()
    assert again.job == first.job
    assert await events(services, before) == []  # nothing at all changed
    assert await ledger(services) == [("payment", "card", -FEE, ledger_ref(h))]
    assert len(await jobs(services, kind="print_ticket")) == 1
    assert await jobs(services, kind="reversal") == []
    # a different ack of the same job afterwards changes nothing either
    late = await h.ack(charge.job_id, "failed", reason="timeout")
    assert (late.first, late.job.status) == (False, "done")


async def test_a_hold_that_expired_before_the_ack_is_reversed_and_the_patient_told(services, clock):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    clock.advance(minutes=15, seconds=3)  # approved at the last second, acked after the end

    acked = await h.charge_done(charge)

    reversal, message = acked.queued
    assert (reversal.kind, reversal.payload, reversal.amount, reversal.of_job) == (
        "reversal",
        {"terminal_ref": REF},
        FEE,
        charge.job_id,
    )
    assert reversal.expires_at is None  # money goes back however late
    assert message.kind == "show_message"
    assert message.payload["text"].startswith("支付未成功：预约保留时间已过")
    assert "原路退回" in message.payload["text"]
    assert acked.job.result == "reversing"
    row = await booking_row(services, booking_no)
    assert (row["status"], row["paid"]) == ("held", 0)  # the sweep releases it
    assert await ledger(services) == []  # never applied: nothing to balance
    await services.handle(bookings.ExpireHolds())
    assert await status_of(services, booking_no) == "cancelled"

    reversed_ = await h.ack(
        reversal.job_id, detail={"terminal_ref": "100000000002", "amount": FEE, "request_id": "r"}
    )
    assert (reversed_.job.status, reversed_.job.result) == ("done", "reversed")
    assert await ledger(services) == []


@pytest.mark.parametrize("change", ["cancelled", "paid_elsewhere", "amount"])
async def test_a_charge_that_can_no_longer_pay_its_booking_is_reversed(services, change):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    amount = FEE
    if change == "cancelled":
        await services.handle(bookings.CancelBooking(booking_no=booking_no))
    elif change == "paid_elsewhere":  # at the cashier's window meanwhile
        await services.handle(bookings.PayBooking(booking_no=booking_no, method="cash"))
    else:
        amount = FEE - 1  # the terminal took another sum than asked
    acked = await h.charge_done(charge, amount=amount)
    reversal, message = acked.queued
    assert reversal.payload == {"terminal_ref": REF}
    assert reversal.amount == amount
    words = {
        "cancelled": "支付未成功：该预约已取消。",
        "paid_elsewhere": "该预约已支付，无需再次付款。",
        "amount": "支付未成功：扣款金额与应付金额不符。",
    }
    assert message.payload["text"].startswith(words[change])
    assert ("payment", "card", -FEE, ledger_ref(h)) not in await ledger(services)


async def test_a_second_charge_of_a_paid_booking_is_reversed_and_the_first_stands(services):
    """The patient walked to another kiosk and paid there too: one charge pays, the other
    goes back."""
    h = await hall(services, prepay=True)
    other = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H001", name="2号机", password_hash=HASH)
    )
    booking_no = await h.book()
    here = await pay(h, booking_no)
    there = await pay(h, booking_no, other.kiosk_id)
    await h.charge_done(here)
    acked = await h.ack(
        there.job_id, kiosk_id=other.kiosk_id, detail={"terminal_ref": REF, "amount": FEE}
    )
    assert [j.kind for j in acked.queued] == ["reversal", "show_message"]
    assert all(j.kiosk_id == other.kiosk_id for j in acked.queued)
    # two terminals counting the same reference numbers pay under distinct references
    assert await ledger(services) == [("payment", "card", -FEE, ledger_ref(h))]


async def test_two_kiosks_whose_terminals_count_alike_both_take_payments(services):
    h = await hall(services, prepay=True)
    other = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H001", name="2号机", password_hash=HASH)
    )
    first = await h.book(h.today[0])
    second_patient = await h.world.patient("王五")
    second = await h.book(h.today[1], second_patient)
    await h.charge_done(await pay(h, first))
    charge = await pay(h, second, other.kiosk_id)
    acked = await h.ack(
        charge.job_id, kiosk_id=other.kiosk_id, detail={"terminal_ref": REF, "amount": FEE}
    )
    assert acked.job.result == "paid"
    assert {r[3] for r in await ledger(services)} == {ledger_ref(h), f"{other.kiosk_id}:{REF}"}


async def test_a_declined_charge_leaves_the_booking_held(services):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    acked = await h.ack(
        charge.job_id, "failed", reason="declined", message="余额不足", detail={"answer_code": "51"}
    )
    assert (acked.job.status, acked.job.reason, acked.job.detail) == (
        "failed",
        "declined",
        {"answer_code": "51"},
    )
    assert acked.queued == ()
    assert await status_of(services, booking_no) == "held"
    assert await ledger(services) == []
    again = await pay(h, booking_no)  # the patient tries another card: a new charge
    assert again.job_id != charge.job_id


async def test_an_ack_for_another_kiosks_job_is_not_found(services):
    h = await hall(services, prepay=True)
    other = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H001", name="2号机", password_hash=HASH)
    )
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    before = await last_event_id(services)
    with pytest.raises(NotFound) as err:
        await h.ack(charge.job_id, kiosk_id=other.kiosk_id, detail={"terminal_ref": REF})
    assert err.value.params == {"entity": "kiosk_job", "key": charge.job_id}
    with pytest.raises(NotFound):
        await h.ack("J0000000000000000")
    assert await events(services, before) == []
    [still] = await jobs(services, kind="charge")
    assert still.status == "queued"


async def test_a_done_charge_without_its_reference_is_refused_and_nothing_recorded(services):
    h = await hall(services, prepay=True)
    charge = await pay(h, await h.book())
    for detail in (
        {},
        {"terminal_ref": ""},
        {"terminal_ref": REF, "amount": "5000"},
        {"terminal_ref": REF, "amount": 10**40},  # beyond the store's integers
        {"terminal_ref": REF, "amount": 0},
    ):
        with pytest.raises(InvalidInput):
            await h.ack(charge.job_id, detail=detail)
    with pytest.raises(InvalidInput):
        await h.ack(charge.job_id, "maybe")
    [still] = await jobs(services, kind="charge")
    assert (still.status, still.detail) == ("queued", {})


async def test_a_disabled_kiosks_late_ack_still_applies_the_money(services):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    await services.handle(kiosks.MarkJobSent(job_id=charge.job_id))
    await services.handle(kiosks.DisableKiosk(kiosk_id=h.kiosk.kiosk_id))
    acked = await h.charge_done(charge)
    assert acked.job.result == "paid"
    assert await status_of(services, booking_no) == "checked_in"


# --- reversals and refunds sent again -----------------------------------------------------------


async def test_a_reversal_whose_outcome_is_unknown_is_sent_again_as_the_same_job(services, clock):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    await services.handle(bookings.CancelBooking(booking_no=booking_no))
    reversal, _message = (await h.charge_done(charge)).queued
    await services.handle(kiosks.RecordKioskStatus(kiosk_id=h.kiosk.kiosk_id, online=True))
    await services.handle(kiosks.MarkJobSent(job_id=reversal.job_id))
    unknown = {"request_id": "r1", "outcome_unknown": True}

    acked = await h.ack(reversal.job_id, "failed", reason="timeout", detail=unknown)

    assert acked.first
    assert (acked.job.status, acked.job.acked_at, acked.job.reason) == ("queued", None, "timeout")
    clock.advance(seconds=29)
    due = await services.read(kiosks.jobs_to_send, SYSTEM)
    assert reversal.job_id not in [j.job_id for j in due]
    clock.advance(seconds=1)
    due = await services.read(kiosks.jobs_to_send, SYSTEM)
    assert [j.job_id for j in due if j.kind == "reversal"] == [reversal.job_id]
    await services.handle(kiosks.MarkJobSent(job_id=reversal.job_id))
    done = await h.ack(reversal.job_id, detail={"terminal_ref": "100000000002", "amount": FEE})
    assert (done.first, done.job.status, done.job.result, done.job.attempts) == (
        True,
        "done",
        "reversed",
        2,
    )
    assert len(await jobs(services, kind="reversal")) == 1  # never a second reversal


async def test_a_reversal_refused_by_the_terminal_stays_failed_for_a_person(services):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    charge = await pay(h, booking_no)
    await services.handle(bookings.CancelBooking(booking_no=booking_no))
    reversal, _ = (await h.charge_done(charge)).queued
    acked = await h.ack(reversal.job_id, "failed", reason="declined", detail={"answer_code": "25"})
    assert acked.job.status == "failed"
    [overview] = await services.read(kiosks.kiosks, SYSTEM)
    assert reversal.job_id in [f.job_id for f in overview.failures]


async def test_a_card_payment_of_a_cancelled_booking_is_refunded_at_the_kiosk_once(services):
    h = await hall(services, prepay=True)
    booking_no = await h.book(h.tomorrow[0])
    charge = await pay(h, booking_no)
    await h.charge_done(charge)
    assert (
        await services.handle(kiosks.RefundAtKiosk(booking_no=booking_no)) is None
    )  # not cancelled
    await services.handle(bookings.CancelBooking(booking_no=booking_no))
    refund = await services.handle(kiosks.RefundAtKiosk(booking_no=booking_no))
    assert refund is not None
    assert (refund.kind, refund.kiosk_id, refund.payload, refund.of_job) == (
        "refund",
        h.kiosk.kiosk_id,
        {"amount": FEE, "terminal_ref": REF},
        charge.job_id,
    )
    again = await services.handle(kiosks.RefundAtKiosk(booking_no=booking_no))
    assert again is not None
    assert again.job_id == refund.job_id
    unknown = await h.ack(
        refund.job_id, "failed", reason="unavailable", detail={"outcome_unknown": True}
    )
    assert unknown.job.status == "queued"
    done = await h.ack(refund.job_id, detail={"terminal_ref": "100000000003", "amount": FEE})
    assert (done.job.status, done.job.result) == ("done", "refunded")
    # the ledger: paid by card, refunded by card (bookings' cancellation wrote it)
    assert [(k, m, a) for k, m, a, _ in await ledger(services)] == [
        ("payment", "card", -FEE),
        ("refund", "card", FEE),
    ]


async def test_a_booking_paid_elsewhere_has_no_kiosk_refund(services):
    h = await hall(services)
    booking_no = await h.book(h.tomorrow[0])
    await services.handle(bookings.PayBooking(booking_no=booking_no, method="cash"))
    await services.handle(bookings.CancelBooking(booking_no=booking_no))
    assert await services.handle(kiosks.RefundAtKiosk(booking_no=booking_no)) is None


# --- top-ups (预交金充值) ----------------------------------------------------------------------


async def test_a_top_up_at_the_kiosk_is_credited_once_per_terminal_reference(services, clock):
    h = await hall(services)
    top_up = kiosks.TopUpAtKiosk(
        kiosk_id=h.kiosk.kiosk_id, card_no=h.patient.card_no, amount=20_000
    )
    charge = await services.handle(top_up)
    assert charge.payload == {"amount": 20_000, "purpose": "top_up", "card_no": h.patient.card_no}
    assert charge.expires_at == clock.now() + timedelta(minutes=3)
    assert (await services.handle(top_up)).job_id == charge.job_id  # asked again: the same

    first = await h.charge_done(charge, amount=20_000)
    again = await h.charge_done(charge, amount=20_000)

    assert (first.first, again.first) == (True, False)
    assert first.job.result == "topped_up"
    assert await balance(services, h.patient.id) == 20_000
    assert await ledger(services) == [("top_up", "card", 20_000, ledger_ref(h))]
    # a second top-up after the first is done is a new charge
    assert (await services.handle(top_up)).job_id != charge.job_id


async def test_a_top_up_is_refused_for_an_unknown_card_or_a_wrong_sum(services):
    h = await hall(services)
    with pytest.raises(NotFound):
        await services.handle(
            kiosks.TopUpAtKiosk(kiosk_id=h.kiosk.kiosk_id, card_no="000000000", amount=100)
        )
    for amount in (0, -5, 500_001):
        with pytest.raises(InvalidInput):
            await services.handle(
                kiosks.TopUpAtKiosk(
                    kiosk_id=h.kiosk.kiosk_id, card_no=h.patient.card_no, amount=amount
                )
            )
    await services.handle(kiosks.DisableKiosk(kiosk_id=h.kiosk.kiosk_id))
    with pytest.raises(Forbidden):
        await services.handle(
            kiosks.TopUpAtKiosk(kiosk_id=h.kiosk.kiosk_id, card_no=h.patient.card_no, amount=100)
        )


async def test_a_top_up_charged_another_sum_than_asked_is_reversed(services):
    h = await hall(services)
    charge = await services.handle(
        kiosks.TopUpAtKiosk(kiosk_id=h.kiosk.kiosk_id, card_no=h.patient.card_no, amount=10_000)
    )
    acked = await h.charge_done(charge, amount=100_000)
    assert [j.kind for j in acked.queued] == ["reversal", "show_message"]
    assert await balance(services, h.patient.id) == 0
    assert await ledger(services) == []


async def test_the_expiry_of_a_charge_is_the_holds(services, clock):
    h = await hall(services, prepay=True)
    booking_no = await h.book()
    row = await booking_row(services, booking_no)
    charge = await pay(h, booking_no)
    assert charge.expires_at == local(2026, 7, 10, 9, 15)
    assert int(charge.expires_at.timestamp()) == row["hold_expires_at"]
