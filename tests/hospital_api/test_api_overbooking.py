"""No overbooking over HTTP: 1,000 concurrent POST /bookings for a slot of 10 places,
on SQLite and on PostgreSQL; and the negative control that proves the test can fail."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import time as clock_time

import aiohttp

from booking_core.bookings import ACTIVE_SQL
from booking_core.bus import BookingServices
from booking_core.kernel.unit import val
from tests.hospital_api.helpers import Api, hospital_with_session, make_root
from tests.support.world import World, first_slot

PATIENTS = 1000
PLACES = 10
CLIENT_CONNECTIONS = 200  # many requests in flight at once, within the server's listen backlog


async def booking_storm(aiohttp_client, services: BookingServices) -> dict:
    session = await hospital_with_session(
        services,
        "H001",
        places=PLACES,
        start=clock_time(8, 0),
        end=clock_time(12, 0),
        slot_minutes=240,  # one slot
    )
    slot_id = await first_slot(services, session.id)
    patients = await World(services).patients(PATIENTS)
    assert len(set(patients)) == PATIENTS
    outcomes: list = []
    client = await aiohttp_client(
        make_root(services, outcomes),
        connector=aiohttp.TCPConnector(limit=CLIENT_CONNECTIONS),
    )
    api = Api(client, services, outcomes)
    his = await api.token("his", "H001")
    # open the connections (and warm the token cache) first, so the storm arrives at once
    await asyncio.gather(
        *(api.call("GET", f"/patients/{p}", his) for p in patients[:CLIENT_CONNECTIONS])
    )

    started = time.perf_counter()
    answers = await asyncio.gather(
        *(
            api.call("POST", "/bookings", his, json={"slot_id": slot_id, "patient_id": p})
            for p in patients
        )
    )
    elapsed = time.perf_counter() - started

    def stored(tx):
        booked = yield val("SELECT booked FROM slots WHERE id = ?", slot_id)
        active = yield val(
            f"SELECT count(*) FROM bookings WHERE slot_id = ? AND status IN {ACTIVE_SQL}", slot_id
        )
        return booked, active

    booked, active = await services.read(stored)
    return {
        "statuses": Counter(status for status, _ in answers),
        "codes": Counter(body["code"] for status, body in answers if status != 201),
        "booked": booked,
        "active": active,
        "outcomes": Counter(result for _, result in outcomes),
        "elapsed": elapsed,
    }


async def test_no_overbooking_over_http(aiohttp_client, services):
    storm = await booking_storm(aiohttp_client, services)
    assert storm["statuses"] == {201: PLACES, 409: PATIENTS - PLACES}, storm
    assert storm["codes"] == {"slot_full": PATIENTS - PLACES}
    assert storm["booked"] == PLACES
    assert storm["active"] == PLACES
    assert storm["outcomes"] == {"created": PLACES, "slot_full": PATIENTS - PLACES}


async def test_negative_control_overbooks_without_the_guard(aiohttp_client, services):
    """The same storm with the capacity checked outside the transaction (test-only switch):
    the test above must be able to see overbooking, or it proves nothing."""
    services.store.unsafe_capacity_check = True
    storm = await booking_storm(aiohttp_client, services)
    assert storm["statuses"][201] > PLACES or storm["booked"] > PLACES, storm
