"""Bad requests get a clear problem+json and change nothing."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging

import pytest

from booking_core.kernel.errors import ALL_ERRORS, StoreUnavailable
from hospital_api import problems
from hospital_api.problems import DOMAIN_PROBLEMS
from tests.hospital_api.helpers import hospital_with_session
from tests.support.world import World, first_slot, phone, resident_id


@pytest.fixture
async def ready(api):
    """A hospital with a session, a patient and a HIS token."""
    session = await hospital_with_session(api.services, "H001")
    slot_id = await first_slot(api.services, session.id)
    patient = await World(api.services).patient(seq=1)
    return {
        "his": await api.token("his", "H001"),
        "admin": await api.token("admin"),
        "slot": slot_id,
        "patient": patient.id,
        "session": session.id,
    }


async def refused(api, auth, method, path, status, code, **kwargs):
    """Send, expect ``status``/``code`` as problem+json, and that no row was written."""
    before = await api.rows()
    got, problem = await api.call(method, path, auth, **kwargs)
    assert (got, problem["code"]) == (status, code), problem
    assert problem["type"] == f"/api/v1/problems/{code}"
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    assert await api.rows() == before
    return problem


async def test_malformed_json(api, ready):
    for raw in (b'{"slot_id": 1,', b"not json", b'{"a": 1}}', b"\xff\xfe"):
        problem = await refused(
            api,
            ready["his"],
            "POST",
            "/bookings",
            400,
            "malformed_json",
            data=raw,
            headers={"Content-Type": "application/json"},
        )
        assert "reason" in problem


async def test_wrong_types_are_not_coerced(api, ready):
    problem = await refused(
        api,
        ready["his"],
        "POST",
        "/bookings",
        422,
        "invalid_request",
        json={"slot_id": str(ready["slot"]), "patient_id": ready["patient"]},
    )
    assert [e["field"] for e in problem["errors"]] == ["slot_id"]
    assert problem["errors"][0]["message"] == "Input should be a valid integer"
    problem = await refused(
        api,
        ready["his"],
        "POST",
        "/hospitals/H001/sessions",
        422,
        "invalid_request",
        json={"doctor": 868, "date": "tomorrow", "period": "night", "start": "08:00"},
    )
    fields = {e["field"] for e in problem["errors"]}
    assert {"doctor", "date", "period", "end", "slot_minutes", "places_per_slot"} <= fields
    await refused(api, ready["his"], "POST", "/bookings", 422, "invalid_request", json=[1])
    await refused(api, ready["his"], "GET", "/bookings?patient=abc", 422, "invalid_request")
    await refused(api, ready["his"], "GET", "/bookings/12345678X", 404, "not_found")
    await refused(api, ready["his"], "GET", "/patients/abc", 422, "invalid_request")
    await refused(
        api, ready["admin"], "PUT", "/hospitals/H001/departments/1a1", 422, "invalid_request",
        json={"name": "x"},
    )  # fmt: skip
    await refused(
        api, ready["admin"], "PUT", "/hospitals/H001/doctors/868", 422, "invalid_request",
        json={"department": "101", "name": "x", "fee": 1},
    )  # fmt: skip


async def test_unknown_fields_are_refused(api, ready):
    problem = await refused(
        api,
        ready["his"],
        "POST",
        "/bookings",
        422,
        "invalid_request",
        json={"slot_id": ready["slot"], "patient_id": ready["patient"], "vip": True},
    )
    assert problem["errors"] == [
        {"field": "vip", "message": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]
    await refused(api, ready["his"], "GET", "/slots?colour=red", 422, "invalid_request")


async def test_bad_id_checksum(api, ready):
    good = resident_id(2)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    problem = await refused(
        api,
        ready["his"],
        "POST",
        "/patients",
        422,
        "invalid_id_number",
        json={"name": "孙八", "id_number": bad, "phone": phone(2)},
    )
    assert problem["reason"] == "checksum"
    await refused(
        api,
        ready["his"],
        "POST",
        "/patients",
        422,
        "invalid_input",
        json={"name": "孙八", "id_number": good, "phone": "12345"},
    )


async def test_huge_body(api, ready):
    huge = {"name": "x" * 70_000, "id_number": resident_id(3), "phone": phone(3)}
    problem = await refused(
        api, ready["his"], "POST", "/patients", 413, "body_too_large", json=huge
    )
    assert problem["limit"] == 65536

    async def chunked():  # no Content-Length: the limit holds while reading
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 10_000
        yield b'"}'

    await refused(
        api,
        ready["his"],
        "POST",
        "/patients",
        413,
        "body_too_large",
        data=chunked(),
        headers={"Content-Type": "application/json"},
    )
    # refused before the token is even looked at
    await refused(api, None, "POST", "/patients", 413, "body_too_large", json=huge)


async def test_unknown_hospital(api, ready):
    problem = await refused(
        api,
        ready["admin"],
        "POST",
        "/patients",
        404,
        "not_found",
        json={"hospital": "NOPE", "name": "孙八", "id_number": resident_id(4), "phone": phone(4)},
    )
    assert (problem["entity"], problem["key"]) == ("hospital", "NOPE")
    await refused(
        api, ready["admin"], "PUT", "/hospitals/NOPE/departments/101", 404, "not_found",
        json={"name": "x"},
    )  # fmt: skip
    await refused(api, ready["admin"], "GET", "/slots?hospital=NOPE", 404, "not_found")
    await refused(api, ready["admin"], "GET", "/rules?hospital=NOPE", 404, "not_found")


async def test_missing_or_forged_token(api, ready):
    body = {"slot_id": ready["slot"], "patient_id": ready["patient"]}
    for headers in (
        {},
        {"Authorization": "Bearer gh_forged"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ):
        before = await api.rows()
        async with api.client.post("/api/v1/bookings", json=body, headers=headers) as resp:
            assert resp.status == 401
            assert resp.content_type == "application/problem+json"
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert (await resp.json(content_type=None))["code"] == "unauthorized"
        assert await api.rows() == before
    assert ("unknown", "unauthorized") in api.outcomes


async def test_wrong_content_type(api, ready):
    body = json.dumps({"slot_id": ready["slot"], "patient_id": ready["patient"]})
    await refused(
        api, ready["his"], "POST", "/bookings", 415, "unsupported_media_type",
        data=body, headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    await refused(
        api, ready["his"], "POST", "/bookings", 415, "unsupported_media_type",
        data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip


async def test_unknown_route_and_wrong_method(api, ready):
    await refused(api, ready["his"], "GET", "/no-such-thing", 404, "not_found")
    await refused(api, None, "GET", "/no/such/thing", 404, "not_found")  # / is the index
    before = await api.rows()
    async with api.client.delete("/api/v1/bookings", headers=ready["his"]) as resp:
        assert resp.status == 405
        assert resp.content_type == "application/problem+json"
        assert set(resp.headers["Allow"].split(", ")) == {"GET", "POST"}
        problem = await resp.json(content_type=None)
        assert problem["code"] == "method_not_allowed"
    assert await api.rows() == before


async def test_unexpected_error_is_500_without_details(api, ready, monkeypatch, caplog):
    async def broken(command):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(api.services, "handle", broken)
    with caplog.at_level(logging.ERROR, logger="hospital_api.web"):
        problem = await refused(
            api,
            ready["his"],
            "POST",
            "/bookings",
            500,
            "internal_error",
            json={"slot_id": ready["slot"], "patient_id": ready["patient"]},
        )
    assert "hunter2" not in json.dumps(problem)
    assert "hunter2" in caplog.text  # logged, with its traceback
    assert any(r.exc_info for r in caplog.records)
    assert api.outcomes[-1] == ("his", "internal_error")


async def test_store_unavailable_is_503_with_retry_after(api, ready, monkeypatch):
    async def down(command):
        raise StoreUnavailable(reason="disk full")

    monkeypatch.setattr(api.services, "handle", down)
    async with api.client.post(
        "/api/v1/bookings",
        json={"slot_id": ready["slot"], "patient_id": ready["patient"]},
        headers=ready["his"],
    ) as resp:
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "1"
        assert (await resp.json(content_type=None))["code"] == "store_unavailable"


def test_every_domain_error_has_a_status_and_wording():
    for cls in ALL_ERRORS:
        assert cls.code in DOMAIN_PROBLEMS, cls
        status, title, _ = DOMAIN_PROBLEMS[cls.code]
        # queued for a release draw (公平放号) is no refusal: 202 Accepted, told later
        assert 400 <= status < 600 or (cls.code, status) == ("queued", 202)
        params = {name: f"<{name}>" for name in inspect.signature(cls.__init__).parameters}
        params.pop("self")
        response = problems.from_domain(cls(**params))
        doc = json.loads(response.body)
        assert doc["status"] == status == response.status
        assert doc["code"] == cls.code
        assert doc["detail"] != title  # the template used every parameter it names
        assert "{" not in doc["detail"]


def test_refusals_of_a_booking_are_409():
    for code in ("slot_full", "already_booked", "blacklisted", "outside_window", "limit_reached"):
        assert DOMAIN_PROBLEMS[code][0] == 409
    assert DOMAIN_PROBLEMS["not_found"][0] == 404
    assert DOMAIN_PROBLEMS["store_unavailable"][0] == 503
    for code in ("invalid_input", "invalid_id_number", "real_name_mismatch", "forbidden"):
        assert DOMAIN_PROBLEMS[code][0] in (403, 422)


TOO_BIG = 2**63  # one past what SQLite's INTEGER and PostgreSQL's bigint hold


async def test_integers_past_64_bits_are_refused(api, ready):
    his, admin = ready["his"], ready["admin"]
    for path in (
        f"/bookings?patient={TOO_BIG}",
        f"/bookings?session={TOO_BIG}",
        f"/blacklist?patient={TOO_BIG}",
        f"/bookings?patient=-{TOO_BIG}",
    ):
        await refused(api, his, "GET", path, 422, "invalid_request")
    slot, patient = ready["slot"], ready["patient"]
    for body in (
        {"slot_id": TOO_BIG, "patient_id": patient},
        {"slot_id": slot, "patient_id": TOO_BIG},
        {"slot_id": slot, "patient_id": 10**30},
    ):
        await refused(api, his, "POST", "/bookings", 422, "invalid_request", json=body)
    await refused(
        api, his, "POST", "/blacklist", 422, "invalid_request",
        json={"patient_id": TOO_BIG, "until": "2026-08-01", "reason": "x"},
    )  # fmt: skip
    await refused(
        api, his, "POST", f"/hospitals/H001/sessions/{ready['session']}/stop", 422,
        "invalid_request", json={"mode": "move", "target_session_id": TOO_BIG},
    )  # fmt: skip
    for value in (TOO_BIG, -TOO_BIG - 1, 2**64, 1_000_001):
        await refused(
            api, admin, "PUT", "/rules/max_active_per_patient", 422, "invalid_request",
            json={"value": value},
        )  # fmt: skip
    await refused(
        api, admin, "PUT", "/rules/booking_window_days", 422, "invalid_input",
        json={"value": 3651},
    )  # fmt: skip
    # path ids: the largest id is looked up (not found), one more is refused
    await refused(api, his, "GET", f"/patients/{TOO_BIG - 1}", 404, "not_found")
    await refused(api, his, "GET", f"/patients/{TOO_BIG}", 422, "invalid_request")
    await refused(api, his, "DELETE", f"/blacklist/{TOO_BIG}", 422, "invalid_request")


async def test_an_authorization_header_that_is_not_utf8_is_401(api, ready):
    body = json.dumps({"slot_id": ready["slot"], "patient_id": ready["patient"]}).encode()
    for raw in (b"Bearer gh_\xff\xfe", b"Bearer \xe4\xb8", "Bearer 令牌".encode()):
        before = await api.rows()
        # raw bytes on the wire: an HTTP client would encode the header for us
        reader, writer = await asyncio.open_connection(api.client.host, api.client.port)
        writer.write(
            b"POST /api/v1/bookings HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Authorization: " + raw + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 401 "), answer
        assert json.loads(payload)["code"] == "unauthorized"
        assert await api.rows() == before


async def test_days_at_the_ends_of_the_calendar_are_refused(api, ready):
    his = ready["his"]
    session = {
        "doctor": "00868", "period": "morning", "start": "00:00", "end": "01:00",
        "slot_minutes": 30, "places_per_slot": 1,
    }  # fmt: skip
    for day in ("0001-01-01", "1999-12-31", "3000-01-01", "9999-12-31"):
        await refused(
            api, his, "POST", "/hospitals/H001/sessions", 422, "invalid_request",
            json={**session, "date": day},
        )  # fmt: skip
        await refused(
            api, his, "POST", "/blacklist", 422, "invalid_request",
            json={"patient_id": ready["patient"], "until": day, "reason": "x"},
        )  # fmt: skip
        for query in (f"date={day}", f"date=2026-07-11&date_to={day}"):
            await refused(api, his, "GET", f"/slots?{query}", 422, "invalid_request")
        await refused(api, his, "GET", f"/bookings?date={day}", 422, "invalid_request")
    got, _ = await api.call(
        "POST", "/blacklist", his,
        json={"patient_id": ready["patient"], "until": "2999-12-31", "reason": "x"},
    )  # fmt: skip
    assert got == 201


async def test_a_nul_character_is_refused_in_every_text(api, ready):
    """PostgreSQL's text cannot hold U+0000: it was a 500 there."""
    his, admin, nul = ready["his"], ready["admin"], "a\u0000b"
    for auth, method, path, body in (
        (admin, "PUT", "/hospitals/H003", {"name": nul}),
        (admin, "PUT", "/hospitals/H001/departments/102", {"name": "x", "aliases": [nul]}),
        (his, "POST", "/patients", {"name": nul, "id_number": resident_id(5), "phone": phone(5)}),
        (his, "POST", "/blacklist", {"patient_id": ready["patient"], "until": "2026-08-01",
                                     "reason": nul}),
        (his, "POST", f"/patients/{ready['patient']}/top-up", {"amount": 1, "reference": nul}),
    ):  # fmt: skip
        problem = await refused(api, auth, method, path, 422, "invalid_request", json=body)
        assert "NUL" in problem["errors"][0]["message"]
    await refused(api, his, "GET", "/patients?card_no=%00", 422, "invalid_request")
