"""Fixtures for the voice tests: a small hospital and Twilio's side of the webhooks."""

from __future__ import annotations

from datetime import time

import pytest

from booking_core import bookings
from booking_core.schedule import Period
from tests.ivr.helpers import TOMORROW, Twilio, make_root
from tests.support.world import resident_id

CALLER = "+8613900000001"


@pytest.fixture
async def hospital(world):
    """协和医院: 心内科 101 (医生 00868 主任医师 50元, 00869), 消化科 102; sessions tomorrow."""
    await world.hospital(name="协和医院")
    await world.department("101", "心内科")
    await world.department("102", "消化科")
    await world.doctor("00868", "101", fee=5000)
    await world.doctor("00869", "101", fee=3000)
    await world.doctor("00901", "102", fee=2000)
    morning = await world.session(TOMORROW, "00868", places=2)
    await world.session(TOMORROW, "00868", Period.AFTERNOON, time(14, 0), time(16, 0), places=1)
    await world.session(TOMORROW, "00869", places=1)
    return morning


@pytest.fixture
async def patient(world, hospital):
    """张三, registered with the caller's phone; a woman (her resident ID's 17th digit is
    even), whatever other tests registered before, so the phone line calls her 张女士."""
    return await world.patient(
        "张三", phone_no="13900000001", id_number=resident_id(2, birth="19900315")
    )


@pytest.fixture
async def twilio(aiohttp_client, services, hospital) -> Twilio:
    client = await aiohttp_client(make_root(services))
    return Twilio(client, services)


async def book_directly(services, patient, slot_id):
    return await services.handle(
        bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel="agent")
    )
