"""Channel pools (号源池, issue 15) at the API door: GET /slots shows what the token's channel
may book (a HIS its own pool and the public one; an admin script, the public pool only; a
referral, the referral pool too), POST /bookings takes from that pool, and a channel whose
pools are empty while others are not hears 409 ``channel_full``."""

from __future__ import annotations

from datetime import date

from booking_core.rules import RuleKey
from tests.booking_core.helpers import set_rule
from tests.support.world import local

DAY = date(2026, 7, 11)  # tomorrow: released; the clock is 2026-07-10 09:00
# one slot of 16 places: IVR 8, HIS 4 (25 %), referral 2 (13 %), public 2; rolls 2 h before
PLAN = {
    "roll_hours_before": 2,
    "pools": [
        {"pool": "ivr", "percent": 50},
        {"pool": "his", "percent": 25},
        {"pool": "referral", "percent": 13},
    ],
}


async def _world(world, services):
    session = await world.basic(DAY, places=16, slot_minutes=240)
    await set_rule(services, RuleKey.CHANNEL_POOLS, PLAN)
    return session


async def _free(api, auth, extra: str = "") -> list[int]:
    status, body = await api.call("GET", f"/slots?date={DAY}&doctor=00868{extra}", auth)
    assert status == 200, body
    return [item["free"] for item in body["items"]]


async def test_each_token_sees_and_books_its_channels_places(api, world, services, clock):
    await _world(world, services)
    his = await api.token("his", "H001")
    admin = await api.token("admin", "H001")
    assert await _free(api, his) == [4 + 2]
    assert await _free(api, admin) == [2]
    assert await _free(api, his, "&referral=true") == [2 + 2]

    slot_id = (await api.call("GET", f"/slots?date={DAY}&doctor=00868", his))[1]["items"][0][
        "slot_id"
    ]
    for _ in range(2):  # the public pool, by the admin token
        patient = await world.patient()
        status, body = await api.call(
            "POST", "/bookings", admin, json={"slot_id": slot_id, "patient_id": patient.id}
        )
        assert status == 201, body
    assert await _free(api, admin) == []  # nothing it may book: not listed
    assert await _free(api, his) == [4]
    patient = await world.patient()
    status, problem = await api.call(
        "POST", "/bookings", admin, json={"slot_id": slot_id, "patient_id": patient.id}
    )
    assert status == 409, problem
    assert problem["code"] == "channel_full"
    assert problem["channel"] == "api" or "api" in problem["detail"]

    status, body = await api.call(
        "POST",
        "/bookings",
        his,
        json={"slot_id": slot_id, "patient_id": patient.id, "referral": True},
    )
    assert status == 201, body
    assert await _free(api, his, "&referral=true") == [1]

    # two hours before the session every pool rolls into the public one: all see the same
    clock.set(local(2026, 7, 11, 6, 0))
    assert await _free(api, admin) == [16 - 3]
    assert await _free(api, his) == [16 - 3]


async def test_a_kiosk_cannot_mark_a_referral(api, world, services):
    await _world(world, services)
    kiosk = await api.token("kiosk", "H001")
    status, body = await api.call("GET", f"/slots?date={DAY}&doctor=00868", kiosk)
    slot_id = body["items"][0]["slot_id"]
    patient = await world.patient()
    status, problem = await api.call(
        "POST",
        "/bookings",
        kiosk,
        json={"slot_id": slot_id, "patient_id": patient.id, "referral": True},
    )
    assert status == 422, problem
    assert problem["code"] == "invalid_input"
