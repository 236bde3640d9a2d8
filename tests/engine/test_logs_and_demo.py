"""Log masking, and the demo data `guahao demo` creates."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher

from booking_core import calls, catalogue, operators, schedule
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.identity import mask_name, mask_phone
from booking_core.kernel.unit import one, rows, val
from booking_core.operators import Role
from booking_core.patients import find_patients
from engine.demo import (
    DEPARTMENTS,
    DOCTORS,
    WAITING_PATIENT,
    WINDOW_DAYS,
    create_demo,
    tonights_booking,
)
from engine.logs import PiiMaskingFilter, mask_text
from engine.metrics import door_of


def test_mask_text_hides_phones_and_id_numbers():
    line = "patient 11010519800101001X called from 13812345678 about 975258362"
    assert mask_text(line) == "patient **************001X called from 138****5678 about 975258362"


def test_mask_text_leaves_booking_and_card_numbers():
    assert mask_text("booking 975258362 card 9774882060") == "booking 975258362 card 9774882060"


def test_filter_masks_formatted_arguments(caplog):
    logger = logging.getLogger("guahao.test.masking")
    logger.addFilter(PiiMaskingFilter())
    with caplog.at_level(logging.INFO, logger="guahao.test.masking"):
        logger.info("sms from %s", "13912345678")
    assert "139****5678" in caplog.text
    assert "13912345678" not in caplog.text


def test_door_of():
    assert door_of("/api/v1/bookings") == "api"
    assert door_of("/twilio/voice/") == "twilio"
    assert door_of("/healthz") == "healthz"
    assert door_of("/") == "root"


BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 7, 10, 9, 0, tzinfo=BEIJING)  # the clock fixture's


async def test_demo_creates_what_the_issue_lists(services):
    login = await create_demo(services, NOW)

    def counts(tx):
        departments = yield rows("SELECT code FROM departments ORDER BY code")
        doctors = yield rows("SELECT work_no FROM doctors ORDER BY work_no")
        days = yield rows("SELECT DISTINCT day FROM sessions ORDER BY day")
        patients = yield val("SELECT count(*) FROM patients")
        operator = yield rows(
            "SELECT username, password_hash FROM operators WHERE username = 'demo'"
        )
        return departments, doctors, days, patients, operator

    departments, doctors, days, patients, operator = await services.store.read(counts)
    assert [r["code"] for r in departments] == sorted(d[0] for d in DEPARTMENTS)
    assert len(departments) == 6
    assert all(len(r["code"]) == 3 for r in departments)
    work_nos = [r["work_no"] for r in doctors]
    assert len(work_nos) == 12
    assert "00868" in work_nos
    assert all(len(w) == 5 for w in work_nos)
    assert sorted(work_nos) == sorted(d[0] for d in DOCTORS)
    assert len(days) == WINDOW_DAYS + 1
    assert patients == len(login.patients) >= 3
    assert operator[0]["username"] == login.operator
    assert PasswordHasher().verify(operator[0]["password_hash"], login.password)
    found = await services.read(
        schedule.search_slots,
        schedule.SlotSearch(hospital_code="H001", doctor_work_no="00868"),
        SYSTEM,
    )
    assert found
    assert [s.free for s in found if s.free != 3] == [2]  # the kiosk patient's place tonight


async def test_demo_creates_a_hospital_admin_with_a_one_time_password(services):
    login = await create_demo(services, NOW)
    creds = await services.read(operators.credentials, login.admin)
    assert creds.operator.roles == (Role.HOSPITAL_ADMIN,)
    assert creds.operator.must_change_password  # changed at the first log-in
    assert not creds.operator.totp_enrolled  # so the first log-in sets up one-time codes
    assert PasswordHasher().verify(creds.password_hash, login.admin_password)
    assert login.admin_password != login.password
    assert creds.operator.hospital_code == "H001"


async def test_demo_operators_are_added_by_the_one_command_with_its_checks(services):
    """#11 item 7: the demo adds its operators as an administrator would (AddOperator: the
    user name's shape, the roles fitting the hospital, audited as ``operator.add``)."""
    login = await create_demo(services, NOW)

    def added(tx):
        return (yield rows("SELECT after_state FROM audit WHERE action LIKE 'operator.%'"))

    found = await services.store.read(added)
    names = sorted(json.loads(r["after_state"])["username"] for r in found)
    assert names == sorted([login.operator, login.admin])
    assert not hasattr(operators, "CreateOperator")  # no second command that skips them


