"""#9 item 8 over HTTP: a top-up or a payment sent again under its reference answers as the
first did (200, the same body) and moves money once; a reference reused for a different
request is a 422 the client must not retry blindly."""

from __future__ import annotations

import asyncio

from hospital_api import schemas as s
from tests.hospital_api.helpers import TOMORROW
from tests.support.world import phone, resident_id


async def _patient(api, world):
    await world.basic(TOMORROW)
    his = await api.token("his", "H001")
    status, patient = await api.call(
        "POST",
        "/patients",
        his,
        json={"name": "李四", "id_number": resident_id(1), "phone": phone(1)},
    )
    assert status == 201, patient
    return his, patient


async def test_a_top_up_sent_again_answers_as_the_first_and_credits_once(api, world):
    his, patient = await _patient(api, world)
    path = f"/patients/{patient['id']}/top-up"
    body = {"amount": 10000, "method": "card", "reference": "POS-20260710-0001"}
    status, first = await api.call("POST", path, his, json=body)
    assert status == 200, first
    s.PatientOut.model_validate(first)
    answers = await asyncio.gather(*(api.call("POST", path, his, json=body) for _ in range(5)))
    assert answers == [(200, first)] * 5
    assert first["balance"] == 10000
    status, now = await api.call("GET", f"/patients/{patient['id']}", his)
    assert now["balance"] == 10000

    status, problem = await api.call("POST", path, his, json=body | {"amount": 20000})
    assert status == 422, problem
    assert problem["code"] == "idempotency_key_reused"
    status, now = await api.call("GET", f"/patients/{patient['id']}", his)
    assert now["balance"] == 10000


async def test_a_payment_sent_again_answers_as_the_first_and_debits_once(api, world):
    his, patient = await _patient(api, world)
    await api.call("POST", f"/patients/{patient['id']}/top-up", his, json={"amount": 10000})
    status, slots = await api.call("GET", f"/slots?date={TOMORROW}&doctor=00868", his)
    slot_id = slots["items"][0]["slot_id"]
    status, booked = await api.call(
        "POST", "/bookings", his, json={"slot_id": slot_id, "patient_id": patient["id"]}
    )
    assert status == 201, booked
    path = f"/bookings/{booked['booking_no']}/pay"
    body = {"method": "balance", "reference": "TXN-9"}
    status, first = await api.call("POST", path, his, json=body)
    assert status == 200, first
    status, again = await api.call("POST", path, his, json=body)
    assert (status, again) == (200, first)
    status, now = await api.call("GET", f"/patients/{patient['id']}", his)
    assert now["balance"] == 10000 - first["paid"]
