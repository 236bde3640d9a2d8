"""The SMS reply catalogues: complete in both languages, every template renders, notices
fit one segment, dates and money read as a Chinese texter expects."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from booking_core.bookings import Booking, BookingStatus, BookingView
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import ALL_ERRORS, Blacklisted, CancelDeadlinePassed, LimitReached
from booking_core.messages import MessageKind
from booking_core.schedule import Period
from sms.commands import ERROR_CODES, ParseError
from sms.grammar import parse
from sms.replies import LANGS, NOTICE_KINDS, SEGMENT_CHARS, Replies, load_sources

TZ = "Asia/Shanghai"
WHEN = datetime(2026, 7, 15, 0, 30, tzinfo=UTC)  # 08:30 in Beijing

SAMPLE = {
    "attempts": 2,
    "position": 2,
    "count": 2,
    "prepay": True,
    "this_year": 2026,
    "total": 2,
    "rest": 1,
    "page": 2,
    "next": 3,
    "from_start": time(8, 0),
    "booking_no": "123456786",
    "day": date(2026, 7, 15),
    "from_day": date(2026, 7, 14),
    "start": time(8, 30),
    "at": time(8, 30),
    "period": "morning",
    "dept": "心内科",
    "doctor": "张伟",
    "title": "主任医师",
    "room": "301",
    "patient": "张*",
    "several": True,
    "status": "confirmed",
    "status_name": "已预约",
    "fee": 5000,
    "paid": 0,
    "hold_until": None,
    "pay": "挂号费50元到院缴纳",
    "name": "张三",
    "card_no": "1234567890",
    "registered": "张*",
    "example": "GHDH00868,07150830,张三",
    "work_no": "00868",
    "minutes": 5,
    "free": [time(9, 0), time(9, 30)],
    "code": "101",
    "query": "心内",
    "score": 5,
    "hospital": "协和医院",
    "reason": None,
    "refusal": "slot_full",
    "command": "GHDH",
    "received": "x",
    "length": 7,
    "extra": "x",
    "tracking_no": "20260715001",
    "reply": "已与科室沟通，向您致歉。",
    "patients": "张*",
    "strike": 2,
    "kind": "no_show",
    "next_days": 30,
    "answer": "已核实",
    "until": datetime(2026, 8, 11, tzinfo=UTC),
}


def _error_params(cls) -> dict:
    params = {}
    for name in inspect.signature(cls.__init__).parameters:
        if name == "self":
            continue
        if name in ("until", "opens_at", "closed_at", "deadline", "filed_at", "draw_at"):
            params[name] = WHEN
        elif name in (
            "limit",
            "balance",
            "needed",
            "available",
            "slot_id",
            "session_id",
            "appeal_id",
        ):
            params[name] = 1
        elif name == "patient_id":
            params[name] = 7
        elif name == "rule":
            params[name] = "per_department_per_day"
        elif name == "day":  # a clinic day (DayClosed)
            params[name] = date(2026, 10, 1)
        else:
            params[name] = "x"
    return params


def view(**booking_fields) -> BookingView:
    booking = Booking(
        id=1,
        booking_no="123456786",
        hospital_id=1,
        department_id=1,
        doctor_id=1,
        session_id=1,
        slot_id=1,
        patient_id=1,
        place_no=1,
        channel=Channel.SMS,
        status=BookingStatus.CONFIRMED,
        fee=5000,
        paid=0,
        queue_no=None,
        day=date(2026, 7, 15),
        created_at=datetime(2026, 7, 10, 1, 0, tzinfo=UTC),
        hold_expires_at=None,
    )
    return BookingView(
        booking=replace(booking, **booking_fields),
        hospital_code="H001",
        department_code="101",
        department_name="心内科",
        doctor_work_no="00868",
        doctor_name="张伟",
        doctor_title="主任医师",
        room="301",
        period=Period.MORNING,
        start=time(8, 30),
        end=time(9, 0),
        starts_at=WHEN,
        patient_name="张三",
        patient_card_no="1234567890",
    )


@pytest.fixture(scope="module")
def replies() -> Replies:
    return Replies()


# --- completeness --------------------------------------------------------------------------


def test_both_languages_have_the_same_keys():
    assert set(load_sources("zh")) == set(load_sources("en"))


@pytest.mark.parametrize("lang", LANGS)
def test_every_core_error_parse_error_and_notice_has_wording(lang):
    keys = set(load_sources(lang))
    assert {f"error.{cls.code}" for cls in ALL_ERRORS} <= keys
    assert {f"parse.{code}" for code in ERROR_CODES} <= keys
    assert {f"notice.{kind}" for kind in NOTICE_KINDS} <= keys
    assert {f"status.{s}" for s in BookingStatus} <= keys


def test_the_notice_kinds_are_the_cores_outbound_kinds():
    kinds = {v for k, v in vars(MessageKind).items() if k.isupper()}
    # a complaint's outcome, a phone code and a call-back given up are worded from their
    # own events, not a booking
    assert set(NOTICE_KINDS) == kinds - {
        MessageKind.COMMAND,
        MessageKind.REPLY,
        MessageKind.COMPLAINT,
        MessageKind.CODE,
        MessageKind.CALLBACK,
        MessageKind.CREDIT,
        MessageKind.APPEAL,
        MessageKind.DRAW,  # a release draw's refusal: worded from its event (no booking)
        MessageKind.WAITLIST,  # 候补: notice.waitlist (an offer) and notice.waitlist_closed
    }


@pytest.mark.parametrize("lang", LANGS)
def test_every_template_renders_with_sample_params(replies, lang):
    for key in load_sources(lang):
        params = dict(SAMPLE)
        if key.startswith("error."):
            cls = next((c for c in ALL_ERRORS if f"error.{c.code}" == key), None)
            params |= _error_params(cls) if cls else {}
        text = replies.render(key, lang=lang, **params)
        assert text.strip(), key
        assert "{" not in text, key


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.code)
def test_every_core_error_is_worded_with_its_params(replies, lang, cls):
    text = replies.error(cls(**_error_params(cls)), lang=lang, timezone=TZ, this_year=2026)
    assert text.strip()
    assert text != replies.render("error.fallback", lang=lang)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_parse_error_is_worded_with_the_right_format(replies, lang, code):
    params = {"received": "0715", "reason": "format", "length": 7, "extra": "x"}
    text = replies.parse_error(ParseError(code, "GHDH", params), lang=lang)
    assert text.endswith("GHDH00868,07150830,张三")
    assert replies.parse_error(ParseError(code, None, params), lang=lang).strip()


# --- wording ---------------------------------------------------------------------------


def test_errors_carry_what_a_person_needs_in_hospital_time(replies):
    ban = Blacklisted(
        until=datetime(2026, 8, 1, 16, 0, tzinfo=UTC), reason="爽约", source="no_show"
    )
    assert "8月2日起可再预约" in replies.error(ban, timezone=TZ, this_year=2026)
    late = CancelDeadlinePassed(deadline=WHEN)
    assert "7月15日08:30前取消" in replies.error(late, timezone=TZ, this_year=2026)
    assert "Jul 15 08:30" in replies.error(late, lang="en", timezone=TZ, this_year=2026)
    limit = LimitReached(rule="patients_per_phone", limit=5)
    assert "最多为5人" in replies.error(limit)


@pytest.mark.parametrize(
    ("source", "zh", "en"),
    [
        ("no_show", "您因多次爽约暂停预约", "after repeated missed visits"),
        ("credit", "您因爽约或频繁退号暂停预约", "after missed visits or repeated cancellations"),
        ("admin", "医院已暂停您的预约", "by the hospital"),
        ("his", "医院已暂停您的预约", "by the hospital"),
    ],
)
def test_a_ban_is_explained_by_who_made_it(replies, source, zh, en):
    """Only a no-show ban says "missed visits": a ban for cancellations or one the hospital
    made says so (the text must be true)."""
    ban = Blacklisted(until=datetime(2026, 8, 1, 16, 0, tzinfo=UTC), reason="x", source=source)
    said = replies.error(ban, timezone=TZ, this_year=2026)
    assert said == f"{zh}，8月2日起可再预约。"
    assert len(said) <= 70
    assert en in replies.error(ban, lang="en", timezone=TZ, this_year=2026)
    if source != "no_show":
        assert "多次爽约" not in said


def test_a_date_of_another_year_shows_its_year(replies):
    late = CancelDeadlinePassed(deadline=datetime(2027, 7, 15, 0, 30, tzinfo=UTC))
    assert "2027年7月15日" in replies.error(late, timezone=TZ, this_year=2026)
    assert "Jul 15 2027" in replies.error(late, lang="en", timezone=TZ, this_year=2026)


def test_a_parse_error_says_what_was_wrong_then_the_format(replies):
    text = replies.parse_error(parse("GHDH00868,7150830,张三"))
    assert text == "时间7150830只有7位，请写满8位：月日时分各两位。格式：GHDH00868,07150830,张三"
    assert len(text) <= SEGMENT_CHARS


@pytest.mark.parametrize(
    ("fen", "zh", "en"),
    [(5000, "50元", "50 yuan"), (2550, "25.5元", "25.5 yuan"), (1, "0.01元", "0.01 yuan")],
)
def test_money_in_yuan_from_fen(replies, fen, zh, en):
    assert replies.render("reply.doctor_item", **SAMPLE | {"fee": fen}).endswith(zh)
    assert replies.render("reply.doctor_item", lang="en", **SAMPLE | {"fee": fen}).endswith(en)


def test_an_unknown_language_falls_back_to_mandarin(replies):
    assert replies.render("reply.help", lang="fr") == replies.render("reply.help")


def test_a_long_list_stops_within_two_segments_and_says_how_many_more(replies):
    entries = [{"code": f"{n:03d}", "name": f"第{n}科室"} for n in range(100, 140)]
    text = replies.listing(
        "reply.departments_head",
        "reply.department_item",
        entries,
        tail="reply.departments_tail",
    )
    assert len(text) <= 134
    assert text.startswith("科室（代码 名称）：100 第100科室；101 第101科室")
    assert "等共" in text
    assert text.endswith("查医生发KS+科室名")


# --- notices -------------------------------------------------------------------------------

NOTICES = [
    ("confirmation", None, {}),
    ("confirmation", "paid", {"paid": 5000}),
    ("confirmation", None, {"status": BookingStatus.HELD}),
    ("change", None, {}),
    ("cancellation", "patient", {"status": BookingStatus.CANCELLED, "paid": 5000}),
    ("cancellation", "hold_expired", {"status": BookingStatus.CANCELLED}),
    ("cancellation", "hospital", {"status": BookingStatus.CANCELLED, "paid": 5000}),
    ("stop", "moved", {}),
    ("stop", "cancelled", {"status": BookingStatus.CANCELLED, "paid": 5000}),
    ("reminder", None, {}),
    ("survey", None, {"status": BookingStatus.COMPLETED}),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("kind", "reason", "fields"), NOTICES)
def test_every_notice_renders_and_a_mandarin_one_fits_one_segment(
    replies, lang, kind, reason, fields
):
    text = replies.notice(
        kind,
        view(**fields),
        lang=lang,
        reason=reason,
        from_day=date(2026, 7, 14),
        hospital="协和医院",
    )
    assert "123456786" in text or kind == "survey"
    if lang == "zh":
        assert text.startswith("【协和医院】")
        assert len(text) <= SEGMENT_CHARS, (len(text), text)


def test_notices_say_what_happens_next(replies):
    held = view(status=BookingStatus.HELD, hold_expires_at=datetime(2026, 7, 10, 1, 15, tzinfo=UTC))
    assert "请于09:15前支付50元" in replies.notice("confirmation", held, timezone=TZ)
    assert "请尽快支付50元" in replies.notice("confirmation", held)
    assert "到院缴纳" in replies.notice("confirmation", view())
    assert "由7月14日改为7月15日08:30" in replies.notice(
        "change", view(), from_day=date(2026, 7, 14)
    )
    moved = replies.notice("stop", view(), reason="moved", from_day=date(2026, 7, 14))
    assert "7月14日原医生停诊" in moved
    assert "7月15日08:30 心内科 张伟" in moved
    stopped = replies.notice("stop", view(paid=5000), reason="cancelled")
    assert "50元原路退回" in stopped
    assert "KS" in stopped
    assert "未按时支付" in replies.notice("cancellation", view(), reason="hold_expired")
    reminder = replies.notice("reminder", view())
    assert reminder.startswith("明天7月15日08:30")
    assert all(part in reminder for part in ("心内科", "张伟", "301诊室", "身份证"))
    assert "回复1-5分" in replies.notice("survey", view())
    assert not replies.notice("survey", view()).startswith("【")  # no name: no signature
