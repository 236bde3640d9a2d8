"""Department and doctor lists are kept briefly per hospital; a catalogue change made in
this process is heard at once, one made elsewhere within the TTL."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from booking_core import bookings
from booking_core.kernel.errors import NotFound
from ivr.actions import CatalogueCache
from tests.ivr.helpers import TOMORROW
from tests.ivr.test_calls import slot_at


@dataclass
class FakeServices:
    catalogue_version: int = 0


class Loads:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> list[str]:
        self.count += 1
        return [f"load {self.count}"]


@pytest.fixture
def now() -> list[float]:
    return [100.0]


@pytest.fixture
def cache(now) -> CatalogueCache:
    return CatalogueCache(FakeServices(), ttl=30.0, clock=lambda: now[0])


async def test_a_list_is_read_once_within_the_ttl(cache, now):
    load = Loads()
    assert await cache.get(("departments", "H001"), load) == ["load 1"]
    now[0] += 29.9
    assert await cache.get(("departments", "H001"), load) == ["load 1"]
    assert load.count == 1
    now[0] += 0.2
    assert await cache.get(("departments", "H001"), load) == ["load 2"]


async def test_each_key_is_kept_apart(cache):
    load = Loads()
    await cache.get(("doctors", "H001", "101"), load)
    await cache.get(("doctors", "H001", "102"), load)
    await cache.get(("doctors", "H002", "101"), load)
    assert load.count == 3


async def test_a_catalogue_command_here_empties_it_at_once(cache):
    load = Loads()
    await cache.get(("departments", "H001"), load)
    cache.services.catalogue_version += 1
    assert await cache.get(("departments", "H001"), load) == ["load 2"]


async def test_a_change_during_the_read_is_not_kept(cache):
    async def racing() -> list[str]:
        cache.services.catalogue_version += 1  # committed while this read ran
        return ["maybe old"]

    await cache.get(("departments", "H001"), racing)
    load = Loads()
    assert await cache.get(("departments", "H001"), load) == ["load 1"]


async def test_errors_are_not_kept(cache):
    async def missing() -> list[str]:
        raise NotFound("hospital", "H009")

    with pytest.raises(NotFound):
        await cache.get(("departments", "H009"), missing)
    load = Loads()
    assert await cache.get(("departments", "H009"), load) == ["load 1"]


async def test_catalogue_commands_move_the_version(services, world, hospital, patient):
    before = services.catalogue_version
    await world.department("103", "眼科")
    await world.doctor("00950", "103")
    assert services.catalogue_version == before + 2
    slot = await slot_at(services, "00868", TOMORROW, "0800")
    await services.handle(
        bookings.BookSlot(slot_id=slot.slot_id, patient_id=patient.id, channel="sms")
    )
    assert services.catalogue_version == before + 2


async def test_a_caller_hears_a_department_added_during_the_call(twilio, world):
    call = twilio.call()
    await call.dial()
    await call.press("3")  # a doctor's schedule
    await call.press("9")  # hear the departments
    assert "心内科" in call.text()
    assert "眼科" not in call.text()
    await world.department("103", "眼科")
    await call.press("*")
    await call.press("9")
    assert "眼科" in call.text()


async def test_a_caller_picks_a_doctor_added_during_the_call(twilio, world, patient):
    call = twilio.call()
    await call.dial()
    for digits in ("1", patient.card_no, "101", "9"):
        await call.press(digits)  # doctors of 心内科 read (and kept)
    assert "医生00950" not in call.text()
    await world.doctor("00950", "101")
    await call.press("*")
    await call.press("00950")
    assert "医生00950" in call.text()
