"""The whole life of a booking over HTTP: schedules, patients, bookings, blacklist,
rules and session stops, each answer checked against its published schema."""

from __future__ import annotations

import json

from pydantic import BaseModel

from hospital_api import schemas as s
from hospital_api import schemas_his as fs
from tests.hospital_api.helpers import TODAY, TOMORROW
from tests.support.world import phone, resident_id


def check(model: type[BaseModel], body: dict) -> dict:
    """The body matches the response schema exactly (no missing or extra member)."""
    model.model_validate(body)
    return body


async def schedule(api, admin, code="H001"):
    status, body = await api.call("PUT", f"/hospitals/{code}", admin, json={"name": "协和医院"})
    assert status == 201
    check(s.HospitalOut, body)
    assert body == {"code": code, "name": "协和医院", "timezone": "Asia/Shanghai"}
    status, _ = await api.call("PUT", f"/hospitals/{code}", admin, json={"name": "北京协和医院"})
    assert status == 200
    status, body = await api.call(
        "PUT", f"/hospitals/{code}/departments/101", admin, json={"name": "心内科"}
    )
    assert status == 201
    check(s.DepartmentOut, body)
    for work_no in ("00868", "00869"):
        status, body = await api.call(
            "PUT",
            f"/hospitals/{code}/doctors/{work_no}",
            admin,
            json={"department": "101", "name": "张医生", "title": "主任医师", "fee": 5000},
        )
        assert status == 201
        check(s.DoctorOut, body)
        assert body["fee"] == 5000


async def new_session(api, auth, code="H001", **fields):
    payload = {
        "doctor": "00868",
        "date": TOMORROW.isoformat(),
        "period": "morning",
        "start": "08:00",
        "end": "12:00",
        "slot_minutes": 30,
        "places_per_slot": 2,
        "room": "301",
    } | fields
    status, body = await api.call("POST", f"/hospitals/{code}/sessions", auth, json=payload)
    assert status == 201, body
    return check(s.SessionOut, body)


async def test_full_booking_flow(api):
    admin = await api.token("admin")
    await schedule(api, admin)
    morning = await new_session(api, admin)
    assert len(morning["slots"]) == 8
    assert morning["fee"] == 5000
    assert morning["doctor"] == "00868"
    assert morning["slots"][0]["starts_at"] == "2026-07-11T08:00:00+08:00"
    today = await new_session(
        api, admin, date=TODAY.isoformat(), period="afternoon", start="14:00", end="17:00"
    )

    his = await api.token("his", "H001")
    status, patient = await api.call(
        "POST",
        "/patients",
        his,
        json={"name": "李四", "id_number": resident_id(1), "phone": phone(1)},
    )
    assert status == 201
    check(s.PatientOut, patient)
    assert patient["hospital"] == "H001"
    assert patient["phone"] == "139****0001"
    assert patient["id_last4"] == resident_id(1)[-4:]

    status, slots = await api.call("GET", f"/slots?date={TOMORROW}&doctor=00868", his)
    assert status == 200
    check(fs.SlotPage, slots)
    assert len(slots["items"]) == 8
    slot = slots["items"][0]
    assert slot["free"] == 2
    assert slot["start"] == "08:00"

    status, booking = await api.call(
        "POST",
        "/bookings",
        his,
        json={"slot_id": slot["slot_id"], "patient_id": patient["id"], "patient_name": "李四"},
    )
    assert status == 201, booking
    check(s.BookingOut, booking)
    no = booking["booking_no"]
    assert booking["status"] == "confirmed"
    assert booking["channel"] == "his"
    assert booking["starts_at"] == "2026-07-11T08:00:00+08:00"
    assert booking["created_at"] == "2026-07-10T09:00:00+08:00"
    assert api.outcomes == [("his", "created")]

    status, got = await api.call("GET", f"/bookings/{no}", his)
    assert status == 200
    assert got == booking
    status, listed = await api.call("GET", f"/bookings?patient={patient['id']}", his)
    check(fs.BookingPage, listed)
    assert [b["booking_no"] for b in listed["items"]] == [no]
    status, listed = await api.call("GET", f"/bookings?date={TOMORROW}", his)
    assert [b["booking_no"] for b in listed["items"]] == [no]
    status, listed = await api.call("GET", f"/bookings?date={TODAY}", his)
    assert listed["items"] == []

    status, topped = await api.call(
        "POST", f"/patients/{patient['id']}/top-up", his, json={"amount": 10000}
    )
    assert status == 200
    assert topped["balance"] == 10000
    status, paid = await api.call("POST", f"/bookings/{no}/pay", his, json={"method": "balance"})
    assert status == 200, paid
    assert paid["paid"] == 5000
    status, again = await api.call("GET", f"/patients/{patient['id']}", his)
    assert again["balance"] == 5000

    target = today["slots"][0]["id"]
    status, moved = await api.call(
        "POST", f"/bookings/{no}/reschedule", his, json={"slot_id": target}
    )
    assert status == 200, moved
    assert moved["slot_id"] == target
    assert moved["date"] == TODAY.isoformat()
    assert moved["booking_no"] == no
    assert moved["paid"] == 5000

    status, checked = await api.call("POST", f"/bookings/{no}/check-in", his)
    assert status == 200, checked
    check(s.BookingOut, checked)
    assert checked["status"] == "checked_in"
    assert checked["queue_no"] == 1


