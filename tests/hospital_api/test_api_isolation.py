"""A hospital's token sees and changes only its hospital; a kiosk only books, pays,
checks in and reads."""

from __future__ import annotations

import pytest

from booking_core import blacklist
from tests.hospital_api.helpers import TOMORROW, hospital_with_session
from tests.support.world import World, first_slot, phone


@pytest.fixture
async def two_hospitals(api):
    """Hospitals A and B, each with a session, a patient (same phone in both) and a booking
    and a ban; the tokens of A."""
    world = {}
    for code in ("HA", "HB"):
        session = await hospital_with_session(api.services, code)
        slot_id = await first_slot(api.services, session.id)
        patient = await World(api.services, code).patient(seq=7)  # same person in both
        other = await World(api.services, code).patient("李四", seq=8)
        auth = await api.token("his", code)
        status, booking = await api.call(
            "POST", "/bookings", auth, json={"slot_id": slot_id, "patient_id": patient.id}
        )
        assert status == 201
        ban = await api.services.handle(
            blacklist.AddToBlacklist(patient_id=other.id, until=TOMORROW, reason="倒号")
        )
        world[code] = {
            "session": session.id,
            "slot": slot_id,
            "patient": patient.id,
            "booking": booking["booking_no"],
            "ban": ban.id,
            "his": auth,
        }
    world["kiosk"] = await api.token("kiosk", "HA")
    world["admin_a"] = await api.token("admin", "HA")
    return world


async def test_other_hospitals_things_are_not_found(api, two_hospitals):
    a, b = two_hospitals["HA"], two_hospitals["HB"]
    his = a["his"]
    for method, path, body in [
        ("GET", f"/bookings/{b['booking']}", None),
        ("POST", f"/bookings/{b['booking']}/cancel", {}),
        ("POST", f"/bookings/{b['booking']}/pay", {"method": "cash"}),
        ("POST", f"/bookings/{b['booking']}/check-in", {}),
        ("POST", f"/bookings/{b['booking']}/reschedule", {"slot_id": a["slot"]}),
        ("POST", f"/bookings/{a['booking']}/reschedule", {"slot_id": b["slot"]}),
        ("GET", f"/patients/{b['patient']}", None),
        ("POST", f"/patients/{b['patient']}/top-up", {"amount": 100}),
        ("POST", "/bookings", {"slot_id": b["slot"], "patient_id": a["patient"]}),
        ("POST", "/bookings", {"slot_id": a["slot"], "patient_id": b["patient"]}),
        ("GET", f"/hospitals/HB/sessions/{b['session']}", None),
        ("GET", f"/hospitals/HA/sessions/{b['session']}", None),
        ("POST", f"/hospitals/HB/sessions/{b['session']}/stop", {"mode": "cancel"}),
        ("POST", f"/hospitals/HA/sessions/{b['session']}/stop", {"mode": "cancel"}),
        ("POST", "/hospitals/HB/sessions", {
            "doctor": "00868", "date": "2026-07-12", "period": "morning", "start": "08:00",
            "end": "12:00", "slot_minutes": 30, "places_per_slot": 2,
        }),
        ("PUT", "/hospitals/HB/departments/102", {"name": "外科"}),
        ("PUT", "/hospitals/HB/doctors/00001", {"department": "101", "name": "x", "fee": 1}),
        ("POST", "/patients", {"hospital": "HB", "name": "孙八", "id_number": None}),
        ("POST", "/blacklist", {"patient_id": b["patient"], "until": "2026-08-01", "reason": "x"}),
        ("DELETE", f"/blacklist/{b['ban']}", None),
        ("GET", "/slots?hospital=HB", None),
        ("GET", "/rules?hospital=HB", None),
        ("PUT", "/rules/max_active_per_patient", {"value": 1, "hospital": "HB"}),
        ("GET", "/patients?hospital=HB&card_no=1234", None),
    ]:  # fmt: skip
        before = await api.rows()
        status, problem = await api.call(method, path, his, json=body)
        assert (status, problem["code"]) == (404, "not_found"), (method, path, problem)
        assert await api.rows() == before, (method, path)
    status, problem = await api.call("PUT", "/hospitals/HB", two_hospitals["admin_a"],
                                     json={"name": "偷改"})  # fmt: skip
    assert status == 404
    status, problem = await api.call("PUT", "/hospitals/HC", two_hospitals["admin_a"],
                                     json={"name": "新医院"})  # fmt: skip
    assert (status, problem["code"]) == (403, "forbidden")


