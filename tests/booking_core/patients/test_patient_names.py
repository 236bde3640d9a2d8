"""Patients found and told apart (#14), on both stores: traditional characters folded on
registration and search, pinyin-initial search (拼音码), sex and birth year beside the
masked name, the backfill of rows from before schema 18; a phone changed with its reason
audited masked; a transferred caller's number read in clear, audited."""

from __future__ import annotations

import json

import pytest

from booking_core import calls
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import InvalidInput, NotFound
from booking_core.kernel.unit import execute, one, rows
from booking_core.patients import (
    ChangePatientPhone,
    FillPatientKeys,
    RevealCaller,
    find_patients,
    search_patients,
    tell_apart,
)
from booking_core.patients.names import fold_name, name_keys
from tests.support.world import resident_id


def agent_of(hospital_id: int) -> Actor:
    return Actor("operator", "agent", hospital_id, Channel.AGENT)


async def _search(services, text: str, actor: Actor = SYSTEM) -> list[str]:
    found = await services.read(search_patients, actor, services.cipher, text)
    return [p.name for p in found]


def test_names_fold_to_simplified_but_a_simplified_character_stays():
    assert fold_name("張三") == "张三"
    assert fold_name("歐陽鋒") == "欧阳锋"
    assert fold_name("於小明") == "於小明"  # 於 is a surname of its own, not 于
    assert fold_name("John Smith") == "John Smith"


def test_pinyin_keys_give_every_reading_of_a_polyphonic_surname():
    assert name_keys("张三") == " zs zhangs"
    assert name_keys("張三") == " zs zhangs"
    assert name_keys("欧阳锋") == " oyf ouyangf"
    assert {" sxx", " dxx"} <= set(" " + k for k in name_keys("单雄信").split())
    assert name_keys("John") == ""


def test_family_members_are_told_apart_by_the_given_names_last_character():
    labels = tell_apart(
        [(1, "张小明", "M", 1990), (2, "张小红", "F", 1992), (3, "张三", "M", 1960)]
    )
    assert labels == {1: "张**(明)", 2: "张**(红)", 3: "张*"}


async def test_traditional_and_pinyin_initials_find_the_patient(world, services):
    await world.basic(date_tomorrow())
    await world.patient("張三", "13812345678", id_number=resident_id(1, birth="19900215"))
    await world.patient("李四", "13812345679", id_number=resident_id(2))
    await world.patient("单雄信", "13812345670", id_number=resident_id(3))
    assert await _search(services, "张三") == ["张三"]  # registered folded
    assert await _search(services, "張三") == ["张三"]  # searched folded
    assert await _search(services, "zs") == ["张三"]
    assert await _search(services, "ZS") == ["张三"]
    assert await _search(services, "zhangs") == ["张三"]
    assert await _search(services, "z") == ["张三"]  # the start of a key
    assert await _search(services, "s") == ["单雄信"]  # shan
    assert await _search(services, "dxx") == ["单雄信"]  # dan
    assert await _search(services, "ls") == ["李四"]
    assert await _search(services, "zx") == []  # no key starts so
    [zhang] = await services.read(search_patients, SYSTEM, services.cipher, "zs")
    assert (zhang.sex, zhang.birth_year) == (sex_of_seq(1), 1990)


def date_tomorrow():
    from datetime import date

    return date(2026, 7, 11)


def sex_of_seq(seq: int) -> str:
    return "M" if int(resident_id(seq)[-2]) % 2 else "F"


