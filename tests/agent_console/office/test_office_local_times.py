"""Every time a person reads on the console is the hospital's local time (#9 item 11):
complaints, the audit log, blacklist ends, the log-in lockout's "try again after", the
back office's "today"; and a day's sessions in the week grid run morning → evening.

The clock stands at 2026-07-10 01:30 in Beijing, which is 17:30 UTC on 9 July: a screen
showing UTC would show the wrong date as well as the wrong hour.
"""

from __future__ import annotations

from datetime import date, time

import pytest

from booking_core import calls, complaints
from booking_core.schedule import Period
from tests.agent_console.helpers import GOOD_PASSWORD, add_operator, console_settings
from tests.agent_console.office.office_world import SECRET, hospital, sign_in
from tests.support.world import World, local, phone

LOCAL_DAY = "2026-07-10"  # UTC says 2026-07-09 at this hour
LOCAL_HTML = "2026-07-10 01:30"
LOCAL_JSON = "2026-07-10T01:30:00+08:00"


@pytest.fixture
async def world(services, clock):
    clock.set(local(2026, 7, 10, 1, 30))
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def _html(console, path: str) -> str:
    async with console.client.get("/console" + path) as resp:
        assert resp.status == 200, path
        return await resp.text()


async def _complaint(services, code: str) -> str:
    await services.handle(
        calls.StartCall(
            call_sid="CA1", hospital_code=code, caller=phone(901), state="{}", digits="",
            response="<Response/>",
        )
    )  # fmt: skip
    return await services.handle(complaints.OpenComplaint(call_sid="CA1"))


async def test_complaints_show_when_they_came_in_local(browser, services, world):
    tracking_no = await _complaint(services, "HA")
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    await admin.post(f"/office/complaints/{tracking_no}/assign", {"assignee": "hadmin"})
    _status, listing = await admin.get("/office/complaints")
    assert listing["complaints"][0]["created_at"] == LOCAL_JSON
    assert LOCAL_HTML in await _html(admin, "/office/complaints")
    _status, detail = await admin.get(f"/office/complaints/{tracking_no}")
    assert detail["complaint"]["created_at"] == LOCAL_JSON
    assert detail["history"]
    assert {h["at"] for h in detail["history"]} == {LOCAL_JSON}
    page = await _html(admin, f"/office/complaints/{tracking_no}")
    assert page.count(LOCAL_HTML) == 1 + len(detail["history"])  # came in, then each step
    assert "+00:00" not in page


async def test_the_audit_log_is_in_local_time(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    _status, body = await admin.get("/office/audit")
    assert body["entries"]
    assert {e["at"] for e in body["entries"]} == {LOCAL_JSON}
    page = await _html(admin, "/office/audit")
    assert LOCAL_HTML in page
    assert "17:30" not in page


async def test_a_platform_screen_uses_the_engines_zone(browser, services, world):
    await add_operator(services, "root", ("platform_admin",), None, totp_secret=SECRET)
    console = await browser(console_settings(timezone="Asia/Tokyo"))
    await console.sign_in("root", secret=SECRET)
    _status, body = await console.get("/office/audit")
    assert {e["at"] for e in body["entries"]} == {"2026-07-10T02:30:00+09:00"}
    assert "2026-07-10 02:30" in await _html(console, "/office/audit")


async def test_a_ban_ends_at_local_midnight_after_its_last_day(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    card = world["HA"].patients[0].card_no
    status, body = await admin.post(
        "/office/blacklist", {"card_no": card, "until": "2026-07-20", "reason": "倒号"}
    )
    assert status == 201, body
    _status, listing = await admin.get("/office/blacklist")
    (entry,) = listing["entries"]
    assert entry["starts_at"] == LOCAL_JSON
    assert entry["ends_at"].endswith("+08:00")
    assert entry["ends_at"][:10] == "2026-07-21"
    page = await _html(admin, "/office/blacklist")
    assert "2026-07-21 00:00" in page
    assert "+00:00" not in page
    _status, lifted = await admin.post(f"/office/blacklist/{entry['id']}/lift")
    assert lifted["lifted_at"] == LOCAL_JSON


async def test_the_lockout_says_until_when_in_local_time(browser, services, world):
    await add_operator(services, "agent1", ("agent",), "HA")
    alice = await browser()
    for _ in range(5):
        await alice.login("agent1", "wrong password, again")
    status, body = await alice.login("agent1", GOOD_PASSWORD)
    assert (status, body["retry_at"]) == (429, "2026-07-10T01:45:00+08:00")
    await alice.open_login()
    form = {"username": "agent1", "password": GOOD_PASSWORD, "csrf_token": alice.csrf_token}
    async with alice.client.post("/console/login", data=form) as resp:
        assert resp.status == 429
        page = await resp.text()
    assert "2026-07-10 01:45" in page
    assert "17:45" not in page


async def test_the_back_offices_today_is_the_local_date(browser, services, world, clock):
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    _status, body = await viewer.get("/office/reports")
    assert body["day_to"] == "2026-07-17"  # today (10 July) + 7, not 9 July + 7
    clock.set(local(2026, 7, 13, 1, 30))  # a Monday in Beijing, still Sunday in UTC
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    _status, body = await admin.get("/office/sessions")
    assert body["week"] == "2026-07-13"


async def test_a_days_sessions_run_morning_afternoon_evening(browser, services, world):
    places = World(services, "HA")
    day = date(2026, 7, 14)
    for period, start, end in (
        (Period.EVENING, time(18), time(20)),
        (Period.AFTERNOON, time(14), time(17)),
        (Period.MORNING, time(8), time(12)),
    ):
        await places.session(day, "00868", period, start=start, end=end)
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    _status, body = await admin.get("/office/sessions?week=2026-07-13")
    periods = [s["period"] for s in body["sessions"] if s["day"] == day.isoformat()]
    assert periods == ["morning", "afternoon", "evening"]
    page = await _html(admin, "/office/sessions?week=2026-07-13")
    assert page.index("上午 08:00") < page.index("下午 14:00") < page.index("夜间 18:00")
