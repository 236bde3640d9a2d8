"""The world builder itself: what the tests build with is what they take it to be."""

from __future__ import annotations

from datetime import date, time

from stdnum.cn import ric

from booking_core import catalogue
from booking_core.kernel.unit import rows
from booking_core.schedule import Period
from tests.support.world import first_slot, many_resident_ids, slot_ids

TOMORROW = date(2026, 7, 11)


def test_many_resident_ids_are_valid_and_distinct_past_a_thousand():
    numbers = [many_resident_ids(i) for i in range(2500)]
    assert len(set(numbers)) == len(numbers)
    assert all(ric.is_valid(n) for n in numbers)


async def test_slot_ids_are_one_sessions_slots_earliest_first(world, services):
    afternoon = await world.basic(TOMORROW, period=Period.AFTERNOON, start=time(14), end=time(16))
    morning = await world.session(TOMORROW)  # made later, earlier in the day
    slots = await slot_ids(services, morning.id)
    assert len(slots) == 8  # 08:00-12:00 in half hours
    assert not set(slots) & set(await slot_ids(services.store, afternoon.id))

    def starts(tx):
        return {r["id"]: r["start_time"] for r in (yield rows("SELECT id, start_time FROM slots"))}

    at = await services.read(starts)
    assert [at[s] for s in slots] == sorted(at[s] for s in slots)
    found = await services.read(catalogue.hospital, "H001")
    assert found.name == "协和医院"
    assert await first_slot(services, morning.id) == slots[0]


async def test_another_hospital_is_built_beside_this_one(world, services):
    await world.basic(TOMORROW)
    other = world.at("H002")
    await other.hospital()
    await other.department("201", "内科")
    await other.doctor("00001", "201")
    patient = await other.patient(seq=7)
    again = await world.patient(seq=7)  # the same person at H001
    assert world.hospital_code == "H001"
    assert (await services.read(catalogue.hospital, "H002")).name == "医院H002"
    assert patient.id != again.id
    assert patient.id_last4 == again.id_last4
    assert len(await world.patients(3)) == 3
