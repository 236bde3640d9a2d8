"""A hospital's operator never sees another hospital's patient or booking: by URL it is
"not found" (404), on SQLite and on PostgreSQL. Personal data is masked."""

from __future__ import annotations

import pytest

from tests.agent_console.helpers import add_operator, hospital_with_booking
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
async def two_hospitals(services):
    return {code: await hospital_with_booking(services, code) for code in ("HA", "HB")}


async def test_agent_gets_404_for_another_hospitals_patient_and_booking(
    browser, services, two_hospitals
):
    a, b = two_hospitals["HA"], two_hospitals["HB"]
    await add_operator(services, "agent_a", ("agent",), "HA")
    agent = await browser()
    await agent.sign_in("agent_a")

    status, own = await agent.get(f"/patients/{a['patient']}")
    assert status == 200
    assert [bk["booking_no"] for bk in own["bookings"]] == [a["booking"]]
    assert (await agent.get(f"/bookings/{a['booking']}"))[0] == 200

    for path in (f"/patients/{b['patient']}", f"/bookings/{b['booking']}"):
        status, body = await agent.get(path)
        assert (status, body["error"]) == (404, "not_found"), path
        async with agent.client.get("/console" + path) as resp:  # the HTML page too
            assert resp.status == 404
            assert "张三丰" not in await resp.text()
    assert (await agent.get("/patients/999999"))[0] == 404


async def test_platform_admin_sees_both(browser, services, two_hospitals):
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    admin = await browser()
    await admin.sign_in("root", secret=SECRET)
    for info in two_hospitals.values():
        assert (await admin.get(f"/patients/{info['patient']}"))[0] == 200
        assert (await admin.get(f"/bookings/{info['booking']}.json"))[0] == 200


async def test_personal_data_is_masked(browser, services, two_hospitals):
    a = two_hospitals["HA"]
    await add_operator(services, "agent_a", ("agent",), "HA")
    agent = await browser()
    await agent.sign_in("agent_a")
    status, body = await agent.get(f"/patients/{a['patient']}")
    assert status == 200
    patient = body["patient"]
    assert patient["phone"] == a["phone"][:3] + "****" + a["phone"][-4:]
    assert patient["id_number"].startswith("**************")
    assert body["bookings"][0]["patient_name"] == "张**"
    status, booking = await agent.get(f"/bookings/{a['booking']}")
    assert status == 200
    assert booking["booking"]["patient_name"] == "张**"
    async with agent.client.get(f"/console/patients/{a['patient']}") as resp:
        assert a["phone"] not in await resp.text()
