"""Department and doctor lists are kept briefly per hospital (in the core's one cache); a
catalogue change made in this process is heard at once, one made elsewhere within the TTL."""

from __future__ import annotations

from booking_core import bookings, rules
from booking_core.catalogue import departments
from booking_core.kernel.actor import SYSTEM
from booking_core.rules import Rule, RuleKey
from tests.ivr.helpers import TOMORROW
from tests.ivr.test_calls import slot_at


async def test_catalogue_and_rule_commands_empty_the_cache_a_booking_does_not(
    services, world, hospital, patient
):
    """The core's one cache (its own tests: tests/booking_core/test_cache.py) is emptied by
    the commands that change what it keeps, and only by them."""
    reads = []

    def counted(tx, code: str):
        reads.append(code)
        return (yield from departments(tx, code, SYSTEM))

    await services.cached(counted, "H001")
    await services.cached(counted, "H001")
    assert len(reads) == 1  # kept
    await world.department("103", "眼科")
    await services.cached(counted, "H001")
    assert len(reads) == 2
    await world.doctor("00950", "103")
    await services.cached(counted, "H001")
    assert len(reads) == 3
    await services.handle(rules.SetRule(rule=Rule(key=RuleKey.HOLD_MINUTES, value=20)))
    await services.cached(counted, "H001")
    assert len(reads) == 4
    slot = await slot_at(services, "00868", TOMORROW, "0800")
    await services.handle(
        bookings.BookSlot(slot_id=slot.slot_id, patient_id=patient.id, channel="sms")
    )
    await services.cached(counted, "H001")
    assert len(reads) == 4  # a booking changes nothing the cache keeps


async def test_a_caller_hears_a_department_added_during_the_call(twilio, world):
    call = twilio.call()
    await call.dial()
    await call.press("3")  # a doctor's schedule
    await call.press("9")  # hear the departments
    assert "心内科" in call.text()
    assert "眼科" not in call.text()
    await world.department("103", "眼科")
    await call.press("*")
    await call.press("9")
    assert "眼科" in call.text()


async def test_a_caller_picks_a_doctor_added_during_the_call(twilio, world, patient):
    call = twilio.call()
    await call.dial()
    for digits in ("1", patient.card_no, "101", "9"):
        await call.press(digits)  # doctors of 心内科 read (and kept)
    assert "医生00950" not in call.text()
    await world.doctor("00950", "101")
    await call.press("*")
    await call.press("00950")
    assert "医生00950" in call.text()