async def test_cancel_blacklist_and_rules(api):
    admin = await api.token("admin")
    await schedule(api, admin)
    session = await new_session(api, admin)
    slot_id = session["slots"][0]["id"]
    his = await api.token("his", "H001")
    status, patient = await api.call(
        "POST",
        "/patients",
        his,
        json={"name": "王五", "id_number": resident_id(2), "phone": phone(2)},
    )
    assert status == 201

    booking_body = {"slot_id": slot_id, "patient_id": patient["id"]}
    status, booking = await api.call("POST", "/bookings", his, json=booking_body)
    assert status == 201
    status, cancelled = await api.call("POST", f"/bookings/{booking['booking_no']}/cancel", his)
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "patient"
    status, slots = await api.call("GET", f"/slots?date={TOMORROW}&time=08:10&all=true", his)
    assert [(x["slot_id"], x["booked"]) for x in slots["items"]] == [(slot_id, 0)]

    status, ban = await api.call(
        "POST",
        "/blacklist",
        his,
        json={"patient_id": patient["id"], "until": "2026-08-01", "reason": "倒号"},
    )
    assert status == 201, ban
    check(s.BlacklistOut, ban)
    assert ban["hospital"] == "H001"
    assert ban["source"] == "his"
    assert ban["ends_at"] == "2026-08-02T00:00:00+08:00"
    status, bans = await api.call("GET", "/blacklist", his)
    check(fs.BlacklistPage, bans)
    assert [b["id"] for b in bans["items"]] == [ban["id"]]

    status, refused = await api.call("POST", "/bookings", his, json=booking_body)
    assert status == 409
    assert refused["code"] == "blacklisted"
    assert refused["type"] == "/api/v1/problems/blacklisted"
    assert refused["until"] == "2026-08-02T00:00:00+08:00"
    assert refused["reason"] == "倒号"

    status, lifted = await api.call("DELETE", f"/blacklist/{ban['id']}", his)
    assert status == 200
    assert lifted["lifted_at"] == "2026-07-10T09:00:00+08:00"
    status, bans = await api.call("GET", "/blacklist", his)
    assert bans["items"] == []
    status, bans = await api.call("GET", "/blacklist?all=true", his)
    assert len(bans["items"]) == 1
    status, booking = await api.call("POST", "/bookings", his, json=booking_body)
    assert status == 201
    assert api.outcomes == [("his", "created"), ("his", "blacklisted"), ("his", "created")]

    status, rules = await api.call("GET", "/rules", his)
    assert status == 200
    check(s.RulesOut, rules)
    effective = {r["key"]: r for r in rules["effective"]}
    assert effective["max_active_per_patient"]["value"] == 5
    assert effective["max_active_per_patient"]["hospital"] is None
    status, rule = await api.call(
        "PUT", "/rules/max_active_per_patient", his, json={"value": 3, "priority": 1}
    )
    assert status == 200, rule
    check(s.RuleOut, rule)
    assert rule["hospital"] == "H001"
    status, rules = await api.call("GET", "/rules?hospital=H001", admin)
    effective = {r["key"]: r for r in rules["effective"]}
    assert effective["max_active_per_patient"]["value"] == 3
    assert effective["max_active_per_patient"]["hospital"] == "H001"
    assert [r["key"] for r in rules["stored"]] == ["max_active_per_patient"]
    status, bad = await api.call("PUT", "/rules/max_active_per_patient", his, json={"value": True})
    assert status == 422
    assert bad["code"] == "invalid_input"
    status, bad = await api.call("PUT", "/rules/no_such_rule", his, json={"value": 1})
    assert status == 404


