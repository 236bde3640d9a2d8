"""Late payment (超时支付, #15), on both stores, one second after the hold's end: the
hospital's ``late_payment`` rule refunds it (a balance never debited, a kiosk's card charge
reversed and the patient texted) or, with ``confirm_if_free``, gives the booking its place
again under the capacity guard and confirms it; a place taken meanwhile means a refund.
Money moves once per reference, never without a booking; every step audited."""

from __future__ import annotations

import asyncio

import pytest

from booking_core import bookings, kiosks, payments
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import BookingError, InvalidState
from booking_core.rules import RuleKey
from tests.booking_core.helpers import audit_rows, booked, events, last_event_id, set_rule
from tests.booking_core.kiosks.hall import FEE, balance, booking_row, hall, ledger

REF = "100000000001"
LATE = {"minutes": 15, "seconds": 1}  # one second after the 15-minute hold ended


async def _late_hold(services, clock, *, mode: str, places: int = 2, swept: bool = True):
    """A prepaid hold on tomorrow's first slot, its end passed by a second (and the sweep
    run when ``swept``); the hall, the booking number."""
    h = await hall(services, prepay=True, places=places)
    await set_rule(services, RuleKey.LATE_PAYMENT, mode)
    no = await h.book(h.tomorrow[0])
    clock.advance(**LATE)
    if swept:
        assert await services.handle(bookings.ExpireHolds()) == 1
    return h, no


def _top_up(h):
    return payments.TopUp(patient_id=h.patient.id, amount=FEE)


def _pay(no: str, method: str = "balance", reference: str | None = None):
    return bookings.PayBooking(booking_no=no, method=method, reference=reference)


# --- paid from the balance, at a desk or by the API ---------------------------------------


@pytest.mark.parametrize("swept", [True, False], ids=["swept", "before_the_sweep"])
async def test_refund_mode_refuses_a_late_balance_payment_and_moves_nothing(services, clock, swept):
    h, no = await _late_hold(services, clock, mode="refund", swept=swept)
    await services.handle(_top_up(h))
    with pytest.raises(InvalidState) as err:
        await services.handle(_pay(no))
    assert err.value.status == ("cancelled" if swept else "hold_expired")
    assert await balance(services, h.patient.id) == FEE  # never left the balance
    assert [row[0] for row in await ledger(services)] == ["top_up"]


@pytest.mark.parametrize("swept", [True, False], ids=["swept", "before_the_sweep"])
async def test_confirm_if_free_takes_the_place_again_and_confirms(services, clock, swept):
    h, no = await _late_hold(services, clock, mode="confirm_if_free", swept=swept)
    await services.handle(_top_up(h))
    assert await booked(services, h.tomorrow[0]) == (0 if swept else 1)
    view = await services.handle(_pay(no, reference="pay-1"))
    assert (view.booking.status, view.booking.paid) == (bookings.BookingStatus.CONFIRMED, FEE)
    assert await booked(services, h.tomorrow[0]) == 1
    assert await balance(services, h.patient.id) == 0
    again = await services.handle(_pay(no, reference="pay-1"))  # the same payment resent
    assert again.booking.status is bookings.BookingStatus.CONFIRMED
    assert [r[0] for r in await ledger(services)] == ["top_up", "payment"]  # moved once
    actions = [r["action"] for r in await audit_rows(services, no)]
    assert "payment.late_confirmed" in actions
    assert actions[-1] == "booking.confirmed"


async def test_confirm_if_free_refuses_when_the_place_was_taken_again(services, clock):
    h, no = await _late_hold(services, clock, mode="confirm_if_free", places=1)
    await services.handle(_top_up(h))
    other = await h.world.patient("王五")
    await h.book(h.tomorrow[0], other)  # the freed place went to someone else
    with pytest.raises(InvalidState):
        await services.handle(_pay(no))
    assert await booked(services, h.tomorrow[0]) == 1
    assert await balance(services, h.patient.id) == FEE
    assert (await booking_row(services, no))["status"] == "cancelled"


