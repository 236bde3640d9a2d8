"""The IVR door reports each confirm attempt to ``on_booking``, as the API door does; a
confirm step claims the step in the booking's own transaction."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from booking_core import bookings
from engine.metrics import Metrics
from tests.ivr.helpers import TOMORROW, Twilio, make_root, path_of
from tests.ivr.test_calls import slot_at

PATH = ("1", None, "101", "00868", "0711", "0830")


@pytest.fixture
def heard() -> list[tuple[str, str]]:
    return []


@pytest.fixture
async def counted(aiohttp_client, services, hospital, heard) -> Twilio:
    root = make_root(services, on_booking=lambda channel, result: heard.append((channel, result)))
    return Twilio(await aiohttp_client(root), services)


async def walk_to_confirm(call, patient):
    await call.dial()
    for digits in PATH:
        await call.press(digits or patient.card_no)


async def test_a_booked_call_counts_one_created(counted, patient, heard):
    call = counted.call()
    await walk_to_confirm(call, patient)
    assert heard == []  # lists and read-backs are no booking attempts
    await call.press("1")
    assert heard == [("ivr", "created")]


async def test_a_full_slot_counts_its_refusal(counted, patient, heard, world, services):
    call = counted.call()
    await walk_to_confirm(call, patient)
    late = await slot_at(services, "00868", TOMORROW, "0830")
    for name in ("赵六", "钱七"):
        other = await world.patient(name)
        await services.handle(
            bookings.BookSlot(slot_id=late.slot_id, patient_id=other.id, channel="sms")
        )
    await call.press("1")
    assert "这个时段的号已经约满了" in call.text()
    assert heard == [("ivr", "slot_full")]


async def test_a_replayed_confirmation_is_not_counted_again(counted, patient, heard):
    call = counted.call()
    await walk_to_confirm(call, patient)
    confirm = path_of(call.doc.find("./Gather").get("action"))
    await call.press("1")
    status, _ = await counted.post(confirm, call.params(Digits="1"))  # Twilio retries
    assert status == 200
    assert heard == [("ivr", "created")]


async def test_a_failing_counter_does_not_fail_the_call(
    aiohttp_client, services, hospital, patient
):
    def broken(channel, result):
        raise RuntimeError("metrics down")

    twilio = Twilio(await aiohttp_client(make_root(services, on_booking=broken)), services)
    call = twilio.call()
    await walk_to_confirm(call, patient)
    await call.press("1")
    assert "短信" in call.text()


async def test_the_metric_counts_ivr_bookings(aiohttp_client, services, hospital, patient):
    metrics = Metrics()
    root = make_root(services, on_booking=metrics.record_booking)
    twilio = Twilio(await aiohttp_client(root), services)
    call = twilio.call()
    await walk_to_confirm(call, patient)
    await call.press("1")
    assert b'guahao_bookings_total{channel="ivr",result="created"} 1.0' in metrics.exposition()


async def test_a_confirm_step_claims_in_the_booking_transaction(counted, patient, heard):
    call = counted.call()
    await walk_to_confirm(call, patient)
    handled = []
    handle = counted.services.handle

    async def spy(command):
        handled.append(type(command).__name__)
        return await handle(command)

    counted.services.handle = spy
    confirm = path_of(call.doc.find("./Gather").get("action"))
    await call.press("1")
    answer = call.text()
    assert "短信" in answer
    assert handled == ["ClaimStepAndBook"]  # one durable commit: claim, booking and answer
    status, again = await counted.post(confirm, call.params(Digits="1"))  # a replay
    assert status == 200
    assert ET.fromstring(again.encode()).findtext(".//Say") == call.says()[0]
    assert handled == ["ClaimStepAndBook"]  # the stored answer, nothing done again
    assert len(await counted.rows("bookings")) == 1


async def test_a_refused_booking_claims_the_step_on_its_own(
    counted, patient, heard, world, services
):
    call = counted.call()
    await walk_to_confirm(call, patient)
    late = await slot_at(services, "00868", TOMORROW, "0830")
    for name in ("赵六", "钱七"):
        other = await world.patient(name)
        await services.handle(
            bookings.BookSlot(slot_id=late.slot_id, patient_id=other.id, channel="sms")
        )
    handled = []
    handle = services.handle

    async def spy(command):
        handled.append(type(command).__name__)
        return await handle(command)

    services.handle = spy
    confirm = path_of(call.doc.find("./Gather").get("action"))
    await call.press("1")
    assert handled == ["ClaimStepAndBook", "ClaimCallStep", "FinishCallStep"]
    status, again = await counted.post(confirm, call.params(Digits="1"))  # a retry: replayed
    assert status == 200
    assert "这个时段的号已经约满了" in again
    assert heard == [("ivr", "slot_full")]
    rows = await counted.rows("call_steps")
    assert rows["call_steps"] == 8  # incoming, 6 answers, the refused confirm
