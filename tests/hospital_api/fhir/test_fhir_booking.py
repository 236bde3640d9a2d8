"""Booking through FHIR (IHE Scheduling): $find → $hold → $book books the place the IVR
then hears taken; a blacklisted patient gets an OperationOutcome naming the ban's end; a
hold is the core's unpaid hold; cancel by update; appointments read and searched."""

from __future__ import annotations

from datetime import date, timedelta

from booking_core import blacklist, bookings, schedule
from booking_core.kernel.actor import Actor, Channel
from booking_core.rules import RuleKey
from booking_core.schedule import SlotSearch
from tests.booking_core.helpers import set_rule
from tests.hospital_api.fhir.helpers import (
    appointment_for,
    error_code,
    parameters,
    resources,
)
from tests.hospital_api.helpers import TOMORROW
from tests.ivr.helpers import Twilio
from tests.ivr.helpers import make_root as make_ivr_root
from tests.support.world import World, slot_ids

IVR = Actor("call", "ivr-test", None, Channel.IVR)


async def ivr_free_places(services, slot_id: int) -> int:
    """What the phone line hears of a slot: the IVR's own listing of a day's times
    (schedule.search_slots, bookable now, full ones too)."""
    search = SlotSearch(
        hospital_code="H001", doctor_work_no="00868", day=TOMORROW, only_free=False,
        bookable_only=True,
    )  # fmt: skip
    found = await services.read(schedule.search_slots, search, IVR)
    return next(s.free for s in found if s.slot_id == slot_id)


async def test_find_hold_book_takes_the_place_the_ivr_then_hears_taken(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW, places=1)
    patient = await world.patient("张三")
    his = await fhir.token("his", "H001")
    _, bundle = await fhir.get("/Practitioner?identifier=00868", his)
    doctor_id = resources(bundle)[0]["id"]

    status, found = await fhir.get(
        f"/Appointment/$find?start=2026-07-11&end=2026-07-11&practitioner=Practitioner/{doctor_id}",
        his,
    )
    assert status == 200
    offers = resources(found)
    assert len(offers) == 8
    assert {o["status"] for o in offers} == {"proposed"}
    first = offers[0]
    assert first["start"] == "2026-07-11T08:00:00+08:00"
    slot_id = int(first["slot"][0]["reference"].removeprefix("Slot/"))
    assert slot_id == (await slot_ids(services, session.id))[0]
    assert await ivr_free_places(services, slot_id) == 1

    wanted = appointment_for(slot_id, "H001", patient.card_no, "张三")
    status, held = await fhir.call(
        "POST", "/Appointment/$hold", his, json=parameters(appointment_resource=wanted)
    )
    assert status == 201, held
    assert held["status"] == "pending"
    [expires] = [e for e in held["extension"] if e["url"].endswith(":hold-expires")]
    assert expires["valueDateTime"] == "2026-07-10T09:15:00+08:00"  # the core's 15 minutes
    assert await ivr_free_places(services, slot_id) == 0  # held is taken

    status, booked = await fhir.call(
        "POST",
        "/Appointment/$book",
        his,
        json=parameters(appointment_reference=f"Appointment/{held['id']}"),
    )
    assert status == 200, booked
    assert booked["id"] == held["id"]
    assert booked["status"] == "booked"
    assert await ivr_free_places(services, slot_id) == 0
    view = await services.read(bookings.get_booking, held["id"], IVR)
    assert view.booking.status == bookings.BookingStatus.CONFIRMED
    assert view.booking.hold_expires_at is None

    # $find no longer offers it, and the patient's appointment is found by card and date
    _, found = await fhir.get("/Appointment/$find?start=2026-07-11&end=2026-07-11", his)
    assert f"Slot/{slot_id}" not in {o["slot"][0]["reference"] for o in resources(found)}
    _, mine = await fhir.get(
        f"/Appointment?patient:identifier=urn:guahao:fhir:H001:card-no|{patient.card_no}"
        "&date=2026-07-11",
        his,
    )
    assert [a["id"] for a in resources(mine)] == [held["id"]]
    _, none = await fhir.get(
        f"/Appointment?patient:identifier={patient.card_no}&date=ge2026-07-12", his
    )
    assert resources(none) == []


async def test_a_hold_not_booked_in_time_is_released_by_the_sweep(fhir, services, clock):
    world = World(services)
    session = await world.basic(TOMORROW, places=1)
    patient = await world.patient()
    slot_id = (await slot_ids(services, session.id))[0]
    his = await fhir.token("his", "H001")
    wanted = appointment_for(slot_id, "H001", patient.card_no)
    status, held = await fhir.call("POST", "/Appointment/$hold", his, json=wanted)
    assert status == 201
    clock.advance(timedelta(minutes=16))
    assert await services.handle(bookings.ExpireHolds()) == 1
    assert await ivr_free_places(services, slot_id) == 1
    status, outcome = await fhir.call(
        "POST", "/Appointment/$book", his, json={**wanted, "id": held["id"]}
    )
    assert status == 409
    assert error_code(outcome) == "invalid_state"