async def test_control_without_the_capacity_guard_the_late_payment_overbooks(services, clock):
    """The negative control: the same late payment with the capacity check switched off
    (``unsafe_capacity_check``) takes a place the slot does not have."""
    h, no = await _late_hold(services, clock, mode="confirm_if_free", places=1)
    await services.handle(_top_up(h))
    await h.book(h.tomorrow[0], await h.world.patient("王五"))
    services.store.unsafe_capacity_check = True
    await services.handle(_pay(no))
    assert await booked(services, h.tomorrow[0]) == 2  # over the capacity of 1


# --- a kiosk's card charge acked late ----------------------------------------------------------


async def _charged_late(services, clock, *, mode: str, retaken: bool = False):
    h = await hall(services, prepay=True, places=1)
    await set_rule(services, RuleKey.LATE_PAYMENT, mode)
    no = await h.book(h.tomorrow[0])
    charge = await services.handle(kiosks.PayAtKiosk(kiosk_id=h.kiosk.kiosk_id, booking_no=no))
    clock.advance(**LATE)
    await services.handle(bookings.ExpireHolds())
    if retaken:
        await h.book(h.tomorrow[0], await h.world.patient("王五"))
    before = await last_event_id(services)
    acked = await h.charge_done(charge, ref=REF)
    return h, no, acked, [e for e in await events(services, before)]


@pytest.mark.parametrize(
    ("mode", "retaken"),
    [("refund", False), ("confirm_if_free", True)],
    ids=["refund", "confirm_if_free_but_taken"],
)
async def test_a_late_card_charge_is_reversed_and_the_patient_texted(
    services, clock, mode, retaken
):
    _h, no, acked, happened = await _charged_late(services, clock, mode=mode, retaken=retaken)
    reversal, message = acked.queued
    assert (reversal.kind, reversal.payload, reversal.amount) == (
        "reversal",
        {"terminal_ref": REF},
        FEE,
    )
    assert message.payload["text"].startswith("支付未成功：预约保留时间已过")
    refunded = [e for e in happened if e.topic == "booking.late_payment_refunded"]
    assert [(e.payload["amount"], e.payload["method"]) for e in refunded] == [(FEE, "card")]
    assert await ledger(services) == []  # never applied: no money without a booking
    assert (await booking_row(services, no))["status"] == "cancelled"
    actions = [r["action"] for r in await audit_rows(services, no)]
    assert actions[-1] == "booking.late_payment_refunded"


async def test_a_late_card_charge_confirms_when_the_place_is_free(services, clock):
    h, no, acked, happened = await _charged_late(services, clock, mode="confirm_if_free")
    row = await booking_row(services, no)
    assert (row["status"], row["paid"], row["pay_method"]) == ("confirmed", FEE, "card")
    assert [j.kind for j in acked.queued] == ["show_message"]  # paid: tomorrow's visit
    topics = [e.topic for e in happened]
    assert "booking.confirmed" in topics
    assert "booking.late_payment_refunded" not in topics
    assert await ledger(services) == [("payment", "card", -FEE, f"{h.kiosk.kiosk_id}:{REF}")]
    assert await booked(services, h.tomorrow[0]) == 1


async def test_a_late_payment_racing_bookings_for_its_freed_place_never_overbooks(
    race_services, clock
):
    """The freed place wanted at once by a late payment (confirm_if_free) and by twenty new
    bookings: exactly one gets it, the slot stays within its capacity; a refused late
    payment moves no money."""
    h, no = await _late_hold(race_services, clock, mode="confirm_if_free", places=1)
    await race_services.handle(_top_up(h))
    others = await h.world.patients(20)
    results = await asyncio.gather(
        race_services.handle(_pay(no)),
        *(
            race_services.handle(
                bookings.BookSlot(slot_id=h.tomorrow[0], patient_id=p, channel=Channel.API)
            )
            for p in others
        ),
        return_exceptions=True,
    )
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, BookingError)
    ]
    assert unexpected == []
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1
    assert await booked(race_services, h.tomorrow[0]) == 1
    paid = not isinstance(results[0], BaseException)
    assert await balance(race_services, h.patient.id) == (0 if paid else FEE)
