"""A text booking refused by the #15 rules gets the reason in one segment: the department's
age limit, the hospital's closed day, the hours closed to booking with when they end."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core import catalogue, rules
from booking_core.rules import Rule, RuleKey
from sms.handler import Texter, respond
from sms.replies import SEGMENT_CHARS, Replies
from tests.support.world import local, resident_id

PHONE = "13912345678"
TOMORROW = date(2026, 7, 11)  # the clock stands at 2026-07-10 09:00 Beijing


@pytest.fixture
async def send(world, services):
    await world.basic(TOMORROW, doctor={"name": "张伟"})
    await world.patient("张三", PHONE, id_number=resident_id(birth="19900101"))
    hospital = await services.read(catalogue.hospital, "H001")

    async def send(text: str) -> str:
        texter = Texter("H001", hospital.id, "Asia/Shanghai", "+86" + PHONE, "zh")
        answer = await respond(services, Replies(), texter, text)
        assert len(answer.reply) <= SEGMENT_CHARS
        return answer.reply

    return send


async def _rule(services, key: RuleKey, value) -> None:
    hospital = await services.read(catalogue.hospital, "H001")
    await services.handle(rules.SetRule(rule=Rule(key, value, hospital_id=hospital.id)))


async def test_an_age_limit_is_texted_with_the_department(send, services):
    await _rule(services, RuleKey.ELIGIBILITY, {"101": {"age_under": 14}})
    assert await send("GHDH00868,07110830,张三") == "心内科仅接待14岁以下患者。"


async def test_a_closed_day_is_texted_with_its_date(send, services):
    await services.handle(
        rules.SetCalendarDay(hospital_code="H001", day=TOMORROW, is_open=False, note="院庆")
    )
    assert await send("GHDH00868,07110830,张三") == "7月11日医院停诊，不能预约，请换个日期。"


async def test_the_closed_hours_are_texted_with_when_they_end(send, services, clock):
    await _rule(services, RuleKey.CLOSED_HOURS, "23:00-06:30")
    clock.set(local(2026, 7, 10, 23, 0))
    assert await send("GHDH00868,07110830,张三") == "现在暂停预约，7月11日06:30起可约。"
