"""Whole calls, played as Twilio plays them: signed webhooks, following the TwiML's URLs."""

from __future__ import annotations

import re
from datetime import date, time
from types import SimpleNamespace

from booking_core import blacklist, bookings, calls, complaints, schedule
from booking_core.blacklist.bans import PlannedBan, insert_ban
from booking_core.blacklist.model import BanSource
from booking_core.bookings import BookingStatus
from booking_core.events import outbox
from booking_core.kernel.actor import SYSTEM, Channel
from booking_core.kernel.unit import one, rows, val
from booking_core.schedule import SlotSearch
from tests.ivr.helpers import PREFIX, PUBLIC_URL, TOMORROW, texted_code
from tests.support.world import local


async def slot_at(services, work_no: str, day: date, hhmm: str):
    found = await services.read(
        schedule.search_slots,
        SlotSearch(hospital_code="H001", doctor_work_no=work_no, day=day, only_free=False),
        SYSTEM,
    )
    return next(s for s in found if s.start.strftime("%H%M") == hhmm)


async def bookings_of(services, patient_id: int):
    return await services.read(bookings.list_bookings, SYSTEM, patient_id=patient_id)


async def record_of(services, call):
    """What the call's row says for the reports: its result, duration and bookings."""

    def q(tx):
        row = yield one(
            "SELECT result, duration_seconds, booked FROM calls WHERE call_sid = ?", call.sid
        )
        return SimpleNamespace(**{k: row[k] for k in ("result", "duration_seconds", "booked")})

    return await services.read(q)


async def queue(services):
    """The agent queue, as the desk lists it."""
    return await services.read(calls.call_queue, SYSTEM)


async def caller_of(services, call_sid: str) -> str:
    """The caller's number as kept (encrypted) for an agent allowed to call back."""

    def q(tx):
        return (yield val("SELECT caller_enc FROM calls WHERE call_sid = ?", call_sid))

    return services.cipher.decrypt(await services.read(q), context="phone")


async def test_booking_by_direct_codes(twilio, patient, services):
    call = twilio.call()
    await call.dial()
    assert "预约挂号请按1" in call.text()
    assert call.doc.find("./Gather").get("numDigits") == "1"
    await call.press("1")
    assert "就诊卡号或身份证号" in call.text()
    await call.press(patient.card_no)
    assert "张女士，您好" in call.text()  # family name and title: a masked name is not said
    assert "*" not in call.text()
    await call.press("101")
    await call.press("00868")
    await call.press("0711")
    await call.press("0830")
    assert "7月11日 星期六，上午8点30分，心内科" in call.text()
    assert "挂号费50元" in call.text()
    await call.press("1")

    [booking] = await bookings_of(services, patient.id)
    b = booking.booking
    assert b.status is BookingStatus.CONFIRMED
    assert b.channel is Channel.IVR
    assert booking.start == time(8, 30)
    spoken = "，".join("零一二三四五六七八九"[int(d)] for d in b.booking_no)
    assert call.text().count(spoken) == 2  # read slowly, twice
    assert "短信" in call.text()
    assert call.kind() == "gather"  # back at the main menu

    created = await services.read(outbox.events, topic="booking.created")
    assert [e.payload["channel"] for e in created] == ["ivr"]
    [notice] = await services.read(outbox.events, topic="call.booked")
    assert notice.payload["booking_no"] == b.booking_no
    assert notice.payload["caller_masked"] == "139****0001"
    caller = services.cipher.decrypt(notice.payload["caller_enc"], context="phone")
    assert caller == "13900000001"

    assert await call.hang_up(duration=95) == 200
    record = await record_of(services, call)
    assert (record.result, record.duration_seconds, record.booked) == ("booked", 95, 1)


async def test_booking_by_listening_to_the_lists(twilio, patient, services):
    call = twilio.call()
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    await call.press("9")  # hear the departments
    assert "1，心内科" in call.text()
    assert "2，消化科" in call.text()
    assert call.doc.find("./Gather").get("numDigits") == "1"
    await call.press("1")
    await call.press("9")  # doctors, with title and fee
    assert "1，医生00868，主任医师，挂号费50元" in call.text()
    await call.press("1")
    await call.press("9")  # days that still have places
    assert "1，7月11日 星期六上午下午，还有20个号" in call.text()
    await call.press("1")
    await call.press("9")  # free times
    assert "1，上午8点，还有2个号" in call.text()
    assert "9" in call.text()  # 8 a page: 9 = more
    await call.press("9")
    assert "上午12点" not in call.text()
    assert "下午2点" in call.text()
    await call.press("1")  # first of page 2: 14:00
    assert "下午2点" in call.text()
    await call.press("1")
    [booking] = await bookings_of(services, patient.id)
    assert booking.start == time(14, 0)


