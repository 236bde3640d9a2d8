""" "My bookings" on the phone (#10 item 6): a card or ID number proves nothing. Bookings are
read and cancelled only when the caller ID is the patient's phone or after a code texted to
it is typed; look-ups per caller ID are capped per hour; a booking cancelled by phone is
texted to the patient. Booking (menu 1) by card still works from any number."""

from __future__ import annotations

import json

import pytest

from booking_core import rules
from booking_core.bookings import BookingStatus
from booking_core.calls import CancelForCall, call_queue
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import NotFound
from booking_core.kernel.unit import execute, rows
from booking_core.rules import Rule, RuleKey
from booking_core.store import make_store
from sms.notifier import Notifier
from sms.replies import Replies
from tests.ivr.conftest import book_directly
from tests.ivr.helpers import TOMORROW, texted_code
from tests.ivr.test_calls import bookings_of, slot_at


def spoken(booking_no: str) -> str:
    return "，".join("零一二三四五六七八九"[int(d)] for d in booking_no)


STRANGER = "+8613700000009"  # registered to nobody
PATIENT_PHONE = "13900000001"  # 张三's (the conftest's patient)


@pytest.fixture
async def booked(services, patient):
    slot = await slot_at(services, "00868", TOMORROW, "0800")
    return (await book_directly(services, patient, slot.slot_id)).booking


async def _texts(services) -> list[dict]:
    notifier = Notifier(services, Replies(), "twilio", consumer="test")
    while await notifier.run_once():
        pass

    def read(tx):
        found = yield rows(
            "SELECT kind, body, phone_enc FROM messages WHERE direction = 'out' ORDER BY id"
        )
        return [dict(r) for r in found]

    out = []
    for r in await services.read(read):
        phone = services.cipher.decrypt(r.pop("phone_enc"), context="phone")
        out.append({**r, "phone": phone})
    return out


async def _events(services, topic: str) -> int:
    found = await services.read(
        lambda tx: (yield rows("SELECT id FROM outbox WHERE topic = ?", topic))
    )
    return len(found)


async def _at_the_code(twilio, patient, caller: str = STRANGER):
    call = twilio.call(caller=caller)
    await call.dial()
    await call.press("2")
    await call.press(patient.card_no)
    return call


async def test_another_patients_card_reads_nothing_until_the_texted_code(
    twilio, services, patient, booked
):
    call = await _at_the_code(twilio, patient)
    assert spoken(booked.booking_no) not in "".join(call.heard)
    assert "验证码已发送到尾号零，零，零，一的手机" in call.text()
    assert "6位验证码" in call.text()
    [text] = [t for t in await _texts(services) if t["kind"] == "code"]
    code = await texted_code(services)
    assert (text["kind"], text["phone"]) == ("code", PATIENT_PHONE)  # the patient's, not ours
    assert code in text["body"]
    assert len(text["body"]) <= 70

    await call.press("000000" if code != "000000" else "111111")
    assert "验证码不正确" in call.text()
    await call.press(code)
    assert "第1个预约" in call.text()
    assert spoken(booked.booking_no) in call.text()
    stored = await services.read(
        lambda tx: (yield rows("SELECT digits FROM call_steps WHERE call_sid = ?", call.sid))
    )
    assert all(code not in r["digits"] for r in stored)  # keyed by a blind index

    await call.press("1")  # cancel this one
    await call.press("1")  # yes
    assert "已取消" in call.text()
    [view] = await bookings_of(services, patient.id)
    assert view.booking.status is BookingStatus.CANCELLED
    cancelled = [t for t in await _texts(services) if t["kind"] == "cancellation"]
    assert [t["phone"] for t in cancelled] == [PATIENT_PHONE]  # the patient is told
    assert booked.booking_no in cancelled[0]["body"]


async def test_three_wrong_codes_spend_it_and_reach_an_agent(twilio, services, patient, booked):
    call = await _at_the_code(twilio, patient)
    code = await texted_code(services)
    wrong = "000000" if code != "000000" else "111111"
    await call.press(wrong)
    await call.press(wrong)
    await call.press(wrong)
    assert call.kind() == "enqueue"
    [transfer] = await services.read(call_queue, SYSTEM)  # the agents' queue
    assert transfer.context["reason"] == "code_spent"
    assert "验证码已失效" in call.text()
    assert spoken(booked.booking_no) not in "".join(call.heard)
    [view] = await bookings_of(services, patient.id)
    assert view.booking.status is BookingStatus.CONFIRMED


async def test_a_code_a_minute_per_phone(twilio, services, clock, patient, booked):
    first = await _at_the_code(twilio, patient)
    code = await texted_code(services)
    second = await _at_the_code(twilio, patient)  # another call, within the minute
    assert "一分钟内已向尾号零，零，零，一的手机发过验证码" in second.text()
    assert await _events(services, "call.code") == 1
    await second.press(code)  # the code opens only the call that asked for it
    assert "验证码已失效" in second.text()
    assert spoken(booked.booking_no) not in "".join(second.heard)
    await first.press(code)
    assert spoken(booked.booking_no) in first.text()
    clock.advance(seconds=61)
    await _at_the_code(twilio, patient)
    assert await _events(services, "call.code") == 2