async def test_demo_puts_a_caller_with_ivr_context_on_the_desk(services):
    login = await create_demo(services, NOW)
    hospital = await services.read(catalogue.hospital, "H001")
    agent = Actor("operator", login.operator, hospital.id, Channel.AGENT)
    [waiting] = await services.read(calls.call_queue, agent)  # what the desk lists
    name, card, phone = login.patients[WAITING_PATIENT]
    assert waiting.call_sid == login.waiting_call
    assert re.fullmatch("CA[0-9a-f]{32}", waiting.call_sid)
    assert waiting.caller_masked == mask_phone(phone)
    [patient] = await services.read(
        find_patients, SYSTEM, services.cipher, hospital_code="H001", card_no=card
    )
    assert waiting.patient_id == patient.id
    assert waiting.context["patient_id"] == patient.id
    assert waiting.context["step"] == "book_dept"
    assert waiting.context["digits"] == card
    assert waiting.context["patient_name"] == mask_name(name)
    await services.handle(calls.SetAgentState(actor=agent, state=calls.AgentState.AVAILABLE))
    taken = await services.handle(calls.TakeCall(call_sid=waiting.call_sid, actor=agent))  # `t`
    assert taken.won


async def test_demo_books_the_first_patient_tonight_for_the_kiosk(services):
    """The demo's kiosk needs a patient with a booking today: the first patient has tonight's
    last place (check-in is open from midnight until the session ends), confirmed and to pay
    at the hospital, so a swipe checks in and prints."""
    login = await create_demo(services, NOW)
    hospital = await services.read(catalogue.hospital, "H001")
    found = await services.read(
        schedule.search_slots,
        schedule.SlotSearch(hospital_code="H001", doctor_work_no="00868", day=NOW.date()),
        SYSTEM,
    )
    evening = [s for s in found if s.period == "evening"]
    assert f"{evening[0].start:%H:%M}" == "18:00"
    assert evening[-1].free == 2
    assert all(s.free == 3 for s in evening[:-1])

    def booking(tx):
        return (
            yield one(
                "SELECT status, paid, patient_id FROM bookings WHERE booking_no = ?",
                login.kiosk_booking,
            )
        )

    row = await services.store.read(booking)
    assert row["status"] == "confirmed"
    assert row["paid"] == 0
    _name, card, _phone = login.patients[0]
    [patient] = await services.read(
        find_patients, SYSTEM, services.cipher, hospital_code="H001", card_no=card
    )
    assert row["patient_id"] == patient.id
    assert hospital.code == "H001"


async def test_demo_evening_clinic_starts_after_now_late_in_the_day(services, clock):
    """Run at 18:50 the demo's evening clinic starts at 19:30 (bookings close when a session
    starts); after 23:00 there is none and no kiosk booking."""
    late = datetime(2026, 7, 10, 18, 50, tzinfo=BEIJING)
    clock.set(late)
    login = await create_demo(services, late)
    found = await services.read(
        schedule.search_slots,
        schedule.SlotSearch(hospital_code="H001", doctor_work_no="00868", day=late.date()),
        SYSTEM,
    )
    evening = [s for s in found if s.period == "evening"]
    assert f"{evening[0].start:%H:%M}" == "19:30"
    assert login.kiosk_booking


async def test_demo_has_no_kiosk_booking_near_midnight(services, clock):
    night = datetime(2026, 7, 10, 23, 20, tzinfo=BEIJING)
    clock.set(night)
    login = await create_demo(services, night)
    assert login.kiosk_booking == ""


async def test_tonights_kiosk_booking_is_made_at_any_time_of_day_or_not_at_all(
    services, world, clock
):
    """``make demo`` run at any minute of the day: the kiosk's first patient is booked in
    an evening clinic that can still be booked (it once ended when it began, from 22:15 to
    22:29, and stopped the demo), until 23:00; after that the day is too far gone and there
    is none — never an error that stops the demo."""
    await create_demo(services, NOW)
    patients = await world.patients(24 * 12, phone_prefix="136")
    made = 0
    for step in range(0, 24 * 60, 5):  # every five minutes, each on a day of its own
        at = datetime.combine(
            NOW.date() + timedelta(days=1 + step // 5), time(*divmod(step, 60)), NOW.tzinfo
        )
        clock.set(at)
        booking_no = await tonights_booking(services, at, patients[step // 5])
        assert (booking_no == "") == (at.time() >= time(23, 0)), at
        made += bool(booking_no)
    assert made == 276
