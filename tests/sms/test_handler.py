"""The SMS door's brain against a real core (both stores): every command, right and wrong."""

from __future__ import annotations

from datetime import date, time

import pytest

from booking_core import blacklist, catalogue, messages, patients, rules
from booking_core.bookings import BookSlot, StopSession
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import StoreUnavailable
from booking_core.kernel.unit import rows
from booking_core.patients import Patient
from booking_core.rules import Rule, RuleKey
from booking_core.schedule import Period
from sms.commands import FORMATS, MonthDayTime
from sms.handler import Answer, Texter, family_labels, resolve_day, respond
from sms.replies import SEGMENT_CHARS, TWO_SEGMENTS_CHARS, Replies
from tests.support.world import World, first_slot, local, resident_id

TOMORROW = date(2026, 7, 11)  # the clock is 2026-07-10 09:00 Beijing
PHONE = "13912345678"
OTHER_PHONE = "13800000002"
UNKNOWN_BOOKING = "123456786"  # a well-formed booking number nobody holds


@pytest.fixture(scope="module")
def replies() -> Replies:
    return Replies()


@pytest.fixture
async def morning(world):
    """协和医院: 心内科 101 (张伟 00868 50元, 李娜 00869), 消化内科 102 (王芳 00901), 神经内科
    103; 00868 and 00901 see patients tomorrow morning, 08:00–12:00 in half hours, 2 places.
    00868's session."""
    await world.hospital(name="协和医院")
    for code, name, aliases in [
        ("101", "心内科", ("心血管内科",)),
        ("102", "消化内科", ()),
        ("103", "神经内科", ()),
    ]:
        await world.department(code, name, aliases=aliases)
    for work_no, dept, name, title, specialty, fee in [
        ("00868", "101", "张伟", "主任医师", "高血压、冠心病", 5000),
        ("00869", "101", "李娜", "副主任医师", "心律失常", 3000),
        ("00901", "102", "王芳", "主治医师", "胃炎", 2000),
    ]:
        await world.doctor(work_no, dept, fee, name=name, title=title, specialty=specialty)
    session = await world.session(TOMORROW, "00868")
    await world.session(TOMORROW, "00901")
    return session


@pytest.fixture
async def hospital(morning, services):
    """协和医院 as :func:`morning` built it."""
    return await services.read(catalogue.hospital, "H001")


async def register(services, name="张三", phone=PHONE, id_number=None):
    return await World(services).patient(name, phone, id_number=id_number)


@pytest.fixture
async def patient(hospital, services):
    """张三, registered with the texter's phone."""
    return await register(services)


@pytest.fixture
def send(services, replies, hospital):
    async def send(text: str, phone: str = "+86" + PHONE, lang: str = "zh") -> Answer:
        texter = Texter("H001", hospital.id, "Asia/Shanghai", phone, lang)
        return await respond(services, replies, texter, text)

    return send


async def bookings(services) -> list[dict]:
    def read(tx):
        found = yield rows(
            "SELECT b.booking_no, b.status, b.channel, b.patient_id, b.booker_phone_index, "
            "sl.start_time, b.day FROM bookings b JOIN slots sl ON sl.id = b.slot_id ORDER BY b.id"
        )
        return [dict(r) for r in found]

    return await services.read(read)


# --- GHDH: booking by code -------------------------------------------------------------


async def test_booking_by_code_end_to_end(send, services, patient, clock):
    answer = await send("GHDH00868,07110830,张三")
    (row,) = await bookings(services)
    assert answer.booking_no == row["booking_no"]
    assert answer.reply == (
        f"预约成功！张* 7月11日08:30 心内科 张伟，预约号{row['booking_no']}，挂号费50元到院缴纳。"
    )
    assert len(answer.reply) <= SEGMENT_CHARS
    assert (row["status"], row["channel"], row["patient_id"]) == ("confirmed", "sms", patient.id)
    assert (row["start_time"], str(row["day"])) == ("08:30", "2026-07-11")
    assert row["booker_phone_index"] == services.cipher.blind_index(PHONE, context="phone")
    audit = await services.read(lambda tx: (yield rows("SELECT actor FROM audit")))
    assert "patient:sms:139****5678" in {r["actor"] for r in audit}


