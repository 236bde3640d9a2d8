"""Feed subscriptions through /api/v1 (#13): the signing secret is in the answers that made
or rotated it and nowhere else; a hospital's token sees only its own; a subscriber at a
loopback, link-local or private address is refused unless the engine allows it; bad input
is a 4xx; deliveries are listed newest first with a next page, each with its attempts (the
delivery log), and sent again one at a time or every dead one."""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

import pytest

from booking_core import feeds
from booking_core.feeds import AttemptResult, Outcome
from hospital_api.schemas_feeds import (
    AttemptList,
    DeliveryList,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionWithSecret,
)
from hospital_api.web import ROUTES_TABLE
from tests.hospital_api.helpers import Api, make_root
from tests.support.world import World, first_slot

PUBLIC = "https://8.8.8.8/his/hooks"  # a public literal: nothing resolves a name in tests
PUBLIC_HL7 = "mllp://8.8.4.4:2575"
DAY = date(2026, 7, 11)


@pytest.fixture
def services(feed_services):
    return feed_services


@pytest.fixture
async def lan_api(aiohttp_client, services) -> Api:
    """The API of an engine that allows subscribers on private addresses."""
    client = await aiohttp_client(make_root(services, [], feeds_allow_private=True))
    return Api(client, services)


@pytest.fixture
async def tokens(api) -> dict[str, dict]:
    for code in ("HA", "HB"):
        await World(api.services, code).hospital(name=f"医院{code}")
    return {
        "his_a": await api.token("his", "HA"),
        "his_b": await api.token("his", "HB"),
        "kiosk_a": await api.token("kiosk", "HA"),
        "platform": await api.token("admin"),
    }


async def subscribe(api: Api, auth: dict, **body) -> tuple[int, dict]:
    body = {"name": "HIS 接口", "url": PUBLIC, **body}
    return await api.call("POST", "/subscriptions", auth, json=body)


# --- the secret -------------------------------------------------------------------------------


