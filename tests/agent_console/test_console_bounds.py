"""Out-of-range input is the caller's fault, never a 500, and every answer (the router's
own 404 and 405 too, and a fault nobody foresaw) carries the security headers (#10 item 16)."""

from __future__ import annotations

import pytest
from aiohttp import web

from agent_console import web as console_web
from tests.agent_console.office.office_world import hospital, sign_in
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)

HUGE = str(2**64 + 1)
HEADERS = ("Content-Security-Policy", "X-Frame-Options", "Cache-Control")


@pytest.fixture
async def admin(browser, services):
    await hospital(services, "HA")
    return await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")


def _secured(resp) -> None:
    for name in HEADERS:
        assert name in resp.headers, (resp.status, name)
    assert resp.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/operators/{HUGE}"),
        ("GET", f"/operators/{HUGE}.json"),
        ("POST", f"/operators/{HUGE}/disable"),
        ("GET", f"/patients/{HUGE}"),
        ("GET", f"/office/sessions/{HUGE}/stop"),
        ("POST", f"/office/sessions/{HUGE}/stop"),
        ("POST", f"/office/blacklist/{HUGE}/lift"),
        ("GET", "/no/such/page"),
    ],
)
async def test_ids_beyond_64_bits_are_not_found_with_the_headers(admin, method, path):
    async with admin.client.request(
        method, "/console" + path, data={"csrf_token": admin.csrf_token}, allow_redirects=False
    ) as resp:
        assert resp.status == 404, await resp.text()
        _secured(resp)


async def test_the_routers_405_carries_the_headers(admin):
    headers = {"X-CSRF-Token": admin.csrf_token}
    async with admin.client.put("/console/office/bookings", headers=headers) as resp:
        assert resp.status == 405
        _secured(resp)


@pytest.mark.parametrize(
    "query",
    [
        {"page": str(10**30)},
        {"per_page": str(10**30)},
        {"day_to": "9999-12-31"},
        {"day_from": "0001-01-01"},
    ],
)
async def test_out_of_range_query_is_a_400(admin, query):
    async with admin.client.get("/console/office/bookings.json", params=query) as resp:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["error"] == "invalid_input"
        _secured(resp)


async def test_a_week_at_the_end_of_the_calendar_is_a_400(admin):
    for week in ("9999-12-31", "0001-01-01"):
        async with admin.client.get("/console/office/sessions.json", params={"week": week}) as r:
            assert r.status == 400, await r.text()
            _secured(r)


async def test_a_huge_priority_or_fee_is_a_400(admin):
    status, body = await admin.post(
        "/office/rules", {"key": "hold_minutes", "value": "15", "priority": str(10**30)}
    )
    assert (status, body["error"], body["params"]["field"]) == (400, "invalid_input", "priority")
    status, body = await admin.post(
        "/office/doctors",
        {"work_no": "00999", "department_code": "101", "name": "钱医生", "fee": str(10**30)},
    )
    assert (status, body["error"], body["params"]["field"]) == (400, "invalid_input", "fee")


async def test_malformed_json_with_a_good_csrf_header_is_a_400(admin):
    async with admin.client.post(
        "/console/office/blacklist",
        data=b'{"card_no": ',
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRF-Token": admin.csrf_token,
        },
    ) as resp:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["params"]["field"] == "body"
        _secured(resp)


async def test_an_unforeseen_fault_is_a_worded_500_with_the_headers(
    aiohttp_client, services, monkeypatch
):
    async def broken(request: web.Request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(console_web.login, "login_form", broken)
    monkeypatch.setattr(
        console_web,
        "ROUTES",
        [r if r.path != "/login" or r.method != "GET" else r.__class__(
            "GET", "/login", broken, r.access, r.template, r.name) for r in console_web.ROUTES],
    )  # fmt: skip
    from tests.agent_console.helpers import root_app

    client = await aiohttp_client(root_app(services))
    async with client.get("/console/login.json") as resp:
        assert resp.status == 500
        assert (await resp.json())["error"] == "internal_error"
        _secured(resp)


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/office/blacklist/import", "multipart/form-data", b"no boundary"),
        ("/office/blacklist/import", "multipart/form-data; boundary=xx", b"--xx\r\nbroken"),
        ("/office/blacklist", "application/json", b"\xff\xfe"),
        ("/desk/patients", "application/json", b'{"q": "' + b"1" * 10_000 + b'"}'),
    ],
)
async def test_a_body_that_does_not_parse_is_a_400(admin, path, content_type, body):
    headers = {
        "Content-Type": content_type,
        "X-CSRF-Token": admin.csrf_token,
        "Accept": "application/json",
    }
    async with admin.client.post("/console" + path, data=body, headers=headers) as resp:
        assert resp.status == 400, await resp.text()
        _secured(resp)
    del headers["X-CSRF-Token"]  # the token then looked for in the body: none, refused
    async with admin.client.post("/console" + path, data=body, headers=headers) as resp:
        assert resp.status == 403, await resp.text()
        _secured(resp)