async def test_cancel_a_booking_found_by_caller_number(twilio, patient, services, hospital):
    slot = await slot_at(services, "00868", TOMORROW, "0900")
    view = await services.handle(
        bookings.BookSlot(slot_id=slot.slot_id, patient_id=patient.id, channel=Channel.SMS)
    )
    call = twilio.call()
    await call.dial()
    await call.press("2")
    assert "您有1个预约" in call.text()
    assert "第1个预约：7月11日 星期六，上午9点" in call.text()
    await call.press("1")
    assert "确认取消请按1" in call.text()
    await call.press("1")
    assert "已取消7月11日 星期六上午9点的预约" in call.text()
    got = await services.read(bookings.get_booking, view.booking.booking_no, SYSTEM)
    assert got.booking.status is BookingStatus.CANCELLED
    await call.hang_up()
    assert (await record_of(services, call)).result == "cancelled"


async def test_cancel_too_late_says_until_when(twilio, patient, services, world, clock):
    today = date(2026, 7, 10)
    clock.set(local(2026, 7, 10, 7, 45))
    await world.session(today, "00901", slot_minutes=60, places=1)
    slot = await slot_at(services, "00901", today, "0800")
    await services.handle(
        bookings.BookSlot(slot_id=slot.slot_id, patient_id=patient.id, channel="sms")
    )
    clock.set(local(2026, 7, 10, 9, 0))
    call = twilio.call()
    await call.dial()
    await call.press("2")
    await call.press("1")
    await call.press("1")
    assert "只能在7月10日 星期五上午8点之前取消" in call.text()
    [booking] = await bookings_of(services, patient.id)
    assert booking.booking.status is BookingStatus.CONFIRMED


async def test_hear_a_doctors_schedule(twilio):
    call = twilio.call()
    await call.dial()
    await call.press("3")
    await call.press("101")
    await call.press("00868")
    assert "医生00868主任医师，今天和未来7天的出诊安排" in call.text()
    assert "7月11日 星期六上午下午出诊，还有20个号" in call.text()
    await call.press("1")  # again
    assert "还有20个号" in call.text()
    await call.press("2")
    assert "预约挂号请按1" in call.text()


async def test_complaint_recorded_then_status_heard(twilio, services):
    call = twilio.call()
    await call.dial()
    await call.press("4")
    await call.press("1")
    record = call.doc.find("./Record")
    assert record is not None
    assert record.get("maxLength") == "120"
    assert record.get("recordingStatusCallback").endswith("/twilio/voice/recording")
    await call.speak(recording_sid="RE0001", seconds=30)

    [(no, status, url)] = await complaints_of(services, call.sid)
    assert status == "received"
    spoken = "，".join("零一二三四五六七八九"[int(d)] for d in no)
    assert call.text().count(spoken) == 2

    recording = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0001"
    status_code, _ = await twilio.post(
        "/twilio/voice/recording",
        call.params(
            RecordingSid="RE0001",
            RecordingUrl=recording,
            RecordingStatus="completed",
            RecordingDuration="30",
        ),
    )
    assert status_code == 200
    [(_, _, url)] = await complaints_of(services, call.sid)
    assert url == recording
    await call.hang_up()
    assert (await record_of(services, call)).result == "complaint"

    again = twilio.call(caller="+8613900000002")
    await again.dial()
    await again.press("4")
    await again.press("2")
    await again.press(no)
    assert f"受理号{spoken}：已经受理" in again.text()
    await services.handle(complaints.SetComplaintStatus(tracking_no=no, status="resolved"))
    await again.press("4")
    await again.press("2")
    await again.press(no)
    assert "已经处理完毕" in again.text()


async def complaints_of(services, call_sid):
    def q(tx):
        found = yield rows(
            "SELECT tracking_no, status, recording_url FROM complaints WHERE call_sid = ?",
            call_sid,
        )
        return [(r["tracking_no"], r["status"], r["recording_url"]) for r in found]

    return await services.read(q)


