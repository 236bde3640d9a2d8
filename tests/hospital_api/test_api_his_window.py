"""Payments and check-ins made at the hospital's own window come in through the API from
the HIS's token (channel his), and the booking's life follows: confirmed or paid, then
checked in with a queue number, each once however often the HIS sends it (by its
reference), with its event and audit record."""

from __future__ import annotations

import asyncio

from booking_core.rules import RuleKey
from hospital_api import schemas as s
from tests.booking_core.helpers import audit_rows, events, last_event_id, set_rule
from tests.hospital_api.helpers import TOMORROW
from tests.support.world import local, phone, resident_id


async def booked(api, world, his, n: int = 2) -> list[dict]:
    """``n`` bookings of new patients, made by the HIS, on TOMORROW's first slots."""
    status, slots = await api.call("GET", f"/slots?date={TOMORROW}&doctor=00868", his)
    assert status == 200, slots
    out = []
    for i in range(n):
        status, patient = await api.call(
            "POST", "/patients", his,
            json={"name": f"患者{i}", "id_number": resident_id(), "phone": phone()},
        )  # fmt: skip
        assert status == 201, patient
        status, booking = await api.call(
            "POST", "/bookings", his,
            json={"slot_id": slots["items"][i]["slot_id"], "patient_id": patient["id"]},
        )  # fmt: skip
        assert status == 201, booking
        out.append(booking)
    return out


async def test_a_window_payment_confirms_once_by_its_reference(api, world):
    await world.basic(TOMORROW, doctor={"fee": 5000})
    await set_rule(api.services, RuleKey.PREPAY_REQUIRED, True)
    his = await api.token("his", "H001", name="his-window")
    first, second = await booked(api, world, his)
    assert first["status"] == "held"
    mark = await last_event_id(api.services)
    path = f"/bookings/{first['booking_no']}/pay"
    body = {"method": "cash", "amount": 5000, "reference": "WIN-0001"}
    status, paid = await api.call("POST", path, his, json=body)
    assert status == 200, paid
    s.BookingOut.model_validate(paid)
    assert (paid["status"], paid["paid"], paid["hold_expires_at"]) == ("confirmed", 5000, None)
    for _ in range(3):  # the HIS's retries
        assert await api.call("POST", path, his, json=body) == (200, paid)
    confirmed = [e for e in await events(api.services, mark) if e.topic == "booking.confirmed"]
    assert len(confirmed) == 1
    assert confirmed[0].payload["method"] == "cash"
    audited = await audit_rows(api.services, first["booking_no"])
    assert [(r["actor"], r["action"]) for r in audited if r["action"] == "booking.confirmed"] == [
        ("token:his-window", "booking.confirmed")
    ]

    other = f"/bookings/{second['booking_no']}/pay"
    status, problem = await api.call("POST", other, his, json=body)  # its reference, reused
    assert (status, problem["code"]) == (422, "idempotency_key_reused")
    status, problem = await api.call(
        "POST", other, his, json={"method": "card", "amount": 4999, "reference": "POS-7"}
    )
    assert (status, problem["code"], problem["field"]) == (422, "invalid_input", "amount")
    status, paid2 = await api.call(
        "POST", other, his, json={"method": "card", "amount": 5000, "reference": "POS-7"}
    )
    assert (status, paid2["status"]) == (200, "confirmed")


async def test_a_window_check_in_gives_one_queue_number_by_its_reference(api, world, clock):
    await world.basic(TOMORROW)
    his = await api.token("his", "H001", name="his-window")
    first, second = await booked(api, world, his)
    clock.set(local(2026, 7, 11, 7, 45))  # the clinic day, before the session
    mark = await last_event_id(api.services)
    path = f"/bookings/{first['booking_no']}/check-in"
    status, checked = await api.call("POST", path, his, json={"reference": "REG-88"})
    assert status == 200, checked
    assert (checked["status"], checked["queue_no"]) == ("checked_in", 1)
    for _ in range(3):
        assert await api.call("POST", path, his, json={"reference": "REG-88"}) == (200, checked)
    topics = [e.topic for e in await events(api.services, mark)]
    assert topics == ["booking.checked_in"]
    audited = await audit_rows(api.services, first["booking_no"])
    assert ("token:his-window", "booking.checked_in") in [
        (r["actor"], r["action"]) for r in audited
    ]

    status, problem = await api.call("POST", path, his, json={})  # without it: not again
    assert (status, problem["code"]) == (409, "invalid_state")
    other = f"/bookings/{second['booking_no']}/check-in"
    status, problem = await api.call("POST", other, his, json={"reference": "REG-88"})
    assert (status, problem["code"]) == (422, "idempotency_key_reused")
    status, checked2 = await api.call("POST", other, his, json={"reference": "REG-89"})
    assert (status, checked2["queue_no"]) == (200, 2)


async def test_a_check_in_reference_is_one_hospitals(api, world, clock):
    await world.basic(TOMORROW)
    await world.at("H002").basic(TOMORROW)
    his1 = await api.token("his", "H001")
    his2 = await api.token("his", "H002")
    [one] = await booked(api, world, his1, 1)
    status, slots = await api.call("GET", f"/slots?date={TOMORROW}&doctor=00868", his2)
    status, patient = await api.call(
        "POST", "/patients", his2, json={"name": "乙", "id_number": resident_id(), "phone": phone()}
    )
    status, two = await api.call(
        "POST", "/bookings", his2,
        json={"slot_id": slots["items"][0]["slot_id"], "patient_id": patient["id"]},
    )  # fmt: skip
    assert status == 201, two
    clock.set(local(2026, 7, 11, 7, 45))
    for auth, booking in ((his1, one), (his2, two)):  # each hospital's HIS numbers its own
        status, body = await api.call(
            "POST", f"/bookings/{booking['booking_no']}/check-in", auth, json={"reference": "1"}
        )
        assert (status, body["queue_no"]) == (200, 1)


async def test_a_check_in_sent_many_times_at_once_gives_one_queue_number(api, world, clock):
    await world.basic(TOMORROW)
    his = await api.token("his", "H001")
    [one] = await booked(api, world, his, 1)
    clock.set(local(2026, 7, 11, 7, 45))
    mark = await last_event_id(api.services)
    path = f"/bookings/{one['booking_no']}/check-in"
    answers = await asyncio.gather(
        *(api.call("POST", path, his, json={"reference": "REG-1"}) for _ in range(8))
    )
    assert {status for status, _ in answers} == {200}
    assert {body["queue_no"] for _, body in answers} == {1}
    assert [e.topic for e in await events(api.services, mark)] == ["booking.checked_in"]