async def test_a_time_inside_a_slot_books_that_slot_and_full_width_text_is_read(
    send, services, patient
):
    answer = await send("ＧＨＤＨ００８６８，０７１１０８４５，张三")
    assert answer.booking_no
    assert [r["start_time"] for r in await bookings(services)] == ["08:30"]


async def test_a_held_booking_says_until_when_to_pay(send, services, hospital, patient):
    await services.handle(
        rules.SetRule(rule=Rule(RuleKey.PREPAY_REQUIRED, True, hospital_id=hospital.id))
    )
    answer = await send("GHDH00868,07110830,张三")
    assert "请于09:15前支付50元，逾期自动取消" in answer.reply
    assert len(answer.reply) <= SEGMENT_CHARS


async def test_a_name_that_is_not_the_phones_patient_is_refused_masked(send, services, patient):
    await register(services, "李四光", PHONE)
    answer = await send("GHDH00868,07110830,王五")
    assert answer == Answer(
        "姓名“王五”与本机注册的就诊人（张*、李**）不符。格式：" + FORMATS["GHDH"]
    )
    assert await bookings(services) == []


async def test_an_unknown_doctor_says_so_with_the_format(send, services, patient):
    answer = await send("GHDH00999,07110830,张三")
    assert answer.reply.startswith("工号00999不存在。")
    assert answer.reply.endswith("格式：" + FORMATS["GHDH"])
    assert await bookings(services) == []


async def test_no_session_at_that_time_suggests_the_free_times(send, services, patient):
    answer = await send("GHDH00868,07111430,张三")
    assert answer.reply == ("7月11日14:30没有00868医生的出诊。当天可约：08:00 08:30 09:00 09:30。")
    answer = await send("GHDH00868,07120830,张三")  # no session at all that day
    assert answer.reply == "7月12日08:30没有00868医生的出诊。发YS+姓名或KS+科室查其他医生。"


async def test_a_full_slot_suggests_the_free_times_that_day(
    send, services, patient, world, morning
):
    for _ in range(2):
        other = await world.patient("李四")
        slot = await first_slot(services, morning.id)
        await services.handle(BookSlot(slot_id=slot, patient_id=other.id, channel="agent"))
    answer = await send("GHDH00868,07110800,张三")
    assert answer.reply == "7月11日08:00已约满。当天可约：08:30 09:00 09:30 10:00。"
    assert answer.booking_no is None


async def test_a_blacklisted_patient_hears_when_the_ban_ends(send, services, patient):
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 8, 1), reason="欠费")
    )
    answer = await send("GHDH00868,07110830,张三")
    assert answer.reply == "医院已暂停您的预约，8月2日起可再预约。"  # an admin's ban: no 爽约


async def test_outside_the_window_says_when_the_day_opens(send, world, patient):
    await world.session(date(2026, 7, 20), "00868")
    answer = await send("GHDH00868,07200830,张三")
    assert answer.reply == "这一天的号尚未放出，7月13日07:30开始预约。"


async def test_a_second_booking_in_a_department_that_day_hits_the_limit(send, patient):
    assert (await send("GHDH00868,07110830,张三")).booking_no
    answer = await send("GHDH00868,07111000,张三")
    assert answer.reply == "同一天同一科室只能预约1个号。"


async def test_an_unregistered_phone_is_told_to_register(send, patient):
    answer = await send("GHDH00868,07110830,张三", phone=OTHER_PHONE)
    assert answer.reply.startswith("本机号码尚未注册就诊人。请先发送：ZC 身份证号 姓名")
    assert (await send("CX", phone=OTHER_PHONE)).reply == answer.reply