async def test_rows_from_before_schema_18_are_filled_by_the_backfill(world, services):
    await world.basic(date_tomorrow())
    await world.patient("张三", "13812345678", id_number=resident_id(7, birth="19751231"))
    await world.patient("王五", "13812345679", id_number=resident_id(8, birth="20010102"))

    def forget(tx):
        yield execute("UPDATE patients SET name_keys = NULL, birth_year = NULL")

    await services.store.write(forget)
    assert await _search(services, "zs") == []
    assert await services.handle(FillPatientKeys(limit=1)) == 1
    assert await services.handle(FillPatientKeys()) == 1
    assert await services.handle(FillPatientKeys()) == 0
    assert await _search(services, "zs") == ["张三"]
    assert await _search(services, "ww") == ["王五"]

    def years(tx):
        found = yield rows("SELECT name, birth_year FROM patients ORDER BY id")
        return [(r["name"], r["birth_year"]) for r in found]

    assert await services.store.read(years) == [("张三", 1975), ("王五", 2001)]


async def test_a_phone_change_needs_a_reason_and_is_audited_masked(world, services):
    await world.basic(date_tomorrow())
    patient = await world.patient("张三", "13812345678", id_number=resident_id(1))
    agent = agent_of(patient.hospital_id)
    change = ChangePatientPhone(actor=agent, patient_id=patient.id, phone="13900001111", reason="")
    with pytest.raises(InvalidInput):
        await services.handle(change)
    for bad in ("12345", "13812345678"):  # not a mobile; the number it already has
        with pytest.raises(InvalidInput):
            await services.handle(
                ChangePatientPhone(actor=agent, patient_id=patient.id, phone=bad, reason="换号")
            )
    changed = await services.handle(
        ChangePatientPhone(
            actor=agent, patient_id=patient.id, phone="139 0000 1111", reason="患者换了手机号"
        )
    )
    assert changed.phone_masked == "139****1111"
    found = await services.read(find_patients, SYSTEM, services.cipher, phone="13900001111")
    assert [p.id for p in found] == [patient.id]
    assert await services.read(find_patients, SYSTEM, services.cipher, phone="13812345678") == []

    def audit(tx):
        return (
            yield one(
                "SELECT actor, before_state, after_state FROM audit "
                "WHERE action = 'patient.phone_change'"
            )
        )

    row = await services.store.read(audit)
    assert row["actor"] == "operator:agent"
    assert json.loads(row["before_state"]) == {"phone": "138****5678"}
    assert json.loads(row["after_state"]) == {"phone": "139****1111", "reason": "患者换了手机号"}
    other = agent_of(patient.hospital_id + 1000)
    with pytest.raises(NotFound):
        await services.handle(
            ChangePatientPhone(actor=other, patient_id=patient.id, phone="13900002222", reason="x")
        )


async def test_a_transferred_callers_number_is_read_in_clear_audited(world, services):
    hospital = await world.hospital()
    await services.handle(
        calls.StartCall(
            call_sid="CA-1",
            hospital_code="H001",
            caller="+8613912345678",
            state="{}",
            digits="",
            response="",
        )
    )
    agent = agent_of(hospital.id)
    with pytest.raises(NotFound):  # not transferred to the agents
        await services.handle(RevealCaller(actor=agent, call_sid="CA-1"))
    await services.handle(calls.TransferCall(call_sid="CA-1", queue="agents", context={}))
    caller = await services.handle(RevealCaller(actor=agent, call_sid="CA-1"))
    assert caller.endswith("13912345678")
    with pytest.raises(NotFound):
        await services.handle(RevealCaller(actor=agent_of(hospital.id + 1), call_sid="CA-1"))

    def audit(tx):
        found = yield rows(
            "SELECT entity_id, after_state FROM audit WHERE action = ?", "call.caller_reveal"
        )
        return [dict(r) for r in found]

    [row] = await services.store.read(audit)
    assert row["entity_id"] == "CA-1"
    assert "13912345678" not in row["after_state"]


async def test_a_real_name_check_folds_traditional_characters(world, services):
    from tests.booking_core.helpers import book
    from tests.support.world import first_slot

    session = await world.basic(date_tomorrow())
    patient = await world.patient("张三", "13812345678", id_number=resident_id(1))
    slot = await first_slot(services, session.id)
    booked = await book(services, slot, patient, patient_name="張三")
    assert booked.booking.patient_id == patient.id