async def test_the_secret_is_in_the_answer_that_made_it_and_never_again(api, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    auth = tokens["his_a"]
    status, made = await subscribe(api, auth, topics=["booking.created", "booking.cancelled"])
    assert status == 201, made
    secret = made["secret"]
    assert secret.startswith("whsec_")
    shown = (made["hospital"], made["kind"], made["url"], made["active"])
    assert shown == ("HA", "webhook", PUBLIC, True)
    assert made["topics"] == ["booking.cancelled", "booking.created"]
    assert made["deliveries"] == {"pending": 0, "done": 0, "dead": 0}
    assert made["created_at"].endswith("+08:00")  # hospital-local
    SubscriptionWithSecret.model_validate(made)  # the document's schema, no member more

    for path in ("/subscriptions", f"/subscriptions/{made['id']}"):
        async with api.client.get("/api/v1" + path, headers=auth) as resp:
            assert resp.status == 200
            text = await resp.text()
        assert secret not in text, path
        named = text.replace("secret_rotated_at", "").replace("previous_secret_until", "")
        assert "secret" not in named, path
    status, listed = await api.call("GET", "/subscriptions", auth)
    assert [s["id"] for s in listed["items"]] == [made["id"]]
    SubscriptionList.model_validate(listed)
    assert "secret" not in listed["items"][0]
    status, one = await api.call("GET", f"/subscriptions/{made['id']}", auth)
    assert one == {k: v for k, v in made.items() if k != "secret"}
    SubscriptionOut.model_validate(one)

    status, changed = await api.call(
        "PATCH", f"/subscriptions/{made['id']}", auth, json={"name": "新名字"}
    )
    assert (status, changed["name"]) == (200, "新名字")
    assert "secret" not in changed
    assert secret not in caplog.text
    audit = await api.services.read(_audit_text)
    assert "subscription" in audit
    assert secret not in audit


def _audit_text(tx):
    from booking_core.kernel.unit import rows

    found = yield rows("SELECT * FROM audit")
    return " ".join(str(dict(r)) for r in found)


async def test_a_rotated_secret_is_shown_once_and_the_old_one_overlaps(api, tokens, cipher):
    auth = tokens["his_a"]
    _, made = await subscribe(api, auth)
    path = f"/subscriptions/{made['id']}/rotate-secret"
    status, rotated = await api.call("POST", path, auth, json={"overlap_hours": 2})
    assert status == 200, rotated
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != made["secret"]
    assert rotated["previous_secret_until"] == "2026-07-10T11:00:00+08:00"
    signing = await api.services.read(feeds.signing_secrets, made["id"], cipher)
    assert (signing.current, signing.previous) == (rotated["secret"], made["secret"])
    _, again = await api.call("GET", f"/subscriptions/{made['id']}", auth)
    assert "secret" not in again
    assert again["secret_rotated_at"] == "2026-07-10T09:00:00+08:00"

    status, body = await api.call("POST", path, auth, json={})  # 24 hours by default
    assert status == 200
    assert body["previous_secret_until"] == "2026-07-11T09:00:00+08:00"
    for bad in (-1, 169, 10**30, "2", 1.5, None):
        status, body = await api.call("POST", path, auth, json={"overlap_hours": bad})
        assert (status, body["code"]) == (422, "invalid_request"), bad

    _, hl7 = await subscribe(api, auth, kind="hl7", url=PUBLIC_HL7, options={"no_show": "S17"})
    assert hl7["secret"] is None
    assert hl7["options"] == {"no_show": "S17"}
    status, body = await api.call("POST", f"/subscriptions/{hl7['id']}/rotate-secret", auth)
    assert (status, body["code"], body["field"]) == (422, "invalid_input", "subscription")


# --- who sees what --------------------------------------------------------------------------


async def test_another_hospitals_token_gets_not_found_and_a_kiosk_is_refused(api, tokens):
    _, made = await subscribe(api, tokens["his_a"])
    sid = made["id"]
    other = tokens["his_b"]
    for method, path, body in [
        ("GET", f"/subscriptions/{sid}", None),
        ("PATCH", f"/subscriptions/{sid}", {"active": False}),
        ("POST", f"/subscriptions/{sid}/rotate-secret", {}),
        ("GET", f"/subscriptions/{sid}/deliveries", None),
        ("POST", f"/subscriptions/{sid}/redeliver", {}),
    ]:
        status, answer = await api.call(method, path, other, json=body)
        assert (status, answer["code"]) == (404, "not_found"), (method, path)
    _, listed = await api.call("GET", "/subscriptions", other)
    assert listed["items"] == []
    status, body = await subscribe(api, other, hospital="HA")
    assert (status, body["code"]) == (404, "not_found")
    status, body = await api.call("GET", "/subscriptions", other, params={"hospital": "HA"})
    assert (status, body["code"]) == (404, "not_found")

    status, body = await api.call("GET", "/subscriptions", tokens["kiosk_a"])
    assert (status, body["code"]) == (403, "forbidden")
    status, body = await subscribe(api, tokens["kiosk_a"])
    assert (status, body["code"]) == (403, "forbidden")

    platform = tokens["platform"]
    status, body = await subscribe(api, platform)  # names no hospital: which one?
    assert (status, body["code"]) == (422, "invalid_request")
    status, b_made = await subscribe(api, platform, hospital="HB")
    assert (status, b_made["hospital"]) == (201, "HB")
    _, every = await api.call("GET", "/subscriptions", platform)
    assert [s["hospital"] for s in every["items"]] == ["HA", "HB"]
    _, only_b = await api.call("GET", "/subscriptions", platform, params={"hospital": "HB"})
    assert [s["id"] for s in only_b["items"]] == [b_made["id"]]
    _, unchanged = await api.call("GET", f"/subscriptions/{sid}", tokens["his_a"])
    assert unchanged["active"] is True  # HB's PATCH changed nothing


# --- the SSRF guard ----------------------------------------------------------------------------


PRIVATE = [
    ("webhook", "http://127.0.0.1:8080/hooks", "loopback"),
    ("webhook", "https://[::1]/hooks", "loopback"),
    ("webhook", "http://169.254.169.254/latest/meta-data", "link-local"),
    ("webhook", "https://192.168.1.20/his", "private"),
    ("webhook", "http://localhost:9000/x", "loopback"),
    ("hl7", "mllp://10.1.2.3:2575", "private"),
]


@pytest.mark.parametrize(("kind", "url", "why"), PRIVATE)
async def test_a_private_address_is_refused_unless_the_engine_allows_it(
    api, lan_api, tokens, kind, url, why
):
    auth = tokens["his_a"]
    status, body = await subscribe(api, auth, kind=kind, url=url)
    assert (status, body["code"], body["field"]) == (422, "invalid_input", "url"), body
    assert why in body["detail"]
    _, listed = await api.call("GET", "/subscriptions", auth)
    assert listed["items"] == []

    status, made = await subscribe(lan_api, auth, kind=kind, url=url)
    assert (status, made["url"]) == (201, url), made


async def test_changing_the_url_is_checked_too(api, lan_api, tokens):
    auth = tokens["his_a"]
    _, made = await subscribe(api, auth)
    path = f"/subscriptions/{made['id']}"
    status, body = await api.call("PATCH", path, auth, json={"url": "http://127.0.0.1/x"})
    assert (status, body["field"]) == (422, "url")
    assert (await api.call("GET", path, auth))[1]["url"] == PUBLIC
    status, body = await lan_api.call("PATCH", path, auth, json={"url": "http://127.0.0.1/x"})
    assert (status, body["url"]) == (200, "http://127.0.0.1/x")
    # the address is not checked again when it does not change
    status, body = await api.call("PATCH", path, auth, json={"active": False, "url": body["url"]})
    assert (status, body["active"]) == (200, False)


# --- bad input ----------------------------------------------------------------------------------


async def test_bad_input_is_a_4xx_in_words(api, tokens):
    auth = tokens["his_a"]
    _, made = await subscribe(api, auth)
    sid = made["id"]
    cases = [
        ("POST", "/subscriptions", {"data": b"{not json", "headers": {"Content-Type":
                                                                     "application/json"}}, 400),
        ("POST", "/subscriptions", {"data": b"x", "headers": {"Content-Type": "text/plain"}}, 415),
        ("POST", "/subscriptions", {"json": {"name": "x", "url": PUBLIC, "extra": 1}}, 422),
        ("POST", "/subscriptions", {"json": {"name": "x", "url": PUBLIC, "kind": "ftp"}}, 422),
        ("POST", "/subscriptions", {"json": {"name": "", "url": PUBLIC}}, 422),
        ("POST", "/subscriptions", {"json": {"name": "x\x00", "url": PUBLIC}}, 422),
        ("POST", "/subscriptions", {"json": {"name": "x", "url": "ftp://8.8.8.8/x"}}, 422),
        ("POST", "/subscriptions", {"json": {"name": "x", "url": "https://8.8.8.8:99999999/x"}},
         422),
        ("POST", "/subscriptions", {"json": {"name": "x", "url": PUBLIC,
                                             "options": {"no_show": "S26"}}}, 422),
        ("POST", "/subscriptions", {"json": {"name": "x", "url": PUBLIC_HL7, "kind": "hl7",
                                             "options": {"no_show": "S99"}}}, 422),
        ("POST", "/subscriptions", {"json": {"name": "x", "url": PUBLIC, "topics": [1]}}, 422),
        ("PATCH", f"/subscriptions/{sid}", {"json": {"active": "yes"}}, 422),
        ("PATCH", f"/subscriptions/{sid}", {"json": {"topics": ["booking.eaten"]}}, 422),
        ("PATCH", "/subscriptions/99999999999999999999", {"json": {}}, 422),
        ("GET", "/subscriptions/0", {}, 422),
        ("GET", "/subscriptions/123456789", {}, 404),
        ("GET", f"/subscriptions/{sid}/deliveries?limit=0", {}, 422),
        ("GET", f"/subscriptions/{sid}/deliveries?limit=100000000000000000000", {}, 422),
        ("GET", f"/subscriptions/{sid}/deliveries?before=99999999999999999999", {}, 422),
        ("GET", f"/subscriptions/{sid}/deliveries?status=lost", {}, 422),
        ("POST", f"/subscriptions/{sid}/redeliver", {"json": {"delivery_id": 2**63}}, 422),
        ("POST", f"/subscriptions/{sid}/redeliver", {"json": {"delivery_id": 10**40}}, 422),
        ("POST", f"/subscriptions/{sid}/redeliver", {"json": {"delivery_id": 424242}}, 404),
        ("GET", "/deliveries/18446744073709551616/attempts", {}, 422),
        ("GET", "/deliveries/424242/attempts", {}, 404),
    ]  # fmt: skip
    for method, path, kwargs, expected in cases:
        status, body = await api.call(method, path, auth, **kwargs)
        assert status == expected, (method, path, kwargs, body)
    status, body = await api.call(
        "POST", "/subscriptions", auth, json={"name": "x", "url": PUBLIC,
                                              "topics": ["booking.created", "booking.eaten"]}
    )  # fmt: skip
    assert (status, body["field"]) == (422, "topics")
    assert "booking.eaten" in body["detail"]
    _, listed = await api.call("GET", "/subscriptions", auth)
    assert [s["id"] for s in listed["items"]] == [sid]  # nothing else was made


# --- deliveries and the log ---------------------------------------------------------------


async def _deliveries_made(api: Api, auth: dict) -> tuple[dict, list]:
    """A subscription to HA's new bookings, two bookings fanned out to it and claimed."""
    _, made = await subscribe(api, auth, topics=["booking.created"])
    world = World(api.services, "HA")
    session = await world.basic(DAY, places=4)
    a, b = await world.patients(2)
    slot = await first_slot(api.services, session.id)
    await world.book(slot, a)
    await world.book(slot, b)
    while await api.services.handle(feeds.FanOutEvents()):
        pass
    claimed = await api.services.handle(feeds.ClaimDeliveries(subscription_id=made["id"]))
    assert len(claimed) == 2
    return made, claimed


async def _attempt(api: Api, delivery_id: int, outcome: Outcome, status: int | None, error=""):
    result = AttemptResult(outcome=outcome, duration_ms=37, status_code=status, error=error)
    await api.services.handle(feeds.RecordAttempts(results=((delivery_id, result),)))


async def test_deliveries_are_listed_newest_first_with_pages_and_their_log(api, tokens):
    auth = tokens["his_a"]
    made, (first, second) = await _deliveries_made(api, auth)
    await _attempt(api, first.id, Outcome.REJECTED, None, "AR: unknown patient")
    await _attempt(api, second.id, Outcome.DELIVERED, 204)
    path = f"/subscriptions/{made['id']}/deliveries"

    status, page = await api.call("GET", path, auth)
    assert status == 200, page
    assert [d["id"] for d in page["items"]] == [second.id, first.id]  # newest first
    assert page["next"] is None
    DeliveryList.model_validate(page)
    dead = page["items"][1]
    assert (dead["status"], dead["topic"], dead["attempts"], dead["last_error"]) == (
        "dead", "booking.created", 1, "AR: unknown patient")  # fmt: skip
    assert dead["message_id"] == first.message_id
    assert dead["key"] == first.event.key
    assert dead["done_at"] == "2026-07-10T09:00:00+08:00"
    assert "payload" not in dead
    assert (page["items"][0]["status"], page["items"][0]["last_status"]) == ("done", 204)
    _, sub = await api.call("GET", f"/subscriptions/{made['id']}", auth)
    assert sub["deliveries"] == {"pending": 0, "done": 1, "dead": 1}

    async with api.client.get("/api/v1" + path + "?limit=1", headers=auth) as resp:
        one = await resp.json()
        link = resp.headers["Link"]
    assert [d["id"] for d in one["items"]] == [second.id]
    assert one["next"] == f"/api/v1{path}?before={second.id}&limit=1"
    assert link == f'<{one["next"]}>; rel="next"'
    status, older = await api.call("GET", one["next"].removeprefix("/api/v1"), auth)
    assert ([d["id"] for d in older["items"]], older["next"]) == ([first.id], None)
    _, deads = await api.call("GET", path + "?status=dead", auth)
    assert [d["id"] for d in deads["items"]] == [first.id]

    status, log = await api.call("GET", f"/deliveries/{first.id}/attempts", auth)
    assert status == 200, log
    assert log["delivery"]["id"] == first.id
    AttemptList.model_validate(log)
    assert log["items"] == [
        {"attempt": 1, "at": "2026-07-10T09:00:00+08:00", "outcome": "rejected",
         "duration_ms": 37, "status_code": None, "error": "AR: unknown patient"}
    ]  # fmt: skip
    status, body = await api.call("GET", f"/deliveries/{first.id}/attempts", tokens["his_b"])
    assert (status, body["code"]) == (404, "not_found")


async def test_redeliver_one_or_every_dead_one(api, tokens):
    auth = tokens["his_a"]
    made, (first, second) = await _deliveries_made(api, auth)
    await _attempt(api, first.id, Outcome.REJECTED, None, "AR")
    await _attempt(api, second.id, Outcome.REJECTED, None, "AR")
    path = f"/subscriptions/{made['id']}/redeliver"

    status, body = await api.call("POST", path, auth, json={"delivery_id": first.id})
    assert (status, body) == (200, {"count": 1})
    _, sub = await api.call("GET", f"/subscriptions/{made['id']}", auth)
    assert sub["deliveries"] == {"pending": 1, "done": 0, "dead": 1}
    [again] = await api.services.handle(feeds.ClaimDeliveries(subscription_id=made["id"]))
    assert (again.id, again.message_id) == (first.id, first.message_id)  # the same webhook-id

    status, body = await api.call("POST", path, auth)  # no body: every dead one
    assert (status, body) == (200, {"count": 1})
    status, body = await api.call("POST", path, auth, json={})
    assert (status, body) == (200, {"count": 0})
    _, sub = await api.call("GET", f"/subscriptions/{made['id']}", auth)
    assert sub["deliveries"] == {"pending": 2, "done": 0, "dead": 0}

    _, other = await subscribe(api, auth, name="另一个")
    status, body = await api.call(
        "POST", f"/subscriptions/{other['id']}/redeliver", auth, json={"delivery_id": first.id}
    )
    assert (status, body["code"]) == (404, "not_found")  # not a delivery of that subscription


# --- the documentation -------------------------------------------------------------------------


DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
CURL = re.compile(r'curl -sS(?: -X (\w+))? "\$API(/[^"?]*)')


def test_every_curl_in_the_docs_names_an_endpoint_of_the_table():
    calls = CURL.findall(DOC.read_text(encoding="utf-8"))
    assert len(calls) >= 8, calls
    known = {(r.method, re.sub(r"{\w+}", "{}", r.path)) for r in ROUTES_TABLE}
    for method, path in calls:
        shape = re.sub(r"/\d+", "/{}", path)
        assert (method or "GET", shape) in known, (method, path)
