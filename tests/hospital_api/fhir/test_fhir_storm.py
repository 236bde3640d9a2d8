"""1,000 concurrent $book for a slot of 10 places book exactly 10: the others get an
OperationOutcome naming slot_full, and the store agrees (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import time

import aiohttp

from booking_core.bookings import ACTIVE_SQL
from booking_core.kernel.unit import val
from tests.hospital_api.fhir.helpers import (
    Fhir,
    appointment_for,
    card_numbers,
    error_code,
    make_root,
    parameters,
)
from tests.hospital_api.helpers import TOMORROW
from tests.support.world import World, first_slot

PATIENTS = 1000
PLACES = 10
CLIENT_CONNECTIONS = 200  # many requests in flight at once, within the server's listen backlog


async def test_a_thousand_books_on_ten_places_book_ten(aiohttp_client, services):
    world = World(services)
    session = await world.basic(
        TOMORROW, places=PLACES, start=time(8, 0), end=time(12, 0), slot_minutes=240
    )
    slot_id = await first_slot(services, session.id)
    patients = await world.patients(PATIENTS)
    cards = await card_numbers(services)
    client = await aiohttp_client(
        make_root(services), connector=aiohttp.TCPConnector(limit=CLIENT_CONNECTIONS)
    )
    fhir = Fhir(client, services)
    his = await fhir.token("his", "H001")
    await asyncio.gather(*(fhir.get("/metadata") for _ in range(CLIENT_CONNECTIONS)))

    def book(patient_id: int):
        wanted = appointment_for(slot_id, "H001", cards[patient_id])
        body = parameters(appointment_resource=wanted)
        return fhir.call("POST", "/Appointment/$book", his, json=body)

    answers = await asyncio.gather(*(book(p) for p in patients))

    def stored(tx):
        booked = yield val("SELECT booked FROM slots WHERE id = ?", slot_id)
        active = yield val(
            f"SELECT count(*) FROM bookings WHERE slot_id = ? AND status IN {ACTIVE_SQL}", slot_id
        )
        return booked, active

    statuses = Counter(status for status, _ in answers)
    codes = Counter(error_code(body) for status, body in answers if status != 201)
    booked = [body for status, body in answers if status == 201]
    assert statuses == {201: PLACES, 409: PATIENTS - PLACES}, statuses
    assert codes == {"slot_full": PATIENTS - PLACES}
    assert {b["status"] for b in booked} == {"booked"}
    assert len({b["id"] for b in booked}) == PLACES
    assert await services.read(stored) == (PLACES, PLACES)