async def test_book_of_a_blacklisted_patient_names_the_end_of_the_ban(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 10, 8), reason="爽约")
    )
    his = await fhir.token("his", "H001")
    slot_id = (await slot_ids(services, session.id))[0]
    status, outcome = await fhir.call(
        "POST",
        "/Appointment/$book",
        his,
        json=parameters(appointment_resource=appointment_for(slot_id, "H001", patient.card_no)),
    )
    assert status == 409
    issue = outcome["issue"][0]
    assert issue["code"] == "business-rule"
    assert error_code(outcome) == "blacklisted"
    [ends] = issue["extension"]
    # banned through 8 October: may book again from 9 October, 00:00 Beijing
    assert ends["valueDateTime"] == "2026-10-09T00:00:00+08:00"
    assert "2026-10-09T00:00:00+08:00" in issue["diagnostics"]
    assert await ivr_free_places(services, slot_id) == 2


async def test_book_checks_the_real_name(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    patient = await world.patient("张三")
    his = await fhir.token("his", "H001")
    slot_id = (await slot_ids(services, session.id))[0]
    wanted = appointment_for(slot_id, "H001", patient.card_no, "李四")
    status, outcome = await fhir.call("POST", "/Appointment/$book", his, json=wanted)
    assert status == 422
    assert error_code(outcome) == "real_name_mismatch"


async def test_book_at_once_and_prepayment_keeps_it_pending(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    first, second = await world.patient(), await world.patient()
    his = await fhir.token("his", "H001")
    ids = await slot_ids(services, session.id)
    status, booked = await fhir.call(
        "POST", "/Appointment/$book", his, json=appointment_for(ids[0], "H001", first.card_no)
    )
    assert status == 201
    assert booked["status"] == "booked"
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    status, pending = await fhir.call(
        "POST", "/Appointment/$book", his, json=appointment_for(ids[1], "H001", second.card_no)
    )
    assert status == 201
    assert pending["status"] == "pending"  # held until paid: the core's rule, told truly
    status, outcome = await fhir.call(
        "POST", "/Appointment/$book", his,
        json=parameters(appointment_reference=f"Appointment/{pending['id']}"),
    )  # fmt: skip
    assert status == 409
    assert error_code(outcome) == "invalid_state"
    assert "unpaid" in outcome["issue"][0]["diagnostics"]


async def test_cancel_by_updating_the_status(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW, places=1)
    a, b = await world.patient(), await world.patient()
    ids = await slot_ids(services, session.id)
    one = await world.book(ids[0], a.id)
    two = await world.book(ids[1], b.id)
    his = await fhir.token("his", "H001")
    kiosk = await fhir.token("kiosk", "H001")
    _, appointment = await fhir.get(f"/Appointment/{one.booking.booking_no}", his)
    assert appointment["status"] == "booked"

    status, outcome = await fhir.call(
        "PUT", f"/Appointment/{one.booking.booking_no}", kiosk,
        json={**appointment, "status": "cancelled"},
    )  # fmt: skip
    assert status == 403
    status, outcome = await fhir.call(
        "PUT",
        f"/Appointment/{one.booking.booking_no}",
        his,
        json={**appointment, "status": "noshow"},
    )
    assert status == 422
    assert error_code(outcome) == "unsupported_change"
    status, cancelled = await fhir.call(
        "PUT", f"/Appointment/{one.booking.booking_no}", his,
        json={**appointment, "status": "cancelled"},
    )  # fmt: skip
    assert status == 200
    assert cancelled["status"] == "cancelled"
    assert await ivr_free_places(services, ids[0]) == 1

    status, cancelled = await fhir.call(
        "PATCH",
        f"/Appointment/{two.booking.booking_no}",
        his,
        data=b'[{"op": "replace", "path": "/status", "value": "cancelled"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert status == 200
    assert cancelled["status"] == "cancelled"
    status, outcome = await fhir.call(
        "PATCH",
        f"/Appointment/{two.booking.booking_no}",
        his,
        data=b'[{"op": "replace", "path": "/status", "value": "cancelled"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert status == 409
    assert error_code(outcome) == "invalid_state"


async def test_another_hospitals_token_cannot_book_here(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    await world.at("H002").hospital()
    patient = await world.patient()
    other = await fhir.token("his", "H002")
    slot_id = (await slot_ids(services, session.id))[0]
    status, _outcome = await fhir.call(
        "POST", "/Appointment/$book", other, json=appointment_for(slot_id, "H001", patient.card_no)
    )
    assert status == 404
    assert await ivr_free_places(services, slot_id) == 2


async def test_a_ban_that_comes_in_during_a_hold_refuses_its_book(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    his = await fhir.token("his", "H001")
    slot_id = (await slot_ids(services, session.id))[0]
    status, held = await fhir.call(
        "POST", "/Appointment/$hold", his, json=appointment_for(slot_id, "H001", patient.card_no)
    )
    assert status == 201
    assert held["status"] == "pending"
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 9, 30), reason="HIS")
    )
    status, outcome = await fhir.call(
        "POST", "/Appointment/$book", his,
        json=parameters(appointment_reference=f"Appointment/{held['id']}"),
    )  # fmt: skip
    assert status == 409
    assert error_code(outcome) == "blacklisted"
    view = await services.read(bookings.get_booking, held["id"], IVR)
    assert view.booking.status == bookings.BookingStatus.HELD  # still only held, then swept


async def test_find_by_post_parameters_and_by_department(fhir, services):
    world = World(services)
    await world.basic(TOMORROW)
    await world.department("102", "儿科")
    await world.doctor("00900", department="102")
    await world.session(TOMORROW, "00900", places=1)
    his = await fhir.token("his", "H001")
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "start", "valueDate": "2026-07-11"},
            {"name": "end", "valueDate": "2026-07-11"},
            {"name": "service-type", "valueString": "102"},
            {"name": "_count", "valueInteger": 5},
        ],
    }
    status, found = await fhir.call("POST", "/Appointment/$find", his, json=body)
    assert status == 200
    offers = resources(found)
    assert len(offers) == 5
    assert {o["serviceType"][0]["coding"][0]["code"] for o in offers} == {"102"}
    assert "next" in {x["relation"] for x in found["link"]}  # 8 slots: more than 5
    _, later = await fhir.get("/Appointment/$find?start=2026-07-20&end=2026-07-21", his)
    assert resources(later) == []  # beyond the 7-day booking window: nothing offered