async def test_a_malformed_text_says_what_was_wrong_and_the_format(send, patient):
    answer = await send("GHDH00868,7110830,张三")
    assert answer == Answer(
        "时间7110830只有7位，请写满8位：月日时分各两位。格式：GHDH00868,07150830,张三"
    )


async def test_english_texters_get_english(send, patient):
    answer = await send("GHDH00868,07110830,张三", lang="en")
    assert answer.reply.startswith("Booked! 张* Jul 11 08:30 心内科 张伟")


# --- ZC: registering -------------------------------------------------------------------------


async def test_registering_a_phone_replies_with_the_card_number(send, services, hospital):
    answer = await send(f"ZC {resident_id()} 王五", phone=OTHER_PHONE)
    (found,) = await services.read(
        patients.find_patients, SYSTEM, services.cipher, hospital_code="H001", phone=OTHER_PHONE
    )
    assert found.name == "王五"
    assert answer.reply == (
        f"注册成功！王五的就诊卡号{found.card_no}。挂号请发：GHDH工号,月日时分,王五"
    )
    assert len(answer.reply) <= SEGMENT_CHARS


async def test_registering_again_with_the_same_phone_repeats_the_card_number(
    send, services, hospital
):
    number = resident_id()
    mine = await register(services, "张三", PHONE, number)
    answer = await send(f"ZC {number} 张三")
    assert answer.reply == f"该身份证号已用本机注册，张三的就诊卡号{mine.card_no}。"


async def test_someone_elses_id_number_reveals_nothing_about_them(send, services, hospital):
    number = resident_id()
    theirs = await register(services, "赵六", OTHER_PHONE, number)
    answer = await send(f"ZC {number} 张三")
    assert answer == Answer("无法用本机为这个身份证号注册。请就诊人本人带身份证到医院服务台办理。")
    for secret in (theirs.card_no, "赵", theirs.phone_masked, OTHER_PHONE[-4:]):
        assert secret not in answer.reply


# --- CX / QX / GQ: my bookings -----------------------------------------------------------


async def test_my_bookings_none_then_soonest_first(send, services, patient, world):
    assert (await send("CX")).reply == "您目前没有有效预约。挂号请发：GHDH工号,月日时分,姓名"
    later = (await send("GHDH00868,07111000,张三")).booking_no
    sooner = (await send("GHDH00901,07110830,张三")).booking_no
    answer = await send("CX")
    assert answer.reply == (
        f"您有2个预约：7月11日08:30 消化内科 王芳 预约号{sooner}；"
        f"7月11日10:00 心内科 张伟 预约号{later}。取消发QX 预约号"
    )
    assert len(answer.reply) <= TWO_SEGMENTS_CHARS
    await send(f"QX {later}")
    assert later not in (await send("CX")).reply


async def test_my_bookings_name_the_patient_when_a_phone_has_several(send, services, patient):
    await register(services, "张小明", PHONE)
    await send("GHDH00868,07111000,张三")
    await send("GHDH00868,07110830,张小明")
    reply = (await send("CX")).reply
    assert "张* 预约号" in reply
    assert "张** 预约号" in reply


async def test_one_bookings_status(send, patient):
    booking_no = (await send("GHDH00868,07110830,张三")).booking_no
    answer = await send(f"CX {booking_no}")
    assert answer == Answer(
        f"预约号{booking_no}：张* 7月11日08:30 心内科 张伟，已预约。", booking_no
    )
    assert len(answer.reply) <= SEGMENT_CHARS


async def test_cancel_my_booking(send, services, patient):
    booking_no = (await send("GHDH00868,07110830,张三")).booking_no
    answer = await send(f"QX {booking_no}")
    assert answer == Answer(f"已取消预约号{booking_no}（7月11日08:30 心内科）。", booking_no)
    assert len(answer.reply) <= SEGMENT_CHARS
    assert [r["status"] for r in await bookings(services)] == ["cancelled"]
    again = await send(f"QX {booking_no}")
    assert again.reply == "该预约已取消，不能取消。"


