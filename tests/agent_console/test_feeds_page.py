"""The feeds screen (HIS 对接) of the back office (#13): a hospital admin adds a webhook or
an HL7 endpoint (the signing secret shown once, on that answer), rotates the secret (shown
once), deactivates and activates it, reads its deliveries newest first with their attempts
in local time, and sends again one delivery or every dead one; a subscriber at a private
address is refused unless the engine allows it; an agent is refused, another hospital's
admin finds nothing, and bad input is answered in words, never a 500."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from agent_console.i18n_feeds import TOPICS_EN, TOPICS_ZH
from agent_console.office_routes import ROUTES
from agent_console.permissions import ROLES, Permission
from booking_core import feeds
from booking_core.events import EVENT_TYPES
from booking_core.feeds import AttemptResult, Outcome
from tests.agent_console.helpers import JSON, add_operator, console_settings
from tests.agent_console.office.office_world import SECRET, sign_in
from tests.support.world import World, first_slot

PUBLIC = "https://8.8.8.8/his/hooks"  # a public literal: nothing resolves a name in tests
DAY = date(2026, 7, 11)
SECRET_SHOWN = re.compile(r'<code class="secret" id="feed-secret">(whsec_[^<]+)</code>')
FORM = re.compile(r'<form method="post"')


@pytest.fixture
def services(feed_services):
    return feed_services


@pytest.fixture
async def admin(browser, services, hospitals):
    return await sign_in(browser, services, "hadmin", ("hospital_admin",), "H001")


async def _html(console, path: str, method: str = "GET", data: dict | None = None):
    if method == "GET":
        async with console.client.get("/console" + path) as resp:
            return resp.status, await resp.text()
    form = {**(data or {}), "csrf_token": console.csrf_token}
    async with console.client.post("/console" + path, data=form, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def _add(console, **fields) -> tuple[int, dict]:
    return await console.post("/office/feeds", {"name": "HIS 接口", "url": PUBLIC, **fields})


async def _deliveries(services, subscription_id: int) -> list:
    """Two bookings at H001 fanned out to the subscription and claimed."""
    world = World(services, "H001")
    session = await world.basic(DAY, places=4)
    a, b = await world.patients(2)
    slot = await first_slot(services, session.id)
    await world.book(slot, a)
    await world.book(slot, b)
    while await services.handle(feeds.FanOutEvents()):
        pass
    claimed = await services.handle(feeds.ClaimDeliveries(subscription_id=subscription_id))
    assert len(claimed) == 2
    return claimed


async def _reject(services, delivery_id: int, error: str = "HTTP 410 Gone") -> None:
    result = AttemptResult(outcome=Outcome.REJECTED, duration_ms=41, status_code=410, error=error)
    await services.handle(feeds.RecordAttempts(results=((delivery_id, result),)))


# --- the secret ---------------------------------------------------------------------------


async def test_adding_a_webhook_shows_its_secret_once_and_the_list_never(admin, services):
    status, html = await _html(
        admin, "/office/feeds", "POST",
        {"name": "HIS 接口", "url": PUBLIC, "topics": "booking.created"},
    )  # fmt: skip
    assert status == 201, html[:500]
    [secret] = SECRET_SHOWN.findall(html)
    assert "只显示这一次" in html  # the warning to copy it now

    status, listed = await admin.get("/office/feeds")
    assert status == 200, listed
    [row] = listed["subscriptions"]
    assert (row["name"], row["kind"], row["url"], row["active"]) == ("HIS 接口", "webhook",
                                                                    PUBLIC, True)  # fmt: skip
    assert row["topics"] == [{"topic": "booking.created", "text": "预约成功"}]
    assert row["counts"] == {"pending": 0, "done": 0, "dead": 0}
    assert row["created_at"] == "2026-07-10T09:00:00+08:00"  # hospital-local
    assert secret not in json.dumps(listed)
    for path in ("/office/feeds", f"/office/feeds/{row['id']}"):
        status, page = await _html(admin, path)
        assert status == 200, page[:500]
        assert secret not in page, path
        assert "预约成功" in page
        assert page.count('name="csrf_token"') == len(FORM.findall(page)), path
    _status, detail = await admin.get(f"/office/feeds/{row['id']}")
    assert secret not in json.dumps(detail)
    signing = await services.read(feeds.signing_secrets, row["id"], services.cipher)
    assert signing.current == secret


async def test_the_json_answer_carries_the_secret_once_and_an_hl7_endpoint_has_none(admin):
    status, made = await _add(admin, topics="booking.created,booking.cancelled")
    assert status == 201, made
    assert made["secret"].startswith("whsec_")
    assert [t["topic"] for t in made["subscription"]["topics"]] == [
        "booking.cancelled", "booking.created"]  # fmt: skip
    status, hl7 = await _add(
        admin, kind="hl7", name="HIS HL7", url="mllp://8.8.4.4:2575", no_show="S17",
        id_number="", receiving_application="HIS",
    )  # fmt: skip
    assert status == 201, hl7
    assert hl7["secret"] is None
    assert hl7["subscription"]["options"] == {"no_show": "S17", "receiving_application": "HIS"}
    assert hl7["subscription"]["kind_text"] == "HL7 v2（MLLP）"
    status, body = await admin.post(f"/office/feeds/{hl7['subscription']['id']}/secret")
    assert (status, body["error"]) == (400, "invalid_input")


async def test_a_rotated_secret_is_shown_once(admin, services):
    _, made = await _add(admin)
    sid = made["subscription"]["id"]
    status, html = await _html(admin, f"/office/feeds/{sid}/secret", "POST", {"overlap_hours": "2"})
    assert status == 200, html[:500]
    [secret] = SECRET_SHOWN.findall(html)
    assert secret != made["secret"]
    assert "2026-07-10 11:00" in html  # the old one signs until then, local time
    signing = await services.read(feeds.signing_secrets, sid, services.cipher)
    assert (signing.current, signing.previous) == (secret, made["secret"])
    _, detail = await admin.get(f"/office/feeds/{sid}")
    assert secret not in json.dumps(detail)
    assert detail["subscription"]["previous_secret_until"] == "2026-07-10T11:00:00+08:00"
    for bad in ("-1", "169", "x", str(10**30)):
        status, body = await admin.post(f"/office/feeds/{sid}/secret", {"overlap_hours": bad})
        assert (status, body["error"]) == (400, "invalid_input"), bad


# --- active, deliveries, redelivery -------------------------------------------------------------


async def test_deactivate_and_activate(admin):
    _, made = await _add(admin)
    sid = made["subscription"]["id"]
    status, body = await admin.post(f"/office/feeds/{sid}/active", {"active": "0"})
    assert (status, body["active"]) == (200, False)
    assert body["next"] == f"/console/office/feeds/{sid}?done=deactivated"
    _, detail = await admin.get(f"/office/feeds/{sid}?done=deactivated")
    assert detail["subscription"]["active"] is False
    assert detail["notice"] == "已停用该订阅：不再产生新的投递。"
    status, _html_page = await _html(admin, f"/office/feeds/{sid}/active", "POST", {"active": "1"})
    assert status == 303
    _, listed = await admin.get("/office/feeds")
    assert listed["subscriptions"][0]["active"] is True
    status, body = await admin.post(f"/office/feeds/{sid}/active", {"active": "maybe"})
    assert (status, body["error"]) == (400, "invalid_input")


async def test_deliveries_their_attempts_and_redelivery(admin, services, monkeypatch):
    _, made = await _add(admin, topics="booking.created")
    sid = made["subscription"]["id"]
    first, second = await _deliveries(services, sid)
    await _reject(services, first.id)
    await _reject(services, second.id)

    status, page = await admin.get(f"/office/feeds/{sid}")
    assert status == 200, page
    assert [d["id"] for d in page["deliveries"]] == [second.id, first.id]  # newest first
    dead = page["deliveries"][1]
    assert (dead["status_text"], dead["topic_text"], dead["last_status"], dead["last_error"]) == (
        "已放弃（死信）", "预约成功", 410, "HTTP 410 Gone")  # fmt: skip
    assert dead["message_id"] == first.message_id
    assert "payload" not in dead
    assert page["subscription"]["counts"] == {"pending": 0, "done": 0, "dead": 2}
    assert page["older"] is None

    monkeypatch.setattr("agent_console.views.office.feeds.PAGE_SIZE", 1)
    _, newest = await admin.get(f"/office/feeds/{sid}?status=dead")
    assert [d["id"] for d in newest["deliveries"]] == [second.id]
    assert newest["older"] == f"/console/office/feeds/{sid}?before={second.id}&status=dead"
    _, older = await admin.get(newest["older"].removeprefix("/console"))
    assert ([d["id"] for d in older["deliveries"]], older["older"]) == ([first.id], None)
    monkeypatch.undo()

    status, log = await admin.get(f"/office/feeds/deliveries/{first.id}")
    assert status == 200, log
    assert log["attempts"] == [
        {"attempt": 1, "at": "2026-07-10T09:00:00+08:00", "outcome": "rejected",
         "outcome_text": "被拒收", "status_code": 410, "duration_ms": 41,
         "error": "HTTP 410 Gone"}
    ]  # fmt: skip
    status, html = await _html(admin, f"/office/feeds/deliveries/{first.id}")
    assert "2026-07-10 09:00" in html
    assert "+08:00" not in html

    status, body = await admin.post(f"/office/feeds/{sid}/redeliver", {"delivery": str(first.id)})
    assert (status, body["count"]) == (200, 1)
    assert body["next"] == f"/console/office/feeds/deliveries/{first.id}?done=redelivered&count=1"
    [again] = await services.handle(feeds.ClaimDeliveries(subscription_id=sid))
    assert (again.id, again.message_id) == (first.id, first.message_id)
    status, body = await admin.post(f"/office/feeds/{sid}/redeliver")  # every dead one
    assert (status, body["count"]) == (200, 1)
    _, page = await admin.get(f"/office/feeds/{sid}?done=redelivered&count=1")
    assert page["subscription"]["counts"] == {"pending": 2, "done": 0, "dead": 0}
    assert page["notice"] == "已重新投递 1 条。"


# --- who may ------------------------------------------------------------------------------------


async def test_an_agent_is_refused_and_another_hospitals_admin_finds_nothing(
    admin, browser, services
):
    _, made = await _add(admin, topics="booking.created")
    sid = made["subscription"]["id"]
    [delivery, _] = await _deliveries(services, sid)
    agent = await sign_in(browser, services, "agent_a", ("agent",), "H001")
    paths = [
        ("GET", "/office/feeds"), ("POST", "/office/feeds"), ("GET", f"/office/feeds/{sid}"),
        ("POST", f"/office/feeds/{sid}"), ("POST", f"/office/feeds/{sid}/active"),
        ("POST", f"/office/feeds/{sid}/secret"), ("POST", f"/office/feeds/{sid}/redeliver"),
        ("GET", f"/office/feeds/deliveries/{delivery.id}"),
    ]  # fmt: skip
    for method, path in paths:
        if method == "GET":
            status, body = await agent.get(path)
        else:
            status, body = await agent.post(path, {"active": "0", "name": "x", "url": PUBLIC})
        assert (status, body["error"]) == (403, "forbidden"), path
    _, index = await agent.get("/office")
    assert "feeds" not in [s["path"] for s in index["screens"]]

    other = await sign_in(browser, services, "hadmin2", ("hospital_admin",), "H002")
    _, listed = await other.get("/office/feeds")
    assert listed["subscriptions"] == []
    for method, path in paths[2:]:
        if method == "GET":
            status, body = await other.get(path)
        else:
            status, body = await other.post(path, {"active": "0", "delivery": str(delivery.id)})
        assert (status, body["error"]) == (404, "not_found"), path
    status, body = await other.get("/office/feeds?hospital=H001")
    assert (status, body["error"]) == (404, "not_found")
    _, detail = await admin.get(f"/office/feeds/{sid}")
    assert detail["subscription"]["active"] is True  # nothing changed
    _, index = await admin.get("/office")
    assert "feeds" in [s["path"] for s in index["screens"]]


async def test_a_platform_admin_names_the_hospital(browser, services, hospitals):
    platform = await sign_in(browser, services, "padmin", ("platform_admin",), None)
    status, body = await _add(platform)
    assert (status, body["error"], body["params"]["field"]) == (400, "invalid_input", "hospital")
    status, made = await _add(platform, hospital="H002")
    assert (status, made["subscription"]["hospital"]) == (201, "H002")
    _, listed = await platform.get("/office/feeds")
    assert [s["hospital"] for s in listed["subscriptions"]] == ["H002"]


# --- the SSRF guard and bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "url", "why"),
    [
        ("webhook", "http://127.0.0.1:8080/hooks", "loopback"),
        ("webhook", "http://169.254.169.254/latest/meta-data", "link-local"),
        ("hl7", "mllp://192.168.10.5:2575", "private"),
    ],
)
async def test_a_private_address_is_refused_unless_the_engine_allows_it(
    admin, browser, services, kind, url, why
):
    status, body = await _add(admin, kind=kind, url=url)
    assert (status, body["error"], body["params"]["field"]) == (400, "invalid_input", "url")
    assert why in body["message"]
    _, listed = await admin.get("/office/feeds")
    assert listed["subscriptions"] == []

    await add_operator(services, "lanadmin", ("hospital_admin",), "H001", totp_secret=SECRET)
    lan = await browser(console_settings(feeds_allow_private=True))
    await lan.sign_in("lanadmin", secret=SECRET)
    status, made = await _add(lan, kind=kind, url=url)
    assert (status, made["subscription"]["url"]) == (201, url)
    sid = made["subscription"]["id"]
    status, body = await admin.post(f"/office/feeds/{sid}", {"url": "http://10.0.0.1/x"
                                                             if kind == "webhook" else
                                                             "mllp://10.0.0.1:2575"})  # fmt: skip
    assert (status, body["params"]["field"]) == (400, "url")  # a change is checked too
    status, body = await admin.post(f"/office/feeds/{sid}", {"name": "改名"})  # url unchanged
    assert status == 200, body


async def test_bad_input_is_answered_in_words(admin):
    _, made = await _add(admin)
    sid = made["subscription"]["id"]
    posts = [
        ("/office/feeds", {"name": "x", "url": PUBLIC, "kind": "ftp"}),
        ("/office/feeds", {"name": "x", "url": PUBLIC, "topics": "booking.eaten"}),
        ("/office/feeds", {"name": "", "url": PUBLIC}),
        ("/office/feeds", {"name": "x", "url": "ftp://8.8.8.8/x"}),
        ("/office/feeds", {"name": "x", "url": "https://8.8.8.8:99999999/x"}),
        ("/office/feeds", {"name": "x", "url": "mllp://8.8.8.8", "kind": "hl7"}),
        ("/office/feeds", {"name": "x", "url": "mllp://8.8.8.8:1", "kind": "hl7",
                           "id_number": "shown"}),
        (f"/office/feeds/{sid}/redeliver", {"delivery": "x"}),
        (f"/office/feeds/{sid}/redeliver", {"delivery": "9" * 40}),
        (f"/office/feeds/{sid}", {"topics_given": "1", "topics": "nope"}),
    ]  # fmt: skip
    for path, data in posts:
        status, body = await admin.post(path, data)
        assert (status, body["error"]) == (400, "invalid_input"), (path, data, body)
    status, body = await admin.post(f"/office/feeds/{sid}/redeliver", {"delivery": "424242"})
    assert (status, body["error"]) == (404, "not_found")
    for query in ("status=lost", "before=x", "before=0", "before=" + "9" * 40):
        status, body = await admin.get(f"/office/feeds/{sid}?{query}")
        assert (status, body["error"]) == (400, "invalid_input"), query
    for path in ("/office/feeds/999999999999999999", "/office/feeds/deliveries/424242"):
        status, body = await admin.get(path)
        assert (status, body["error"]) == (404, "not_found"), path
    _, listed = await admin.get("/office/feeds")
    assert [s["id"] for s in listed["subscriptions"]] == [sid]


async def test_without_csrf_nothing_is_made(admin):
    status, body = await admin.post("/office/feeds", {"name": "x", "url": PUBLIC}, csrf=None)
    assert (status, body["error"]) == (403, "csrf_failed")
    _, listed = await admin.get("/office/feeds")
    assert listed["subscriptions"] == []


# --- words -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_pages_render_in_both_languages(admin, lang):
    _, made = await _add(admin, topics="booking.no_show")
    sid = made["subscription"]["id"]
    for path in ("/office/feeds", f"/office/feeds/{sid}"):
        status, page = await _html(admin, f"{path}?lang={lang}")
        assert status == 200, page[:500]
        assert {"zh": "爽约", "en": "no-show"}[lang] in page
    async with admin.client.get("/console/office/feeds.json", headers=JSON) as resp:
        assert resp.content_type == "application/json"


def test_every_topic_has_words_and_the_permission_is_the_admins():
    assert set(TOPICS_ZH) == set(TOPICS_EN) == set(EVENT_TYPES)
    assert Permission.FEEDS_MANAGE in ROLES["hospital_admin"]
    assert Permission.FEEDS_MANAGE not in ROLES["agent"]
    feeds_routes = [r for r in ROUTES if r.path.startswith("/office/feeds")]
    assert feeds_routes
    assert {r.access for r in feeds_routes} == {Permission.FEEDS_MANAGE}


async def test_the_forms_ticked_topics_are_taken_as_a_browser_sends_them(admin):
    """Checkboxes arrive as repeated fields; the edit form's none ticked means every topic."""
    _, made = await _add(admin)
    sid = made["subscription"]["id"]
    ticked = [("csrf_token", admin.csrf_token), ("topics_given", "1"), ("name", "HIS"),
              ("topics", "booking.cancelled"), ("topics", "booking.moved")]  # fmt: skip
    async with admin.client.post(
        f"/console/office/feeds/{sid}", data=ticked, allow_redirects=False
    ) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == f"/console/office/feeds/{sid}?done=saved"
    _, detail = await admin.get(f"/office/feeds/{sid}")
    assert [t["topic"] for t in detail["subscription"]["topics"]] == [
        "booking.cancelled", "booking.moved"]  # fmt: skip
    assert detail["subscription"]["name"] == "HIS"
    none_ticked = [("csrf_token", admin.csrf_token), ("topics_given", "1")]
    async with admin.client.post(f"/console/office/feeds/{sid}", data=none_ticked) as resp:
        assert resp.status == 200
    _, detail = await admin.get(f"/office/feeds/{sid}")
    assert detail["subscription"]["all_topics"] is True