async def test_appointments_and_find_of_another_hospital_are_not_there(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    booked = await world.book((await slot_ids(services, session.id))[0], patient.id)
    other = World(services).at("H002")
    await other.hospital()
    theirs = await fhir.token("his", "H002")
    _, bundle = await fhir.get("/Organization?identifier=H001", await fhir.token("admin"))
    h001 = resources(bundle)[0]["id"]
    status, _ = await fhir.get(f"/Appointment/{booked.booking.booking_no}", theirs)
    assert status == 404
    status, _ = await fhir.get(
        f"/Appointment/$find?start=2026-07-11&end=2026-07-11&organization=Organization/{h001}",
        theirs,
    )
    assert status == 404
    status, found = await fhir.get(f"/Appointment?patient:identifier={patient.card_no}", theirs)
    assert resources(found) == []
    status, _outcome = await fhir.call(
        "PUT", f"/Appointment/{booked.booking.booking_no}", theirs,
        json={"resourceType": "Appointment", "id": booked.booking.booking_no,
              "status": "cancelled", "participant": [{"status": "accepted"}]},
    )  # fmt: skip
    assert status == 404


async def test_a_place_booked_through_fhir_is_heard_taken_on_the_phone(
    fhir, services, aiohttp_client
):
    """The walk again, then a caller on the phone line asks for that very time: the IVR
    door (as Twilio drives it) says it is full, and books nothing."""
    world = World(services)
    session = await world.basic(TOMORROW, places=1)
    first = await world.patient("张三")
    caller = await world.patient("李四", phone_no="13900000001")
    his = await fhir.token("his", "H001")
    _, found = await fhir.get("/Appointment/$find?start=2026-07-11&end=2026-07-11", his)
    [offer] = [o for o in resources(found) if o["start"] == "2026-07-11T08:30:00+08:00"]
    slot = offer["slot"][0]["reference"]
    held_body = appointment_for(int(slot.removeprefix("Slot/")), "H001", first.card_no, "张三")
    _, held = await fhir.call("POST", "/Appointment/$hold", his, json=held_body)
    status, booked = await fhir.call(
        "POST", "/Appointment/$book", his,
        json=parameters(appointment_reference=f"Appointment/{held['id']}"),
    )  # fmt: skip
    assert (status, booked["status"]) == (200, "booked")

    phone = Twilio(await aiohttp_client(make_ivr_root(services)), services)
    call = phone.call("+8613900000001")
    await call.dial()
    heard = []
    for digits in ("1", caller.card_no, "101", "00868", "0711", "0830"):
        await call.press(digits)
        heard.append(call.text())
    assert heard[-1].startswith("对不起，这个时段的号已经约满了"), heard  # 08:30 is full
    mine = await services.read(bookings.list_bookings, IVR, patient_id=caller.id)
    assert mine == []
    assert (
        session.id
        == (await services.read(bookings.get_booking, held["id"], IVR)).booking.session_id
    )
