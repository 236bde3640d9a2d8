"""Bad input on every kind of endpoint: an OperationOutcome with a 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.hospital_api.fhir.helpers import appointment_for, error_code
from tests.hospital_api.helpers import TOMORROW
from tests.support.world import World, first_slot

BAD_SEARCHES = [
    ("/Slot?_count=99999999999999999999999999", 400, "invalid_count"),
    ("/Slot?_count=0", 400, "invalid_count"),
    ("/Slot?_count=501", 400, "invalid_count"),
    ("/Slot?_count=-1", 400, "invalid_count"),
    ("/Slot?_count=abc", 400, "invalid_count"),
    ("/Slot?_count=%C2%B2", 400, "invalid_count"),  # ²: a digit to str.isdigit, not to int
    ("/Appointment/%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2", 404, "not_found"),
    ("/Slot?_count=1&_count=2", 400, "repeated_parameter"),
    ("/Slot?_cursor=x", 400, "invalid_cursor"),
    ("/Slot?_cursor=99999999999999999999999", 400, "invalid_cursor"),
    ("/Slot?start=2026-13-45", 400, "invalid_date"),
    ("/Slot?start=tomorrow", 400, "invalid_date"),
    ("/Slot?start=ge2026-07-11T25:00", 400, "invalid_date"),
    ("/Slot?start=2026-07-11T08:00:00%2B99:00", 400, "invalid_date"),
    ("/Slot?status=maybe", 400, "invalid_token"),
    ("/Slot?schedule=Patient/1", 400, "invalid_reference"),
    ("/Slot?schedule=Schedule/99999999999999999999999", 400, "invalid_reference"),
    ("/Slot?service-type=http://loinc.org|101", 400, "invalid_token"),
    ("/Slot?colour=red", 400, "unknown_parameter"),
    ("/Schedule?date=yesterday", 400, "invalid_date"),
    ("/Schedule?active=perhaps", 400, "invalid_token"),
    ("/Appointment", 400, "missing_parameter"),
    ("/Appointment?patient:identifier=http://x|1", 400, "invalid_token"),
    ("/Appointment/$find?start=2026-07-11", 400, "missing_parameter"),
    ("/Appointment/$find?start=2026-07-11&end=soon", 400, "invalid_date"),
    ("/Slot/abc", 404, "not_found"),
    ("/Slot/99999999999999999999999", 404, "not_found"),
    ("/Appointment/12", 404, "not_found"),
    ("/Appointment/123456789", 404, "not_found"),
    ("/Patient", 404, "not_found"),
    ("/Patient/1", 404, "not_found"),
    ("/Slot/1/_history", 404, "not_found"),
]


@pytest.mark.parametrize(("path", "status", "code"), BAD_SEARCHES)
async def test_bad_searches_and_reads(fhir, services, path, status, code):
    await World(services).basic(TOMORROW)
    his = await fhir.token("his", "H001")
    got, outcome = await fhir.get(path, his)
    assert (got, error_code(outcome)) == (status, code), outcome


async def test_no_token_a_forged_one_and_a_revoked_kind(fhir, services):
    await World(services).basic(TOMORROW)
    for headers in (
        {},
        {"Authorization": "Bearer gh_forged0000000000000000000000000000000000"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer \u00e9\u00e9"},
    ):
        status, outcome = await fhir.get("/Slot", headers)
        assert status == 401
        assert error_code(outcome) == "unauthorized"
    status, _ = await fhir.get("/metadata")  # public
    assert status == 200


BAD_BODIES = [
    (b"{not json", "application/fhir+json", 400, "malformed_json"),
    (b"[]", "application/fhir+json", 400, "invalid_resource"),
    (b'{"resourceType": "Patient"}', "application/fhir+json", 400, "invalid_resource"),
    (b'{"resourceType": "Appointment"}', "application/fhir+json", 400, "invalid_resource"),
    (b'{"resourceType": "Appointment", "status": "proposed", "participant": [{"status": '
     b'"accepted", "bogus": 1}]}', "application/fhir+json", 400, "invalid_resource"),
    (b'{"resourceType": "Appointment", "status": "proposed", "participant": [{"status": '
     b'"accepted"}]}', "application/fhir+json", 400, "invalid_appointment"),
    (b'{"resourceType": "Parameters", "parameter": []}', "application/fhir+json", 400,
     "missing_parameter"),
    (b'{"resourceType": "Parameters", "parameter": [{"name": "appointment-resource", '
     b'"resource": {"resourceType": "Slot"}}]}', "application/fhir+json", 400,
     "invalid_resource"),
    (b"x=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"", "application/fhir+json", 400, "malformed_json"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "content_type", "status", "code"), BAD_BODIES)
async def test_bad_bodies(fhir, services, body, content_type, status, code):
    await World(services).basic(TOMORROW)
    his = await fhir.token("his", "H001")
    for operation in ("$hold", "$book"):
        got, outcome = await fhir.call(
            "POST", f"/Appointment/{operation}", his, data=body,
            headers={"Content-Type": content_type},
        )  # fmt: skip
        assert (got, error_code(outcome)) == (status, code), outcome


async def test_bad_appointment_references(fhir, services):
    session = await World(services).basic(TOMORROW)
    patient = await World(services).patient()
    slot_id = await first_slot(services, session.id)
    his = await fhir.token("his", "H001")
    cases = [
        ({**appointment_for(slot_id, "H001", patient.card_no), "slot": []}, 400),
        (appointment_for(99999999, "H001", patient.card_no), 404),
        (appointment_for(slot_id, "H001", "000000000"), 404),
        (appointment_for(slot_id, "H009", patient.card_no), 404),
        ({**appointment_for(slot_id, "H001", patient.card_no), "id": "nope"}, 404),
        (appointment_for(slot_id, "H001", "0001\u0000"), 400),  # no NUL reaches the store
        (appointment_for(slot_id, "H001", "9" * 200), 400),
    ]
    for body, status in cases:
        got, outcome = await fhir.call("POST", "/Appointment/$book", his, json=body)
        assert got == status, outcome


async def test_a_body_too_large_and_a_wrong_update(fhir, services):
    await World(services).basic(TOMORROW)
    his = await fhir.token("his", "H001")
    got, outcome = await fhir.call(
        "POST", "/Appointment/$book", his, data=b"{" + b" " * 70000 + b"}",
        headers={"Content-Type": "application/fhir+json"},
    )  # fmt: skip
    assert got == 413
    got, outcome = await fhir.call(
        "PUT", "/Appointment/123456789", his,
        json={"resourceType": "Appointment", "id": "987654321", "status": "cancelled",
              "participant": [{"status": "accepted"}]},
    )  # fmt: skip
    assert (got, error_code(outcome)) == (400, "id_mismatch")
    got, outcome = await fhir.call(
        "PATCH", "/Appointment/123456789", his, data=b'{"op": "remove"}',
        headers={"Content-Type": "application/json-patch+json"},
    )  # fmt: skip
    assert (got, error_code(outcome)) == (400, "invalid_patch")
    got, outcome = await fhir.call("DELETE", "/Slot/1", his)
    assert got == 405


async def test_a_platform_token_names_the_hospital_of_a_find(fhir, services):
    await World(services).basic(TOMORROW)
    admin = await fhir.token("admin", None)
    got, outcome = await fhir.get("/Appointment/$find?start=2026-07-11&end=2026-07-11", admin)
    assert (got, error_code(outcome)) == (400, "missing_parameter")
    _, bundle = await fhir.get("/Organization?identifier=H001", admin)
    org = bundle["entry"][0]["resource"]["id"]
    got, found = await fhir.get(
        f"/Appointment/$find?start=2026-07-11&end=2026-07-11&organization=Organization/{org}",
        admin,
    )
    assert got == 200
    assert len(found["entry"]) == 8


async def test_a_store_that_is_down_is_a_503_to_retry(fhir, services):
    await World(services).basic(TOMORROW)
    his = await fhir.token("his", "H001")
    await fhir.get("/Slot", his)  # the token is verified (and cached) while the store is up
    await services.store.close()
    try:
        async with fhir.client.get("/fhir/R4/Slot", headers=his) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "1"
            outcome = await resp.json(content_type=None)
        assert error_code(outcome) == "store_unavailable"
        assert outcome["issue"][0]["code"] == "transient"
    finally:
        await services.store.open()
