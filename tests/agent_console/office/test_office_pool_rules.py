"""Channel pools (号源池, issue 15) on the rules screen: the JSON plan is set and shown like
any rule, a bad one is refused with what is wrong (never a 500), and the page names and
explains the rule in both languages."""

from __future__ import annotations

import json

import pytest

from tests.agent_console.office.office_world import hospital, sign_in

PLAN = {"pools": [{"pool": "referral", "percent": 30, "release_days": 28}]}


@pytest.fixture
async def world(services):
    return await hospital(services, "HA")


async def test_the_channel_pools_rule_is_set_and_shown(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    pools = next(r for r in (await admin.get("/office/rules"))[1]["effective"]
                 if r["key"] == "channel_pools")  # fmt: skip
    assert (pools["value"], pools["source"]) == ({"pools": []}, "platform")
    status, body = await admin.post(
        "/office/rules", {"key": "channel_pools", "value": json.dumps(PLAN)}
    )
    assert status == 200, body
    pools = next(r for r in (await admin.get("/office/rules"))[1]["effective"]
                 if r["key"] == "channel_pools")  # fmt: skip
    assert (pools["value"], pools["source"]) == (PLAN, "hospital")
    for bad in ('{"pools": [{"pool": "referral", "percent": 130}]}', "referral", "[1, 2]"):
        status, body = await admin.post("/office/rules", {"key": "channel_pools", "value": bad})
        assert (status, body["error"]) == (400, "invalid_input"), (bad, body)
    for lang, name in (("zh", "号源池与分时放号"), ("en", "Channel pools and staged release")):
        async with admin.client.get(f"/console/office/rules?lang={lang}") as resp:
            assert resp.status == 200
            assert name in await resp.text()
