"""Channel pools (号源池, issue 15) by text: a text books the public pool; when only other
channels' pools have places left, the texter is told so in one segment, and the free times
suggested for a full time are the ones a text may book (none here, though the phone line
still has places)."""

from __future__ import annotations

from booking_core.bookings import BookSlot
from booking_core.rules import RuleKey
from tests.booking_core.helpers import set_rule
from tests.sms import test_handler as handler_tests
from tests.support.world import slot_ids

# the SMS handler tests' hospital, texter and patient (pytest finds fixtures by module name)
TOMORROW = handler_tests.TOMORROW
register = handler_tests.register
hospital = handler_tests.hospital
morning = handler_tests.morning
patient = handler_tests.patient
replies = handler_tests.replies
send = handler_tests.send

# 00868's morning: 8 half-hour slots of 2 (16 places); 12 kept for the phone line until 2 h
# before the session (the clock: 7/10 09:00), the public pool 4
PLAN = {"roll_hours_before": 2, "pools": [{"pool": "ivr", "percent": 75}]}


async def test_a_text_hears_channel_full_while_the_phone_line_has_places(
    send, services, patient, morning, world
):
    await set_rule(services, RuleKey.CHANNEL_POOLS, PLAN)
    slots = await slot_ids(services, morning.id)
    answer = await send("GHDH00868,07110930,张三")  # a text books the public pool
    assert answer.booking_no is not None, answer.reply
    for slot in (slots[0], slots[0], slots[1]):  # 08:00 twice, 08:30: the desk, the rest of it
        other = await world.patient("王五")
        await services.handle(BookSlot(slot_id=slot, patient_id=other.id, channel="agent"))
    await register(services, "李四")
    answer = await send("GHDH00868,07111000,李四")
    assert answer.reply == "这个时段留给短信预约的号已约满，其他渠道还有号，请换个时间或致电预约。"
    assert answer.booking_no is None
    # 08:00 is full: the free times suggested are a text's, and a text may book none
    answer = await send("GHDH00868,07110800,李四")
    assert answer.reply == "7月11日08:00已约满。当天已无余号，发YS或KS查其他医生。"
    assert TOMORROW.month == 7
