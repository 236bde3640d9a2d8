"""``POST /api/v1/hospitals/{code}/schedule`` (排班导入, #13): a week for 50 doctors in one
request, all or nothing, every bad row by its list and index; bad JSON, wrong types and huge
integers are 4xx, never a 500; the hospital's own token only."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest

from hospital_api import schemas as s
from hospital_api import schemas_bulk as sb
from tests.hospital_api.helpers import count_rows
from tests.support.world import World

MONDAY = date(2026, 7, 13)
PATH = "/hospitals/H001/schedule"


def _departments() -> list[dict]:
    return [
        {"code": "101", "name": "心内科", "aliases": ["心脏科"]},
        {"code": "102", "name": "呼吸科"},
    ]


def _doctors(n: int) -> list[dict]:
    return [
        {"work_no": f"{10000 + i:05d}", "department": "101" if i % 2 else "102",
         "name": f"医生{i:02d}", "title": "主治医师", "fee": 2500}
        for i in range(n)
    ]  # fmt: skip


def _week(doctors: list[dict]) -> list[dict]:
    """Mornings and afternoons, Monday to Sunday (14 sessions a doctor)."""
    sessions = []
    for doctor in doctors:
        for d in range(7):
            day = (MONDAY + timedelta(days=d)).isoformat()
            sessions.append({"doctor": doctor["work_no"], "date": day, "period": "morning",
                             "start": "08:00", "end": "12:00", "slot_minutes": 15,
                             "places_per_slot": 2, "room": "201"})  # fmt: skip
            sessions.append({"doctor": doctor["work_no"], "date": day, "period": "afternoon",
                             "start": "13:30", "end": "17:30", "slot_minutes": 15,
                             "places_per_slot": 2, "room": "201"})  # fmt: skip
    return sessions


@pytest.fixture
async def his(api) -> dict:
    await World(api.services).hospital("H001")
    await World(api.services).hospital("H002")
    return await api.token("his", "H001")


async def test_a_week_for_fifty_doctors_in_one_request(api, his):
    doctors = _doctors(50)
    payload = {"departments": _departments(), "doctors": doctors, "sessions": _week(doctors)}
    raw = json.dumps(payload, ensure_ascii=False).encode()
    assert len(raw) > 65536  # more than the API's other routes take
    status, body = await api.call(
        "POST", PATH, his, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 201, body
    sb.ScheduleOut.model_validate(body)
    assert body["departments"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert body["doctors"] == {"created": 50, "updated": 0, "unchanged": 0}
    assert body["sessions"] == {"created": 700, "updated": 0, "unchanged": 0}
    assert body["slots"] == 700 * 16
    assert len(body["session_ids"]) == 700
    counted = await count_rows(api.services, "doctors", "sessions", "slots")
    assert counted == {"doctors": 50, "sessions": 700, "slots": 700 * 16}
    status, one = await api.call("GET", f"/hospitals/H001/sessions/{body['session_ids'][-1]}", his)
    assert status == 200
    assert (one["doctor"], one["date"], one["period"]) == ("10049", "2026-07-19", "afternoon")
    assert len(one["slots"]) == 16
    # the same week again changes nothing, and says so
    status, again = await api.call("POST", PATH, his, json=payload)
    assert status == 200, again
    assert again["sessions"] == {"created": 0, "updated": 0, "unchanged": 700}
    assert again["doctors"]["unchanged"] == 50


async def test_every_bad_row_is_listed_by_index_and_nothing_is_imported(api, his):
    doctors = _doctors(3)
    sessions = _week(doctors)
    sessions[3]["start"] = "25:00"  # not a time
    sessions[5]["end"] = "07:00"  # before its start
    sessions[8]["doctor"] = "99999"  # no such doctor
    sessions[9]["places_per_slot"] = "2"  # a string, not a number
    del sessions[11]["period"]
    doctors[1]["department"] = "999"
    payload = {"departments": _departments(), "doctors": doctors, "sessions": sessions}
    status, body = await api.call("POST", PATH, his, json=payload)
    assert status == 422, body
    assert body["code"] == "import_rejected"
    for row in body["errors"]:
        s.FieldError.model_validate(row)
    assert [(e["list"], e["index"], e["field"]) for e in body["errors"]] == [
        ("doctors", 1, "department"),
        ("sessions", 3, "start"),
        ("sessions", 5, "end"),
        ("sessions", 8, "doctor"),
        ("sessions", 9, "places_per_slot"),
        ("sessions", 11, "period"),
    ]
    assert body["errors"][2]["message"] == "must be after start"
    assert [e["type"] for e in body["errors"]] == [
        "unknown_department", "time_parsing", "invalid_input", "unknown_doctor", "int_type",
        "missing",
    ]  # fmt: skip
    assert await count_rows(api.services, "departments", "doctors", "sessions", "slots") == {
        "departments": 0, "doctors": 0, "sessions": 0, "slots": 0}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b'{"sessions": [', 400, "malformed_json"),
        (b"[]", 422, "invalid_request"),
        (b'{"sessions": {}}', 422, "invalid_request"),
        (b'{"rooms": []}', 422, "invalid_request"),
    ],
)
async def test_a_body_that_is_not_a_schedule_is_refused(api, his, raw, status, code):
    answer, body = await api.call(
        "POST", PATH, his, data=raw, headers={"Content-Type": "application/json"}
    )
    assert (answer, body["code"]) == (status, code), body


async def test_huge_integers_and_wrong_types_are_bad_rows(api, his):
    payload = {
        "departments": _departments(),
        "doctors": [_doctors(1)[0] | {"fee": 2**70}],
        "sessions": [_week(_doctors(1))[0] | {"slot_minutes": 10**30},
                     _week(_doctors(1))[1] | {"places_per_slot": 2.5},
                     "not a row"],
    }  # fmt: skip
    status, body = await api.call("POST", PATH, his, json=payload)
    assert status == 422, body
    assert [(e["list"], e["index"], e["field"]) for e in body["errors"]] == [
        ("doctors", 0, "fee"),
        ("sessions", 0, "slot_minutes"),
        ("sessions", 1, "places_per_slot"),
        ("sessions", 2, "(row)"),
    ]
    assert await count_rows(api.services, "doctors", "sessions") == {"doctors": 0, "sessions": 0}


async def test_too_many_rows_or_too_big_a_body_is_refused(api, his):
    rows = [{"code": "101", "name": "x"}] * 501  # more than MAX_DEPARTMENTS
    status, body = await api.call("POST", PATH, his, json={"departments": rows})
    assert (status, body["code"]) == (422, "invalid_request")
    huge = b'{"departments": [' + b'{"code": "101", "name": "x"},' * 200_000 + b"]}"
    status, body = await api.call(
        "POST", PATH, his, data=io.BytesIO(huge), headers={"Content-Type": "application/json"}
    )
    assert (status, body["code"]) == (413, "body_too_large")
    # the other routes keep the API's own limit
    status, body = await api.call(
        "POST", "/hospitals/H001/sessions", his, data=b" " * 70_000,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert (status, body["code"]) == (413, "body_too_large")


async def test_only_the_hospitals_own_token_imports(api, his):
    payload = {"departments": _departments()}
    other = await api.token("his", "H002")
    status, body = await api.call("POST", PATH, other, json=payload)
    assert (status, body["code"]) == (404, "not_found")
    clerk = await api.token("kiosk", "H001")
    status, body = await api.call("POST", PATH, clerk, json=payload)
    assert (status, body["code"]) == (403, "forbidden")
    status, body = await api.call("POST", PATH, json=payload)
    assert status == 401
    assert await count_rows(api.services, "departments") == {"departments": 0}
    status, body = await api.call("POST", PATH, his, json=payload)
    assert status == 201, body


async def test_a_doctor_row_of_the_wrong_shape_is_the_only_row_reported(api, his):
    doctors = _doctors(2)
    sessions = _week(doctors)
    doctors[0]["fee"] = "25"  # a string: the row is refused, its 14 sessions are not blamed
    payload = {"departments": _departments(), "doctors": doctors, "sessions": sessions}
    status, body = await api.call("POST", PATH, his, json=payload)
    assert status == 422, body
    assert [(e["list"], e["index"], e["field"]) for e in body["errors"]] == [("doctors", 0, "fee")]