async def test_transfer_carries_the_context(twilio, patient, services, cipher):
    call = twilio.call()
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    await call.press("0")
    enqueue = call.doc.find("./Enqueue")
    assert enqueue is not None
    assert enqueue.text == f"q-{call.sid}"  # a queue of the caller's own (#14)
    assert enqueue.get("action") == f"{PUBLIC_URL}{PREFIX}/queue-left?lang=zh"
    assert "转接人工" in call.text()
    status, wait = await twilio.post(
        "/twilio/voice/queue-wait?lang=zh", {"CallSid": call.sid, "QueueSid": "QU1"}
    )
    assert status == 200
    assert "请稍候" in wait

    [transfer] = await queue(services)
    assert transfer.call_sid == call.sid
    assert await caller_of(services, transfer.call_sid) == "13900000001"
    assert transfer.patient_id == patient.id
    assert transfer.context["step"] == "book_dept"
    assert transfer.context["patient_name"] == "张*"
    assert transfer.context["reason"] == "asked"
    await call.hang_up()
    assert (await record_of(services, call)).result == "transferred"


async def test_unknown_caller_is_offered_an_agent_to_register(twilio, services):
    """No record for the number typed: an agent registers the caller (无卡病人), instead of
    "text ZC to register"; the desk knows why and the number that called (#14)."""
    call = twilio.call(caller="+8613700000009")
    await call.dial()
    await call.press("1")
    await call.press("55555555")
    assert "没有找到您的就诊信息" in call.text()
    assert "人工为您登记，请按0" in call.text()
    assert "Z C" not in call.text()
    await call.press("1")  # try again
    assert "就诊卡号或身份证号" in call.text()
    await call.press("66666666")
    await call.press("0")
    assert call.kind() == "enqueue"
    [transfer] = await queue(services)
    assert transfer.context["step"] == "unknown_patient"
    assert transfer.context["reason"] == "not_registered"
    assert transfer.patient_id is None
    assert transfer.caller_masked == "137****0009"
    assert await caller_of(services, call.sid) == "13700000009"


async def test_the_english_line_offers_an_agent_to_register_too(twilio, services):
    call = twilio.call(caller="+8613700000008")
    await call.dial()
    await call.press("9")
    await call.press("1")
    await call.press("55555555")
    assert "To be registered by an operator, press 0" in call.text()
    await call.press("0")
    [transfer] = await queue(services)
    assert transfer.context["reason"] == "not_registered"


async def test_my_bookings_for_an_unregistered_number_asks_for_the_card(twilio, patient):
    call = twilio.call(caller="+8613700000009")
    await call.dial()
    await call.press("2")
    assert "没有找到用本机号码登记的就诊人" in call.text()
    await call.press(patient.card_no)
    assert "验证码已发送到尾号" in call.text()  # the card alone proves nothing (#10 item 6)
    await call.press(await texted_code(twilio.services))
    assert "您目前没有有效的预约" in call.text()


async def test_blacklisted_caller_hears_until_when(twilio, patient, services):
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 9, 30), reason="欠费")
    )
    call = twilio.call()
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    assert "医院已暂停您的预约，10月1日 星期四起恢复" in call.text()  # an admin's: no 爽约
    assert "爽约" not in call.text()
    assert "预约挂号请按1" in call.text()
    assert await bookings_of(services, patient.id) == []


async def test_a_caller_banned_for_no_shows_hears_why(twilio, patient, services):
    ban = PlannedBan(
        patient.id,
        patient.hospital_id,
        patient.hospital_id,
        "爽约3次",
        BanSource.NO_SHOW,
        local(2026, 10, 1, 0, 0),
    )
    await services.store.write(lambda tx: (yield from insert_ban(tx, ban, SYSTEM)))
    call = twilio.call()
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    assert "您因多次爽约，暂时不能预约，10月1日 星期四起恢复" in call.text()


