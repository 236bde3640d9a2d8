"""Channel pools (号源池, issue 15) in the FHIR Slot feed: a HIS is shown what the HIS may
book (its own pool and the public one), not every free place of the slot."""

from __future__ import annotations

from datetime import date

from booking_core.rules import RuleKey
from tests.booking_core.helpers import set_rule
from tests.hospital_api.fhir.helpers import resources

DAY = date(2026, 7, 11)
PLAN = {
    "roll_hours_before": 2,
    "pools": [{"pool": "ivr", "percent": 50}, {"pool": "his", "percent": 25}],
}


async def test_the_slot_feed_shows_the_his_its_pool_and_the_public_one(fhir, world, services):
    await world.basic(DAY, places=16, slot_minutes=240)
    his = await fhir.token("his", "H001")
    status, bundle = await fhir.get("/Slot?status=free", his)
    assert status == 200, bundle
    assert [r["comment"] for r in resources(bundle)] == ["16 of 16 places free"]
    await set_rule(services, RuleKey.CHANNEL_POOLS, PLAN)
    status, bundle = await fhir.get("/Slot?status=free", his)
    assert status == 200, bundle
    assert [r["comment"] for r in resources(bundle)] == ["8 of 16 places free"]  # 4 + public 4
    await set_rule(
        services,
        RuleKey.CHANNEL_POOLS,
        {"roll_hours_before": 2, "pools": [{"pool": "ivr", "percent": 100}]},
    )
    status, bundle = await fhir.get("/Slot?status=free", his)
    assert resources(bundle) == []  # every place is the phone line's: none free for the HIS
    status, bundle = await fhir.get("/Slot?status=busy", his)
    assert [r["comment"] for r in resources(bundle)] == ["0 of 16 places free"]
