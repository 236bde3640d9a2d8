"""A patient at a real kiosk agent: swipe, today's bookings, the next step."""

from __future__ import annotations

import pytest

from tests.hardware.kiosk_world import KioskWorld, eventually

pytestmark = pytest.mark.slow

PATIENT = {"masked_name": "李*", "card_no": "P12345"}
CONFIRMED = {
    "booking_no": "384759261",
    "department": "心血管内科",
    "doctor": "张建国",
    "time": "08:30-09:00",
    "status": "confirmed",
    "fee": 5000,
    "paid": True,
}
HELD = CONFIRMED | {
    "booking_no": "384759270",
    "time": "10:00-10:30",
    "status": "held",
    "paid": False,
}
CANCELLED = CONFIRMED | {"booking_no": "384759288", "status": "cancelled"}


async def test_one_confirmed_booking_is_checked_in_at_once(kiosk: KioskWorld):
    engine = kiosk.engine
    kiosk.reader.swipe_card("P12345")
    swipe = await engine.request("swipe")
    assert swipe["card"] == {"type": "patient_card", "card_no": "P12345"}
    await engine.reply(swipe, patient=PATIENT, bookings=[CONFIRMED, CANCELLED])
    check_in = await engine.request("check_in")
    assert check_in["booking_no"] == "384759261"
    assert check_in["request_id"] != swipe["request_id"]
    await engine.reply(check_in, queue_no=12)
    await eventually(lambda: "排队号：12号" in kiosk.screen(), what="the queue number shown")


async def test_several_bookings_are_listed_and_the_one_touched_is_done(kiosk: KioskWorld):
    engine = kiosk.engine
    kiosk.reader.swipe_id_card("李四", "11010519491231002X")
    swipe = await engine.request("swipe")
    assert swipe["card"] == {"type": "id_card", "name": "李四", "id_number": "11010519491231002X"}
    await engine.reply(swipe, patient=PATIENT, bookings=[CONFIRMED, HELD])
    await eventually(lambda: "[2] 10:00-10:30" in kiosk.screen(), what="the list shown")
    kiosk.touch("7")  # none of the choices: ignored
    kiosk.touch("2")
    pay = await engine.request("pay")
    assert pay["booking_no"] == "384759270"
    await engine.reply(pay)
    await eventually(lambda: "金额：￥50.00" in kiosk.screen(), what="the amount to pay")
    assert [r["kind"] for r in engine.of("requests")] == ["swipe", "pay"]
    assert "11010519491231002X" not in kiosk.agent.log()  # the ID number is never logged


async def test_a_refused_request_shows_the_engine_s_words(kiosk: KioskWorld):
    engine = kiosk.engine
    kiosk.reader.swipe_card("P99999")
    swipe = await engine.request("swipe")
    refusal = {
        "ok": False,
        "code": "patient_not_found",
        "message": "未找到您的就诊卡，请到人工窗口",
    }
    await engine.reply(swipe, **refusal)
    await eventually(lambda: "未找到您的就诊卡" in kiosk.screen(), what="the engine's words")


async def test_no_reply_sends_the_same_request_once_more_then_says_busy(kiosk: KioskWorld):
    engine = kiosk.engine
    kiosk.reader.swipe_card("P12345")
    first = await engine.request("swipe")
    second = await engine.request("swipe", nth=1, seconds=8)  # after 5 s without a reply
    assert second == first  # the same request_id: the engine answers it as the first
    await eventually(lambda: "系统繁忙" in kiosk.screen(), seconds=8, what="busy shown")
    assert len(engine.of("requests")) == 2
    kiosk.reader.swipe_card("P12345")  # and the next patient is served as usual
    third = await engine.request("swipe", nth=2)
    assert third["request_id"] != first["request_id"]
