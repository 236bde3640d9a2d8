"""Registering a patient (实名制, 就诊卡) through the services, on both stores: the real-name
rule and its checks, one card per person per hospital, personal data encrypted at rest."""

from __future__ import annotations

import json
from datetime import date

import pytest

from booking_core.bookings import BookingStatus
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import (
    InvalidIdNumber,
    InvalidInput,
    PatientExists,
    RealNameMismatch,
)
from booking_core.kernel.unit import one, rows
from booking_core.patients import RegisterPatient, find_patients, reveal_patient
from booking_core.rules import RuleKey
from tests.booking_core.helpers import book, booked, patient_count, set_rule
from tests.support.world import first_slot, phone, resident_id

TOMORROW = date(2026, 7, 11)


# --- registration: personal data encrypted at rest -------------------------------------


async def test_id_and_phone_are_stored_encrypted_found_by_blind_index_and_logged_masked(
    world, services
):
    await world.basic(TOMORROW)
    number, mobile = resident_id(), "13812345678"
    patient = await services.handle(
        RegisterPatient(hospital_code="H001", name="张三", id_number=number, phone=mobile)
    )
    assert (patient.id_last4, patient.phone_masked) == (number[-4:], "138****5678")

    def raw(tx):
        row = yield one("SELECT * FROM patients WHERE id = ?", patient.id)
        audit = yield rows("SELECT before_state, after_state FROM audit")
        events = yield rows("SELECT payload FROM outbox")
        return dict(row), [dict(r) for r in audit], [dict(r) for r in events]

    row, audit, events_ = await services.store.read(raw)
    stored = json.dumps(row, default=str) + json.dumps(audit) + json.dumps(events_)
    assert number not in stored
    assert number[:14] not in stored
    assert mobile not in stored
    assert services.cipher.decrypt(row["id_number_enc"], context="id_number") == number
    assert await services.read(reveal_patient, patient.id, SYSTEM, services.cipher) == {
        "id_number": number,
        "phone": mobile,
    }
    for lookup in ({"phone": "+86 138 1234 5678"}, {"id_number": f" {number.lower()} "}):
        found = await services.read(find_patients, SYSTEM, services.cipher, **lookup)
        assert [p.id for p in found] == [patient.id]


# --- real name (实名制) ------------------------------------------------------------------


async def test_bad_id_checksum_is_refused(world, services):
    await world.basic(TOMORROW)
    good = resident_id()
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    with pytest.raises(InvalidIdNumber) as err:
        await services.handle(
            RegisterPatient(hospital_code="H001", name="张三", id_number=bad, phone=phone())
        )
    assert err.value.reason == "checksum"
    assert await patient_count(services) == 0


@pytest.mark.parametrize(("missing", "field"), [("id_number", "id_number"), ("phone", "phone")])
@pytest.mark.parametrize("empty", [None, ""])
async def test_real_name_rule_needs_id_and_phone(world, services, missing, field, empty):
    await world.basic(TOMORROW)
    fields = {"id_number": resident_id(), "phone": phone()} | {missing: empty}
    with pytest.raises(InvalidInput) as err:
        await services.handle(RegisterPatient(hospital_code="H001", name="张三", **fields))
    assert err.value.field == field


async def test_real_name_rule_off_registers_and_books_without_id(world, services):
    session = await world.basic(TOMORROW)
    await set_rule(services, RuleKey.REAL_NAME, False)
    patient = await services.handle(
        RegisterPatient(hospital_code="H001", name="王五", id_number=None, phone=None)
    )
    assert (patient.id_last4, patient.phone_masked) == ("", "")
    view = await book(services, await first_slot(services, session.id), patient)
    assert view.booking.status is BookingStatus.CONFIRMED
    # a number that is given is still checked
    with pytest.raises(InvalidIdNumber):
        await services.handle(
            RegisterPatient(hospital_code="H001", name="赵六", id_number="1" * 18, phone=None)
        )


async def test_booking_for_a_wrong_name_is_refused(world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient("张三")
    slot = await first_slot(services, session.id)
    with pytest.raises(RealNameMismatch):
        await book(services, slot, patient, patient_name="张四")
    assert await booked(services, slot) == 0
    await book(services, slot, patient, patient_name=" 张三 ")


async def test_same_id_twice_gives_the_existing_card(world, services):
    await world.basic(TOMORROW)
    number = resident_id()
    first = await services.handle(
        RegisterPatient(hospital_code="H001", name="张三", id_number=number, phone=phone())
    )
    again = number.lower() if number.endswith("X") else f" {number} "
    with pytest.raises(PatientExists) as err:
        await services.handle(
            RegisterPatient(hospital_code="H001", name="张三", id_number=again, phone=phone())
        )
    assert err.value.params == {"patient_id": first.id, "card_no": first.card_no}
    # registration is per hospital: the same person may register at another one
    await world.at("H002").hospital(name="另一家医院")
    other = await services.handle(
        RegisterPatient(hospital_code="H002", name="张三", id_number=number, phone=phone())
    )
    assert other.id != first.id