async def test_cancel_after_the_deadline_says_until_when(send, services, patient, clock):
    booking_no = (await send("GHDH00868,07110830,张三")).booking_no
    clock.set(local(2026, 7, 11, 8, 10))
    answer = await send(f"QX {booking_no}")
    assert answer == Answer("只能在7月11日08:00前取消，现已不能取消。", booking_no)
    assert [r["status"] for r in await bookings(services)] == ["confirmed"]


async def test_reschedule_my_booking(send, services, patient, world):
    await world.session(date(2026, 7, 12), "00868")
    booking_no = (await send("GHDH00868,07110830,张三")).booking_no
    answer = await send(f"GQ {booking_no} 07120900")
    assert answer == Answer(
        f"改约成功！预约号{booking_no}由7月11日08:30改为7月12日09:00 心内科 张伟。", booking_no
    )
    assert len(answer.reply) <= SEGMENT_CHARS
    (row,) = await bookings(services)
    assert (str(row["day"]), row["start_time"]) == ("2026-07-12", "09:00")
    no_session = await send(f"GQ {booking_no} 07121500")
    assert no_session.reply.startswith("7月12日15:00没有00868医生的出诊。")


async def test_reschedule_after_the_deadline_says_until_when(send, patient, world, clock):
    await world.session(date(2026, 7, 12), "00868")
    booking_no = (await send("GHDH00868,07110830,张三")).booking_no
    clock.set(local(2026, 7, 11, 0, 30))
    answer = await send(f"GQ {booking_no} 07120900")
    assert answer.reply == "只能在7月11日00:00前改约，现已不能改约。"


@pytest.mark.parametrize("command", ["CX {}", "QX {}", "GQ {} 07110900"])
async def test_someone_elses_booking_is_not_found(send, services, world, patient, morning, command):
    other = await register(services, "赵六", OTHER_PHONE)
    slot = await first_slot(services, morning.id)
    theirs = await services.handle(BookSlot(slot_id=slot, patient_id=other.id, channel="sms"))
    booking_no = theirs.booking.booking_no
    answer = await send(command.format(booking_no))
    nobodys = await send(command.format(UNKNOWN_BOOKING))
    assert answer == Answer(nobodys.reply.replace(UNKNOWN_BOOKING, booking_no))
    assert answer.reply == f"没有找到预约号{booking_no}。发CX查看您的预约。"
    assert "赵" not in answer.reply
    (row,) = await bookings(services)
    assert (row["status"], row["start_time"]) == ("confirmed", "08:00")


# --- KS / YS: departments and doctors ----------------------------------------------------


async def test_departments(send, hospital):
    answer = await send("KS")
    assert answer.reply == (
        "科室（代码 名称）：101 心内科；102 消化内科；103 神经内科。查医生发KS+科室名"
    )
    assert len(answer.reply) <= TWO_SEGMENTS_CHARS


@pytest.mark.parametrize("text", ["KS 心内", "KS心内科", "KS 101", "KS 心血管"])
async def test_a_departments_doctors_by_name_code_or_alias(send, hospital, text):
    answer = await send(text)
    assert answer.reply == (
        "心内科医生：00868 张伟 主任医师 50元；00869 李娜 副主任医师 30元。"
        "挂号发GHDH工号,月日时分,姓名"
    )


async def test_an_ambiguous_or_unknown_department(send, hospital):
    answer = await send("KS 内科")
    assert answer.reply == (
        "“内科”对应多个科室：101 心内科；102 消化内科；103 神经内科。请发KS+科室代码"
    )
    assert (await send("KS 神经内科")).reply == "神经内科暂无出诊医生。"
    assert (await send("KS 眼科")).reply == "没有找到科室“眼科”。发KS查看全部科室。"