async def test_the_patients_own_phone_needs_no_code(twilio, services, patient, booked):
    call = twilio.call(caller="+86" + PATIENT_PHONE)
    await call.dial()
    await call.press("2")
    assert "您有1个预约" in call.text()
    assert spoken(booked.booking_no) in call.text()
    assert await _events(services, "call.code") == 0


async def test_look_ups_per_caller_id_are_capped_per_hour_then_an_agent(
    twilio, services, clock, patient, world
):
    for _ in range(10):  # the default rule: 10 an hour
        call = twilio.call(caller=STRANGER)
        await call.dial()
        await call.press("1")
        await call.press("55555555")
        assert "没有找到您的就诊信息" in call.text()
    call = twilio.call(caller=STRANGER)
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    assert "查询卡号或身份证号的次数已满" in call.text()
    assert "张*" not in call.text()
    assert call.kind() == "enqueue"  # kindly, to a person
    [queued] = await services.read(call_queue, SYSTEM)  # the agents' queue
    assert queued.context["reason"] == "lookup_limit"

    other = twilio.call(caller="+8613700000010")  # another caller ID is not held up
    await other.dial()
    await other.press("1")
    await other.press(patient.card_no)
    assert "张女士，您好" in other.text()

    clock.advance(hours=1)
    again = twilio.call(caller=STRANGER)
    await again.dial()
    await again.press("1")
    await again.press(patient.card_no)
    assert "张女士，您好" in again.text()


async def test_the_cap_is_a_rule_a_hospital_may_change(twilio, services, patient, hospital):
    await services.handle(rules.SetRule(rule=Rule(RuleKey.IVR_LOOKUPS_PER_HOUR, 1, priority=1)))
    first = await _at_the_code(twilio, patient)
    assert "验证码" in first.text()
    second = await _at_the_code(twilio, patient)
    assert "次数已满" in second.text()


async def test_the_core_refuses_a_cancel_for_an_unproven_caller(twilio, services, patient, booked):
    call = twilio.call(caller=STRANGER)
    await call.dial()
    actor = Actor("patient", f"ivr:{call.sid}", None, Channel.IVR)
    with pytest.raises(NotFound):
        await services.handle(
            CancelForCall(actor=actor, call_sid=call.sid, booking_no=booked.booking_no)
        )
    [view] = await bookings_of(services, patient.id)
    assert view.booking.status is BookingStatus.CONFIRMED


async def test_booking_by_card_from_any_number_works_as_before(twilio, services, patient):
    call = twilio.call(caller=STRANGER)
    await call.dial()
    for digits in ("1", patient.card_no, "101", "00868", "0711", "0830", "1"):
        await call.press(digits)
    assert "预约成功" in call.text()
    [view] = await bookings_of(services, patient.id)
    assert view.booking.status in (BookingStatus.CONFIRMED, BookingStatus.HELD)


async def test_the_code_prompt_has_its_ways_out(twilio, services, patient, booked):
    call = await _at_the_code(twilio, patient)
    await call.press("12")
    assert "验证码是6位数字" in call.text()
    await call.press("*")  # back: another card or ID number
    assert "请输入就诊卡号或身份证号" in call.text()
    call = await _at_the_code(twilio, patient)
    await call.silence()
    assert "6位验证码" in call.text()
    await call.press("0")
    assert call.kind() == "enqueue"
    assert spoken(booked.booking_no) not in "".join(call.heard)


async def test_the_migration_scrubs_numbers_typed_before_it(db_url, clock):
    """Rows kept before version 10 (#10 item 4): a step keyed by a typed ID number, an
    ended call's state with it; both are scrubbed, short keys and live calls are kept."""
    typed = "11010519491231002*"
    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:

        def before_the_fix(tx):
            yield execute("DROP TABLE call_codes")
            yield execute("DROP TABLE call_lookups")
            for sid, ended in (("CA-old", 1), ("CA-live", None)):
                state = json.dumps({"node": "book_dept", "last_digits": typed})
                yield execute(
                    "INSERT INTO calls (call_sid, channel, state, started_at, updated_at, "
                    "ended_at) VALUES (?, 'ivr', ?, 0, 0, ?)",
                    sid,
                    state.replace(" ", ""),
                    ended,
                )
                for step, digits in ((0, "!incoming"), (1, "1"), (2, typed), (3, "101")):
                    yield execute(
                        "INSERT INTO call_steps (call_sid, step, digits, response, created_at) "
                        "VALUES (?, ?, ?, '', 0)",
                        sid,
                        step,
                        digits,
                    )
            yield execute("DELETE FROM schema_migrations WHERE version = 10")

        await store.write(before_the_fix)
    finally:
        await store.close()

    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:

        def read(tx):
            steps = yield rows("SELECT call_sid, digits FROM call_steps ORDER BY call_sid, step")
            calls = yield rows("SELECT call_sid, state FROM calls ORDER BY call_sid")
            return [(r["call_sid"], r["digits"]) for r in steps], {
                r["call_sid"]: r["state"] for r in calls
            }

        steps, states = await store.read(read)
    finally:
        await store.close()
    assert [d for sid, d in steps if sid == "CA-old"] == ["!incoming", "1", "~old", "101"]
    assert all(typed not in d for _sid, d in steps)
    assert states["CA-old"] == "{}"
    assert typed in states["CA-live"]  # a call still going keeps its state (masked from now on)
