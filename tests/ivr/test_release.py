"""#9 item 10: the IVR offers only what can be booked now (the core's search, the same rule
the booking is checked by), says when the next day opens (放号 07:30), and the number of
days it says is the booking window's. The clock is frozen before and after 07:30."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core import bookings, catalogue
from booking_core.kernel.actor import SYSTEM
from tests.support.world import local

D6 = date(2026, 7, 16)  # released at 07:30 on 7/9: open all day on 7/10
D7 = date(2026, 7, 17)  # released at 07:30 on 7/10
NOT_YET = "7月17日 星期五上午的16个号还没有放出，7月10日 星期五上午7点30分开始预约"


@pytest.fixture
async def window_days(world, hospital):
    """Doctor 00868's morning sessions on D+6 and D+7 (8 slots of 2 places: 16 each)."""
    await world.session(D6, "00868")
    await world.session(D7, "00868")


async def _to_the_days(call, patient):
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    await call.press("101")
    await call.press("00868")
    await call.press("9")  # hear the days


async def test_before_0730_the_7th_day_is_not_offered_and_its_opening_is_said(
    twilio, patient, window_days, clock, services
):
    clock.set(local(2026, 7, 10, 7, 0))
    call = twilio.call()
    await _to_the_days(call, patient)
    text = call.text()
    assert "1，7月11日 星期六上午下午，还有20个号" in text
    assert "2，7月16日 星期四上午，还有16个号" in text
    assert "7月17日 星期五上午，还有" not in text  # not offered as a choice
    assert "3，" not in text
    assert NOT_YET in text

    # typed in directly, the day is refused before any time is asked, with its opening
    await call.press("*")
    await call.press("0717")
    assert "这一天的号还没有放出，7月10日 星期五上午7点30分开始预约" in call.text()
    assert "请输入就诊日期" in call.text()

    # at 07:30 the same call can take it
    clock.set(local(2026, 7, 10, 7, 30))
    await call.press("0717")
    assert "7月17日 星期五" in call.text()
    assert "请输入就诊时间" in call.text()
    await call.press("0800")
    await call.press("1")
    assert "预约成功" in call.text()
    [booking] = await services.read(bookings.list_bookings, SYSTEM, patient_id=patient.id)
    assert booking.booking.day == D7


async def test_from_0730_the_7th_day_is_offered(twilio, patient, window_days, clock):
    clock.set(local(2026, 7, 10, 7, 30))
    call = twilio.call()
    await _to_the_days(call, patient)
    assert "3，7月17日 星期五上午，还有16个号" in call.text()
    assert "还没有放出" not in call.text()


async def test_a_session_past_its_cut_off_is_not_offered(twilio, patient, world, clock):
    """This morning's session started at 08:00: at 09:00 none of its places can be booked."""
    await world.session(date(2026, 7, 10), "00868")
    clock.set(local(2026, 7, 10, 9, 0))
    call = twilio.call()
    await _to_the_days(call, patient)
    assert "7月10日" not in call.text()
    assert "1，7月11日 星期六上午下午，还有20个号" in call.text()


async def test_the_schedule_says_the_window_and_when_the_next_day_opens(twilio, window_days, clock):
    clock.set(local(2026, 7, 10, 7, 0))
    call = twilio.call()
    await call.dial()
    await call.press("3")
    await call.press("101")
    await call.press("00868")
    text = call.text()
    assert "今天和未来7天的出诊安排" in text
    assert "未来七天" not in text
    assert "7月11日 星期六上午下午出诊，还有20个号" in text
    assert "7月16日 星期四上午出诊，还有16个号" in text
    assert "7月17日 星期五上午出诊" not in text
    assert NOT_YET in text

    clock.set(local(2026, 7, 10, 7, 30))
    later = twilio.call()
    await later.dial()
    await later.press("3")
    await later.press("101")
    await later.press("00868")
    assert "7月17日 星期五上午出诊，还有16个号" in later.text()
    assert "还没有放出" not in later.text()


async def test_the_days_heard_follow_the_hospitals_window(twilio, world, services, clock):
    from booking_core import rules
    from booking_core.rules import Rule, RuleKey

    hospital = await services.read(catalogue.hospital, "H001")
    await services.handle(
        rules.SetRule(rule=Rule(RuleKey.BOOKING_WINDOW_DAYS, 14, hospital_id=hospital.id))
    )
    call = twilio.call()
    await call.dial()
    await call.press("3")
    await call.press("101")
    await call.press("00868")
    assert "今天和未来14天的出诊安排" in call.text()