@pytest.mark.parametrize(
    ("keyword", "found"),
    [
        ("张伟", "00868 张伟"),
        ("冠心", "00868 张伟"),
        ("高血亚", "00868 张伟"),
        ("胃", "00901 王芳"),
    ],
)
async def test_find_doctors_by_name_or_specialty_even_with_a_typo(send, hospital, keyword, found):
    answer = await send(f"YS {keyword}")
    assert answer.reply.startswith(f"找到医生：{found} ")
    assert answer.reply.endswith("挂号发GHDH工号,月日时分,姓名")


async def test_find_doctors_none(send, hospital):
    assert (await send("YS 骨科")).reply == "没有找到与“骨科”相关的医生。发KS查看科室。"


# --- BZ, TD / DY, surveys --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["BZ", "?", "帮助"])
async def test_help_lists_the_commands_within_two_segments(send, hospital, text):
    answer = await send(text)
    assert answer.reply.startswith("挂号GHDH工号,月日时分,姓名｜注册ZC 身份证号 姓名")
    assert len(answer.reply) <= TWO_SEGMENTS_CHARS


async def test_opt_out_and_back_in(send, services, patient):
    async def opted_out():
        return await services.read(lambda tx: (yield rows("SELECT phone_index FROM sms_opt_outs")))

    answer = await send("TD")
    assert answer.reply.startswith("已退订就诊提醒和满意度回访。您本人预约、取消的确认短信仍会发送")
    assert len(answer.reply) <= SEGMENT_CHARS
    index = services.cipher.blind_index(PHONE, context="phone")
    assert [r["phone_index"] for r in await opted_out()] == [index]
    assert (await services.read(patients.get_patient, patient.id, SYSTEM)).sms_opt_out
    answer = await send("START")
    assert answer.reply == "已恢复接收就诊提醒和满意度回访。退订请回TD。"
    assert await opted_out() == []


async def test_a_survey_score_is_stored_against_the_booking(send, services, patient):
    assert await send("5") == Answer("目前没有需要评分的就诊。")
    booking_no = (await send("GHDH00868,07110830,张三")).booking_no
    survey = messages.OutgoingMessage(
        key="survey:1",
        gateway="twilio",
        phone=PHONE,
        body="请回复1-5",
        kind=messages.MessageKind.SURVEY,
        booking_no=booking_no,
    )
    await services.handle(messages.QueueMessages(consumer="test", event_ids=(), messages=(survey,)))
    answer = await send("4")
    assert answer == Answer("感谢您的评价（4分）！祝您早日康复。", booking_no)
    scores = await services.read(lambda tx: (yield rows("SELECT score FROM surveys")))
    assert [r["score"] for r in scores] == [4]
    assert (await send("9")).reply == "评分请回复1到5，收到9。格式：5"


# --- our own faults, and dates ----------------------------------------------------------------


async def test_our_own_faults_propagate(send, services, patient, monkeypatch):
    async def down(*args, **kwargs):
        raise StoreUnavailable(reason="test")

    monkeypatch.setattr(services, "read", down)
    with pytest.raises(StoreUnavailable):
        await send("CX")


@pytest.mark.parametrize(
    ("mmdd", "resolved"),
    [
        ((7, 10), date(2026, 7, 10)),  # today
        ((7, 11), date(2026, 7, 11)),
        ((7, 9), date(2027, 7, 9)),  # yesterday: next year's
        ((2, 29), date(2028, 2, 29)),  # the next leap day
    ],
)
def test_a_month_and_day_is_the_next_such_date_on_or_after_today(mmdd, resolved):
    assert resolve_day(MonthDayTime(*mmdd, 8, 30), date(2026, 7, 10)) == resolved


async def test_a_stopped_session_is_not_bookable(send, services, patient):
    session = (
        await services.read(lambda tx: (yield rows("SELECT id FROM sessions ORDER BY id LIMIT 1")))
    )[0]
    await services.handle(StopSession(session_id=session["id"], mode="cancel"))
    answer = await send("GHDH00868,07110830,张三")
    assert answer.reply.startswith("7月11日08:30没有00868医生的出诊。")


