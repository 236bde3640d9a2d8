"""docs/sms.md's command table stays true: every example a patient may copy parses
(#9 item 7: the documented ``ZC`` example once failed its own checksum)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from booking_core.kernel.identity import is_booking_no
from sms.commands import EXAMPLE_ID_NUMBER, FORMATS, ParseError, Register
from sms.grammar import parse

DOC = Path(__file__).parents[2] / "docs" / "sms.md"
PLACEHOLDERS = (
    "身份证号",
    "姓名",
    "预约号",
    "月日时分",
    "医生工号",
    "科室名或代码",
    "关键词",
    "页码",
    "月日",
)


def _table_rows() -> list[list[str]]:
    part1 = DOC.read_text("utf-8").split("## Part 2")[0]
    rows = [line.split("|")[1:-1] for line in part1.splitlines() if line.startswith("| ")]
    return [r for r in rows[1:] if not set(r[0].strip()) <= {"-"}]  # no header, no rule


def _examples() -> list[str]:
    found = []
    for _what, send, example in _table_rows():
        found += re.findall(r"`([^`]+)`", example)
        found += [
            text
            for text in re.findall(r"`([^`]+)`", send)
            if not any(word in text for word in PLACEHOLDERS)
        ]
    return found


def test_the_table_has_its_examples():
    examples = _examples()
    assert len(examples) >= 20
    assert f"ZC {EXAMPLE_ID_NUMBER} 张三" in examples


@pytest.mark.parametrize("text", _examples())
def test_every_documented_example_parses(text):
    assert not isinstance(parse(text), ParseError), text


def test_the_documented_booking_numbers_are_well_formed():
    for number in re.findall(r"\b\d{9}\b", " ".join(_examples())):
        assert is_booking_no(number), number


def test_every_format_the_replies_quote_parses():
    for keyword, example in FORMATS.items():
        assert not isinstance(parse(example), ParseError), keyword
    assert parse(FORMATS["ZC"]) == Register(EXAMPLE_ID_NUMBER, "张三")
