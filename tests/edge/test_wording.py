"""The wording catalogues' shared mechanics and value helpers, on a door-less catalogue
(``tests/edge/wording_sample``): each door's own wording is tested in tests/ivr and
tests/sms."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import jinja2
import pytest

from booking_core.schedule import Period
from edge import wording

SAMPLE = "tests.edge.wording_sample"
FILTERS = {
    "zh": {"money": lambda fen: f"{wording.yuan(fen)}元", "day": lambda d: f"{d.day}日"},
    "en": {"money": lambda fen: f"{wording.yuan(fen)} yuan", "day": lambda d: f"day {d.day}"},
}


def test_toml_tables_become_dotted_keys():
    data = {"a": "1", "error": {"slot_full": "x", "deep": {"er": 2}}}
    assert wording.flatten(data) == {"a": "1", "error.slot_full": "x", "error.deep.er": "2"}


def test_a_packages_language_file_is_loaded_once():
    zh = wording.load_sources(SAMPLE, "zh")
    assert set(zh) == {"greeting", "fee", "error.slot_full"}
    assert zh["greeting"] == "{{ hospital }}欢迎您"
    assert wording.load_sources(SAMPLE, "zh") is zh


def test_each_language_renders_with_its_own_filters_and_the_globals():
    catalogue = wording.Catalogue(SAMPLE, FILTERS, {"hospital": "协和医院"})
    assert catalogue.keys("zh") == catalogue.keys("en") == {"greeting", "fee", "error.slot_full"}
    assert catalogue.template("zh", "greeting").render() == "协和医院欢迎您"
    assert catalogue.template("zh", "fee").render(fee=2550) == "挂号费25.5元"
    assert catalogue.template("en", "fee").render(fee=5000) == "The fee is 50 yuan"
    day = date(2026, 7, 15)
    assert catalogue.template("en", "error.slot_full").render(day=day) == "day 15 is fully booked"
    assert catalogue.has("error.slot_full", "zh")
    assert not catalogue.has("error.nope", "zh")


def test_a_global_set_later_is_seen_by_every_language():
    catalogue = wording.Catalogue(SAMPLE, FILTERS, {"hospital": ""})
    catalogue.set_global("hospital", "协和医院")
    assert catalogue.template("zh", "greeting").render() == "协和医院欢迎您"
    assert catalogue.template("en", "greeting").render() == "Welcome to 协和医院"


def test_a_missing_parameter_fails_loudly():
    catalogue = wording.Catalogue(SAMPLE, FILTERS)
    with pytest.raises(jinja2.UndefinedError):
        catalogue.template("zh", "greeting").render()
    with pytest.raises(jinja2.UndefinedError):
        catalogue.template("en", "fee").render()


@pytest.mark.parametrize(
    "value",
    ["2026-07-15", "2026-07-15T07:30:00+08:00", date(2026, 7, 15), datetime(2026, 7, 15, 23)],
)
def test_as_date(value):
    assert wording.as_date(value) == date(2026, 7, 15)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("08:30", time(8, 30)),
        ("08:30:15", time(8, 30, 15)),
        ("2026-07-15T07:30:00+08:00", time(7, 30)),  # an instant kept as ISO text
        (time(14, 0), time(14, 0)),
        (datetime(2026, 7, 15, 0, 30, tzinfo=UTC), time(0, 30)),
    ],
)
def test_as_time(value, expected):
    assert wording.as_time(value) == expected


@pytest.mark.parametrize(
    ("fen", "parts", "written"),
    [
        (5000, (50, 0), "50"),
        (2550, (25, 50), "25.5"),
        (1250, (12, 50), "12.5"),
        (1, (0, 1), "0.01"),
    ],
)
def test_fen_as_yuan(fen, parts, written):
    assert wording.yuan_and_fen(fen) == parts
    assert wording.yuan_and_fen(str(fen)) == parts
    assert wording.yuan(fen) == written


def test_periods_in_mandarin_and_english():
    assert [wording.period_name(p, "zh") for p in Period] == ["上午", "下午", "晚上"]
    assert [wording.period_name(p, "en") for p in Period] == [str(p) for p in Period]
    assert wording.period_name("night", "zh") == "night"
