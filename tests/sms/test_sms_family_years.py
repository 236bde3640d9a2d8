"""One phone, several patients (#14): a text that lists them tells them apart — the bookings
list and the "name does not match" reply alike — by the given name's last character, then
the birth year, then the ID number's last 4; within the two-segment rule."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core import catalogue
from booking_core.patients import Patient
from sms.handler import Texter, family_labels, respond
from sms.replies import TWO_SEGMENTS_CHARS, Replies
from tests.support.world import World, resident_id

PHONE = "13912345678"
TOMORROW = date(2026, 7, 11)


@pytest.fixture
async def send(world, services):
    await world.basic(TOMORROW, places=4)
    hospital = await services.read(catalogue.hospital, "H001")
    replies = Replies()

    async def send(text: str) -> str:
        texter = Texter("H001", hospital.id, "Asia/Shanghai", "+86" + PHONE, "zh")
        return (await respond(services, replies, texter, text)).reply

    return send


async def _family(services) -> None:
    w = World(services)
    await w.patient("冯明", PHONE, id_number=resident_id(11, birth="19620304"))
    await w.patient("冯亮", PHONE, id_number=resident_id(12, birth="19900506"))
    await w.patient("冯小明", PHONE, id_number=resident_id(13, birth="19880101"))
    await w.patient("冯大明", PHONE, id_number=resident_id(14, birth="19880101"))


async def test_the_name_mismatch_reply_lists_the_family_told_apart(send, services):
    await _family(services)
    reply = await send("GHDH00868,07110830,冯建国")
    assert "冯*(1962)、冯*(1990)" in reply  # two-character names: birth years
    assert (
        f"冯**({resident_id(13, birth='19880101')[-4:]})" in reply
    )  # born the same year: the ID's last 4
    assert f"冯**({resident_id(14, birth='19880101')[-4:]})" in reply
    assert len(reply) <= TWO_SEGMENTS_CHARS


async def test_the_bookings_list_tells_two_character_names_apart_by_year(send, services):
    w = World(services)
    await w.patient("冯明", PHONE, id_number=resident_id(21, birth="19620304"))
    await w.patient("冯亮", PHONE, id_number=resident_id(22, birth="19900506"))
    await send("GHDH00868,07110830,冯明")
    await send("GHDH00868,07110900,冯亮")
    reply = await send("CX")
    assert "冯*(1962) 预约号" in reply
    assert "冯*(1990) 预约号" in reply
    assert len(reply) <= TWO_SEGMENTS_CHARS


def test_a_birth_year_tells_apart_only_when_it_differs():
    def patient(id_: int, name: str, last4: str, year: int | None) -> Patient:
        return Patient(id_, 1, name, f"card{id_}", last4, "139****5678", 0, birth_year=year)

    family = [
        patient(1, "冯明", "0011", 1962),
        patient(2, "冯亮", "0022", 1990),
        patient(3, "冯强", "0033", 1990),
        patient(4, "冯建国", "0044", 1960),
        patient(5, "冯卫国", "0055", None),
    ]
    assert family_labels(family) == {
        1: "冯*(1962)",
        2: "冯*(0022)",  # 1990 twice: the ID's last 4
        3: "冯*(0033)",
        4: "冯**(1960)",  # 冯*国 twice: the masked name and what tells them apart
        5: "冯**(0055)",
    }


async def test_a_name_texted_in_traditional_characters_is_the_registered_one(send, services):
    await World(services).patient("张三", PHONE, id_number=resident_id(31))
    reply = await send("GHDH00868,07110830,張三")
    assert reply.startswith("预约成功"), reply