async def test_lists_never_show_another_hospitals_rows(api, two_hospitals):
    a, b = two_hospitals["HA"], two_hospitals["HB"]
    for auth in (a["his"], two_hospitals["kiosk"], two_hospitals["admin_a"]):
        status, listed = await api.call("GET", "/bookings", auth)
        assert status == 200
        assert [x["booking_no"] for x in listed["items"]] == [a["booking"]]
        status, listed = await api.call("GET", f"/bookings?patient={b['patient']}", auth)
        assert listed["items"] == []
        status, listed = await api.call("GET", "/bookings?hospital=HB", auth)
        assert listed["items"] == []
        status, listed = await api.call("POST", "/patients/search", auth, json={"phone": phone(7)})
        assert [p["id"] for p in listed["items"]] == [a["patient"]]
        assert {p["hospital"] for p in listed["items"]} == {"HA"}
        status, listed = await api.call("GET", f"/slots?date={TOMORROW}", auth)
        assert {x["hospital"] for x in listed["items"]} == {"HA"}
    for auth in (a["his"], two_hospitals["admin_a"]):
        status, listed = await api.call("GET", "/blacklist?all=true", auth)
        assert [x["id"] for x in listed["items"]] == [a["ban"]]
    platform = await api.token("admin")
    status, listed = await api.call("GET", "/bookings", platform)
    assert {x["booking_no"] for x in listed["items"]} == {a["booking"], b["booking"]}


async def test_kiosk_may_only_read_book_pay_and_check_in(api, two_hospitals):
    a = two_hospitals["HA"]
    kiosk = two_hospitals["kiosk"]
    for method, path, body in [
        ("PUT", "/hospitals/HA", {"name": "x"}),
        ("PUT", "/hospitals/HA/departments/102", {"name": "外科"}),
        ("PUT", "/hospitals/HA/doctors/00001", {"department": "101", "name": "x", "fee": 1}),
        ("POST", "/hospitals/HA/sessions", {}),
        ("GET", f"/hospitals/HA/sessions/{a['session']}", None),
        ("POST", f"/hospitals/HA/sessions/{a['session']}/stop", {"mode": "cancel"}),
        ("POST", "/patients", {"name": "x"}),
        ("POST", f"/patients/{a['patient']}/top-up", {"amount": 100}),
        ("POST", f"/bookings/{a['booking']}/cancel", {}),
        ("POST", f"/bookings/{a['booking']}/reschedule", {"slot_id": a["slot"]}),
        ("GET", "/blacklist", None),
        ("POST", "/blacklist", {}),
        ("DELETE", f"/blacklist/{a['ban']}", None),
        ("GET", "/rules", None),
        ("PUT", "/rules/max_active_per_patient", {"value": 1}),
    ]:
        before = await api.rows()
        status, problem = await api.call(method, path, kiosk, json=body)
        assert (status, problem["code"]) == (403, "forbidden"), (method, path, problem)
        assert problem["role"] == "kiosk"
        assert await api.rows() == before
    his_only = await api.call("PUT", "/hospitals/HA", a["his"], json={"name": "x"})
    assert his_only[0] == 403

    status, _ = await api.call("GET", f"/slots?date={TOMORROW}", kiosk)
    assert status == 200
    status, _ = await api.call("GET", f"/patients/{a['patient']}", kiosk)
    assert status == 200
    status, _ = await api.call("GET", f"/bookings/{a['booking']}", kiosk)
    assert status == 200
    patient = await World(api.services, "HA").patient("周九", seq=9)
    status, booking = await api.call(
        "POST", "/bookings", kiosk, json={"slot_id": a["slot"], "patient_id": patient.id}
    )
    assert status == 201, booking
    assert booking["channel"] == "kiosk"
    no = booking["booking_no"]
    status, paid = await api.call("POST", f"/bookings/{no}/pay", kiosk, json={"method": "card"})
    assert status == 200
    assert paid["paid"] == paid["fee"]
    status, problem = await api.call("POST", f"/bookings/{no}/check-in", kiosk)
    assert status == 409  # tomorrow's booking: check-in opens at midnight
    assert problem["code"] == "check_in_not_open"
    assert problem["opens_at"] == "2026-07-11T00:00:00+08:00"
    assert ("kiosk", "created") in api.outcomes