async def test_full_slot_is_said_and_the_times_offered(twilio, patient, world, services):
    slot = await slot_at(services, "00868", TOMORROW, "0800")
    for name in ("李四", "王五"):
        other = await world.patient(name)
        await services.handle(
            bookings.BookSlot(slot_id=slot.slot_id, patient_id=other.id, channel="sms")
        )
    call = twilio.call()
    await call.dial()
    for digits in ("1", patient.card_no, "101", "00868", "0711", "0800"):
        await call.press(digits)
    assert "这个时段的号已经约满了" in call.text()
    assert "请输入就诊时间" in call.text()

    # taken by someone else between the read-back and the confirmation: the core says so
    await call.press("0830")
    late = await slot_at(services, "00868", TOMORROW, "0830")
    for name in ("赵六", "钱七"):
        other = await world.patient(name)
        await services.handle(
            bookings.BookSlot(slot_id=late.slot_id, patient_id=other.id, channel="sms")
        )
    await call.press("1")
    assert "这个时段的号已经约满了" in call.text()
    assert "请输入就诊时间" in call.text()
    assert await bookings_of(services, patient.id) == []


async def test_silence_at_the_main_menu_is_asked_again_then_an_agent(twilio, services, cipher):
    """#9 item 9: the main menu, like every other menu, puts a silent caller through."""
    call = twilio.call()
    await call.dial()
    await call.silence()
    assert "没有听到您的按键" in call.text()
    assert "预约挂号请按1" in call.text()
    assert call.kind() == "gather"
    await call.silence()
    await call.silence()
    assert call.kind() == "enqueue"
    assert call.doc.find("./Enqueue").text == f"q-{call.sid}"
    assert "一直没有收到您的按键" in call.text()
    assert "正在为您转接人工服务" in call.text()
    [transfer] = await queue(services)
    assert transfer.call_sid == call.sid
    assert transfer.context["reason"] == "no_input"
    assert transfer.context["step"] == "main"
    await call.hang_up()
    assert (await record_of(services, call)).result == "transferred"


async def test_silence_deep_in_a_booking_goes_to_an_agent(twilio, patient):
    call = twilio.call()
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    for _ in range(3):
        await call.silence()
    assert call.kind() == "enqueue"


async def test_garbage_digits_are_named_and_asked_again(twilio, patient):
    call = twilio.call()
    await call.dial()
    await call.press("7")
    assert "您的输入有误" in call.text()
    assert "预约挂号请按1" in call.text()
    await call.press("1")
    await call.press("12#3")
    assert "卡号或身份证号格式不对" in call.text()
    await call.press(patient.card_no)
    await call.press("12")
    assert "科室代码是三位数字" in call.text()
    await call.press("999")
    assert "没有代码为九，九，九的科室" in call.text()
    await call.press("101")
    await call.press("00868")
    await call.press("1399")
    assert "日期格式不对" in call.text()
    await call.press("0716")
    assert "7月16日没有可以预约的号" in call.text()
    await call.press("0711")
    await call.press("1300")
    assert "13点0分没有这位医生的号" in call.text()
    await call.press("9")
    await call.press("9")  # page 2: four afternoon times
    await call.press("6")
    assert "没有这个序号" in call.text()


async def test_star_goes_back_one_step(twilio, patient):
    call = twilio.call()
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    await call.press("101")
    assert "医生工号" in call.text()
    await call.press("*")
    assert "请输入三位科室代码" in call.text()
    await call.press("9")
    assert "1，心内科" in call.text()
    await call.press("*")  # out of the list, still at the department
    assert "请输入三位科室代码" in call.text()
    await call.press("*")
    await call.press("*")
    assert "预约挂号请按1" in call.text()


async def test_english(twilio, patient, services):
    call = twilio.call()
    await call.dial()
    await call.press("9")
    assert "To book an appointment, press 1" in call.text()
    assert call.doc.find("./Gather/Say").get("language") == "en-US"
    await call.press("1")
    await call.press(patient.card_no)
    assert re.search(r"Hello, M[rs]s? Zhang\.", call.text())  # pinyin: an English voice reads no 张
    assert "张" not in call.text()
    await call.press("101")
    await call.press("00868")
    await call.press("0711")
    await call.press("0830")
    assert "Saturday, July 11 at 8:30 AM" in call.text()
    assert "fee 50 yuan" in call.text()
    await call.press("1")
    [booking] = await bookings_of(services, patient.id)
    spoken = ", ".join(booking.booking.booking_no)
    assert f"Your booking number is {spoken}" in call.text()
    assert f"Once more, booking number {spoken}" in call.text()