async def test_stop_a_session_moving_then_cancelling(api):
    admin = await api.token("admin")
    await schedule(api, admin)
    day = "2026-07-12"
    morning = await new_session(api, admin, doctor="00869", date=day)
    afternoon = await new_session(
        api, admin, doctor="00869", date=day, period="afternoon", start="14:00", end="17:00"
    )
    his = await api.token("his", "H001")
    status, patient = await api.call(
        "POST",
        "/patients",
        his,
        json={"name": "赵六", "id_number": resident_id(3), "phone": phone(3)},
    )
    status, booking = await api.call(
        "POST",
        "/bookings",
        his,
        json={"slot_id": morning["slots"][2]["id"], "patient_id": patient["id"]},
    )
    assert status == 201
    no = booking["booking_no"]

    status, summary = await api.call(
        "POST",
        f"/hospitals/H001/sessions/{morning['id']}/stop",
        his,
        json={"mode": "move", "target_session_id": afternoon["id"], "reason": "医生出差"},
    )
    assert status == 200, summary
    check(s.StopOut, summary)
    assert summary["moved"] == 1
    assert summary["cancelled"] == 0
    status, moved = await api.call("GET", f"/bookings/{no}", his)
    assert moved["session_id"] == afternoon["id"]
    assert moved["status"] == "confirmed"
    status, stopped = await api.call("GET", f"/hospitals/H001/sessions/{morning['id']}", his)
    assert stopped["status"] == "stopped"

    status, again = await api.call(
        "POST", f"/hospitals/H001/sessions/{morning['id']}/stop", his, json={"mode": "cancel"}
    )
    assert status == 409
    assert again["code"] == "session_unavailable"
    assert again["state"] == "stopped"  # the error's own "status" param, renamed

    status, summary = await api.call(
        "POST", f"/hospitals/H001/sessions/{afternoon['id']}/stop", his, json={"mode": "cancel"}
    )
    assert status == 200
    assert summary["cancelled"] == 1
    assert summary["moved"] == 0
    status, cancelled = await api.call("GET", f"/bookings/{no}", his)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "session_stopped"


async def test_personal_data_is_masked_everywhere(api):
    admin = await api.token("admin")
    await schedule(api, admin)
    his = await api.token("his", "H001")
    id_number, mobile = resident_id(4), phone(4)
    texts = []
    async with api.client.post(
        "/api/v1/patients",
        headers=his,
        json={"name": "钱七", "id_number": id_number, "phone": mobile},
    ) as resp:
        assert resp.status == 201
        texts.append(await resp.text())
        patient_id = json.loads(texts[-1])["id"]
    async with api.client.get(f"/api/v1/patients/{patient_id}", headers=his) as resp:
        assert resp.status == 200
        texts.append(await resp.text())
    for body in ({"phone": mobile}, {"id_number": id_number}):
        async with api.client.post("/api/v1/patients/search", headers=his, json=body) as resp:
            assert resp.status == 200
            texts.append(await resp.text())
    for text in texts:
        assert mobile not in text
        assert id_number not in text
        assert "139****0004" in text
    assert len(json.loads(texts[-1])["items"]) == 1


async def test_a_new_hospital_takes_the_configured_time_zone_and_keeps_its_own(
    aiohttp_client, services
):
    from tests.hospital_api.helpers import Api, make_root

    api = Api(
        await aiohttp_client(make_root(services, [], default_timezone="Asia/Urumqi")), services, []
    )
    admin = await api.token("admin")
    status, body = await api.call("PUT", "/hospitals/H777", admin, json={"name": "乌鲁木齐医院"})
    assert (status, body["timezone"]) == (201, "Asia/Urumqi")
    status, body = await api.call(
        "PUT", "/hospitals/H777", admin, json={"name": "乌鲁木齐医院", "timezone": "Asia/Shanghai"}
    )
    assert (status, body["timezone"]) == (200, "Asia/Shanghai")
    status, body = await api.call("PUT", "/hospitals/H777", admin, json={"name": "新名字"})
    assert (status, body["timezone"]) == (200, "Asia/Shanghai")  # unchanged when omitted


async def test_phone_and_id_numbers_are_searched_in_the_body_never_in_the_url(api):
    """#10 item 19: a phone or ID number in the query string is refused, pointing at POST
    /patients/search; a card number still works in the query string."""
    admin = await api.token("admin")
    await schedule(api, admin)
    his = await api.token("his", "H001")
    id_number, mobile = resident_id(5), phone(5)
    status, created = await api.call(
        "POST", "/patients", his, json={"name": "孙八", "id_number": id_number, "phone": mobile}
    )
    assert status == 201, created
    for query in (f"phone={mobile}", f"id_number={id_number}", f"card_no=1&phone={mobile}"):
        async with api.client.get(f"/api/v1/patients?{query}", headers=his) as resp:
            assert resp.status == 422
            problem = await resp.json()
        assert "POST /api/v1/patients/search" in problem["detail"]
        assert mobile not in json.dumps(problem)
        assert id_number not in json.dumps(problem)
    status, found = await api.call("GET", f"/patients?card_no={created['card_no']}", his)
    assert (status, [p["id"] for p in found["items"]]) == (200, [created["id"]])
    for body in ({"phone": mobile}, {"id_number": id_number}, {"card_no": created["card_no"]}):
        status, found = await api.call("POST", "/patients/search", his, json=body)
        assert (status, [p["id"] for p in found["items"]]) == (200, [created["id"]]), body
    status, problem = await api.call("POST", "/patients/search", his, json={})
    assert status == 422
