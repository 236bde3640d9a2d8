"""The prompt catalogues: complete in both languages, and numbers said naturally."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime

import pytest

from booking_core.complaints import ComplaintStatus
from booking_core.kernel.errors import ALL_ERRORS
from ivr import speech
from ivr.prompts import Catalogue, load_sources
from ivr.state import LANGS, NODES

SAMPLE = {
    "hospital": "协和医院",
    "name": "张*",
    "banned_until": "2026-10-01",
    "banned_by": "credit",
    "code": "101",
    "work_no": "00868",
    "mmdd": "0715",
    "hhmm": "0830",
    "day": "2026-07-15",
    "start": "08:30",
    "end": "09:00",
    "periods": ["morning", "afternoon"],
    "free": 3,
    "fee": 5000,
    "title": "主任医师",
    "dept": "心内科",
    "doctor": "王医生",
    "patient": "张*",
    "booking_no": "123456789",
    "tracking_no": "1234567",
    "n": 1,
    "total": 2,
    "days": 7,
    "opens_at": "2026-07-15T07:30:00+08:00",
    "last4": "5678",
    "position": 3,
    "minutes": 2,
}
WHEN = datetime(2026, 7, 15, 0, 30, tzinfo=UTC)


def _error_sample(cls) -> dict:
    params = {}
    for name in inspect.signature(cls.__init__).parameters:
        if name == "self":
            continue
        if name in ("until", "opens_at", "closed_at", "deadline", "draw_at"):
            params[name] = WHEN
        elif name in ("limit", "balance", "needed", "available", "slot_id", "session_id"):
            params[name] = 1
        elif name == "rule":
            params[name] = "per_department_per_day"
        elif name == "day":  # a clinic day (DayClosed)
            params[name] = date(2026, 10, 1)
        else:
            params[name] = "x"
    return params


def test_both_languages_have_the_same_keys():
    assert set(load_sources("zh")) == set(load_sources("en"))


@pytest.mark.parametrize("lang", LANGS)
def test_every_state_and_every_error_has_wording(lang):
    keys = set(load_sources(lang))
    assert set(NODES) <= keys
    assert {f"error.{cls.code}" for cls in ALL_ERRORS} <= keys


@pytest.mark.parametrize("lang", LANGS)
def test_every_complaint_status_is_said(lang):
    """A caller asking where a complaint is hears its status: one prompt per status."""
    keys = set(load_sources(lang))
    assert {f"complaint_status.{s}" for s in ComplaintStatus} <= keys


@pytest.mark.parametrize("lang", LANGS)
def test_every_prompt_renders(lang):
    catalogue = Catalogue({"hospital": "协和医院"})
    for key in load_sources(lang):
        params = dict(SAMPLE)
        if key.startswith("error."):
            cls = next(c for c in ALL_ERRORS if f"error.{c.code}" == key)
            params |= _error_sample(cls)
        assert catalogue.say(lang, key, params).strip(), key


def test_mandarin_numbers_and_dates_are_said_naturally():
    assert speech.zh_date("2026-07-15") == "7月15日 星期三"
    assert speech.zh_clock("08:30") == "上午8点30分"
    assert speech.zh_clock("14:00") == "下午2点"
    assert speech.zh_clock("12:15") == "中午12点15分"
    assert speech.zh_money(5000) == "50元"
    assert speech.zh_money(1250) == "12元5角"
    assert speech.zh_digits("1207") == "一，二，零，七"


def test_english_numbers_and_dates():
    assert speech.en_date("2026-07-15") == "Wednesday, July 15"
    assert speech.en_clock("08:30") == "8:30 AM"
    assert speech.en_clock("14:00") == "2 PM"
    assert speech.en_money(1250) == "12.50 yuan"
    assert speech.en_digits("120") == "1, 2, 0"


def test_the_read_back_in_both_languages():
    catalogue = Catalogue({"hospital": "协和医院"})
    zh = catalogue.say("zh", "book_confirm", SAMPLE)
    assert "7月15日 星期三，上午8点30分，心内科，王医生主任医师，挂号费50元" in zh
    en = catalogue.say("en", "book_confirm", SAMPLE)
    assert "Wednesday, July 15 at 8:30 AM" in en