async def test_an_afternoon_session_is_found_by_its_clock_time(send, world, patient):
    await world.session(TOMORROW, "00869", Period.AFTERNOON, time(14, 0), time(16, 0))
    answer = await send("GHDH00869,07111430,张三")
    assert answer.reply.startswith("预约成功！张* 7月11日14:30 心内科 李娜")


# --- #9 item 7: the ZC example ---------------------------------------------------------------


async def test_the_register_hint_shows_an_example_that_is_nobodys_number(send, patient):
    answer = await send("CX", phone=OTHER_PHONE)
    assert "ZC 110000200001010000 张三" in answer.reply
    assert "*" not in answer.reply


async def test_texting_the_example_number_is_refused_as_the_example(send, services, hospital):
    answer = await send(FORMATS["ZC"], phone=OTHER_PHONE)
    assert answer.reply.startswith(FORMATS["ZC"] + "里的号码只是示例")
    assert len(answer.reply) <= SEGMENT_CHARS
    found = await services.read(
        patients.find_patients, SYSTEM, services.cipher, hospital_code="H001", phone=OTHER_PHONE
    )
    assert found == []


# --- #9 item 13: the whole list, families, the old time ---------------------------------------


async def test_a_long_list_says_how_to_see_the_rest_and_cx2_shows_it(send, patient, world):
    for day in (date(2026, 7, 12), date(2026, 7, 13)):
        await world.session(day, "00868")
        await world.session(day, "00901")
    booked = set()
    for text in (
        "GHDH00868,07110830,张三",
        "GHDH00901,07110900,张三",
        "GHDH00868,07120830,张三",
        "GHDH00901,07120900,张三",
        "GHDH00868,07130830,张三",
    ):
        booked.add((await send(text)).booking_no)
    assert None not in booked
    first = (await send("CX")).reply
    assert first.startswith("您有5个预约：")
    assert "；还有2个，回复CX2查看。取消发QX 预约号" in first
    second = (await send("CX 2")).reply
    assert second.startswith("您有5个预约（第2页）：")
    assert "还有" not in second
    for reply in (first, second):
        assert len(reply) <= TWO_SEGMENTS_CHARS
    shown = [[no for no in booked if no in reply] for reply in (first, second)]
    assert (len(shown[0]), len(shown[1])) == (3, 2)
    assert set(shown[0]) | set(shown[1]) == booked
    assert (await send("CX3")).reply == "您共有5个有效预约，没有第3页。发CX从头查看。"
    assert (await send("CX2", lang="en")).reply.startswith("Your 5 booking(s), page 2: ")


async def test_family_members_alike_when_masked_are_told_apart(send, services, hospital):
    await register(services, "冯建国", PHONE)
    await register(services, "冯小明", PHONE)
    await send("GHDH00868,07110830,冯建国")
    await send("GHDH00868,07110900,冯小明")
    reply = (await send("CX")).reply
    assert "冯*国 预约号" in reply
    assert "冯*明 预约号" in reply
    assert len(reply) <= TWO_SEGMENTS_CHARS


def test_family_labels_mask_unless_alike_then_add_what_tells_them_apart():
    def patient(id_: int, name: str, last4: str) -> Patient:
        return Patient(id_, 1, name, f"card{id_}", last4, "139****5678", 0)

    family = [
        patient(1, "冯建国", "0011"),
        patient(2, "冯小明", "0022"),
        patient(3, "冯明", "0033"),
        patient(4, "冯亮", "004X"),
        patient(5, "李娜", "0055"),
        patient(6, "冯大明", "0066"),
    ]
    assert family_labels(family) == {
        1: "冯*国",
        2: "冯**(0022)",  # 冯小明 and 冯大明 both end in 明
        3: "冯*(0033)",  # two-character names: the ID's last 4, never the whole name
        4: "冯*(004X)",
        5: "李*",
        6: "冯**(0066)",
    }
    assert family_labels(family[:1]) == {1: "冯**"}


