"""The text a patient gets when a late payment goes back (超时支付, #15): the booking, the
amount and that it returns the way it came, in one segment."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core import bookings
from booking_core.bookings.late import record_late_refund
from booking_core.bookings.repo import booking_by_no
from booking_core.kernel.actor import SYSTEM, Channel
from booking_core.kernel.unit import rows
from sms.notifier import Notifier
from sms.replies import Replies
from tests.support.world import first_slot

TOMORROW = date(2026, 7, 11)
PHONE = "13912345678"


@pytest.fixture
def notifier(services) -> Notifier:
    return Notifier(services, Replies(), "twilio", consumer="test")


async def _bodies(services) -> list[tuple[str, str]]:
    def read(tx):
        found = yield rows("SELECT kind, body FROM messages WHERE direction = 'out' ORDER BY id")
        return [(r["kind"], r["body"]) for r in found]

    return await services.read(read)


async def test_a_late_payment_sent_back_is_texted_with_the_amount(notifier, world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient(phone_no=PHONE)
    view = await services.handle(
        bookings.BookSlot(
            slot_id=await first_slot(services, session.id),
            patient_id=patient.id,
            channel=Channel.SMS,  # booked by text: the refund is texted all the same
        )
    )

    def refund(tx):
        booking = yield from booking_by_no(view.booking.booking_no)
        yield from record_late_refund(tx, booking, SYSTEM, 5000, "card")

    await services.store.write(refund)
    while await notifier.run_once():
        pass
    kind, body = (await _bodies(services))[-1]
    assert kind == "cancellation"
    assert "50元原路退回" in body
    assert view.booking.booking_no in body
    assert len(body) <= 70
    en = Replies().notice("cancellation", view, lang="en", reason="late_payment")
    assert "goes back the way it came" in en