# --- #10 item 11: ZC tells a stranger nothing, and cannot be tried at will ----------------

NEUTRAL = "无法用本机为这个身份证号注册。请就诊人本人带身份证到医院服务台办理。"


async def _patients_with(services, id_number: str) -> list[Patient]:
    return await services.read(
        patients.find_patients, SYSTEM, services.cipher, hospital_code="H001", id_number=id_number
    )


async def test_a_number_registered_elsewhere_or_under_another_name_gets_one_neutral_reply(
    send, services, hospital
):
    elsewhere, other_name = resident_id(), resident_id()
    await register(services, "赵六", OTHER_PHONE, elsewhere)
    await register(services, "李四", PHONE, other_name)  # this phone's, but not 张三
    replies = {
        (await send(f"ZC {elsewhere} 赵六")).reply,  # the right name, another phone
        (await send(f"ZC {elsewhere} 张三")).reply,  # a made-up name
        (await send(f"ZC {other_name} 张三", phone=OTHER_PHONE)).reply,
    }
    assert replies == {NEUTRAL}
    assert "已注册" not in NEUTRAL
    assert [p.name for p in await _patients_with(services, elsewhere)] == ["赵六"]
    assert [p.name for p in await _patients_with(services, other_name)] == ["李四"]


async def test_a_fourth_zc_from_one_phone_in_a_day_is_refused_whatever_the_number(
    send, services, hospital, clock
):
    taken = resident_id()
    await register(services, "赵六", OTHER_PHONE, taken)
    assert (await send(f"ZC {taken} 张三")).reply == NEUTRAL  # a refused try counts too
    assert (await send(f"ZC {resident_id()} 张三")).reply.startswith("注册成功")
    assert (await send(f"ZC {resident_id()} 张小明")).reply.startswith("注册成功")
    fourth = resident_id()
    answer = await send(f"ZC {fourth} 张小红")
    assert answer.reply == "本机今天已发过3次注册，请明天再发，或带身份证到医院服务台办理。"
    assert await _patients_with(services, fourth) == []
    other = await send(f"ZC {fourth} 张小红", phone=OTHER_PHONE)  # the limit is per phone
    assert other.reply.startswith("注册成功")
    clock.advance(hours=15)  # 00:00 the next day in Beijing
    assert (await send(f"ZC {resident_id()} 张小刚")).reply.startswith("注册成功")


async def test_the_registration_limit_is_a_rule_the_hospital_sets(send, services, hospital):
    await services.handle(
        rules.SetRule(rule=Rule(RuleKey.SMS_REGISTRATIONS_PER_DAY, 1, hospital_id=hospital.id))
    )
    assert (await send(f"ZC {resident_id()} 张三")).reply.startswith("注册成功")
    refused = await send(f"ZC {resident_id()} 李四", lang="en")
    assert refused.reply.startswith("This phone has sent 1 registrations today")
    await services.handle(
        rules.SetRule(
            rule=Rule(
                RuleKey.SMS_REGISTRATIONS_PER_DAY,
                1,
                enabled=False,
                priority=1,
                hospital_id=hospital.id,
            )
        )
    )
    assert (await send(f"ZC {resident_id()} 李四")).reply.startswith("注册成功")


async def test_free_times_offered_are_only_those_bookable_now(send, world, patient, clock):
    """A day not yet released (放号) offers no times a text could not book: the core's rule."""
    await world.session(date(2026, 7, 20), "00868")  # opens 7月13日07:30
    answer = await send("GHDH00868,07201430,张三")  # no session at that hour that day
    assert answer.reply == "7月20日14:30没有00868医生的出诊。发YS+姓名或KS+科室查其他医生。"
