"""Numbers, dates, times and money as a person says them (the prompt templates' filters).

Mandarin: ``7月15日 星期三``, ``上午8点30分``, ``50元``; serial numbers digit by digit in
characters (一、二 …) so the voice never reads "123456789" as one big number.
English: ``Wednesday, July 15``, ``8:30 AM``, ``50 yuan``.

What the filters are given (ISO text or dates, fen) is read by :mod:`edge.wording`'s
helpers, shared with the SMS door's written forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.wording import EN_MONTHS, as_date, as_time, period_name, yuan_and_fen

from . import names

ZH_DIGITS = "零一二三四五六七八九"
ZH_WEEKDAYS = "一二三四五六日"
EN_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# --- Mandarin ------------------------------------------------------------------------------


def zh_date(value: Any) -> str:
    d = as_date(value)
    return f"{d.month}月{d.day}日 星期{ZH_WEEKDAYS[d.weekday()]}"


def zh_clock(value: Any) -> str:
    t = as_time(value)
    if t.hour < 12:
        part, hour = "上午", t.hour
    elif t.hour < 13:
        part, hour = "中午", t.hour
    elif t.hour < 18:
        part, hour = "下午", t.hour - 12
    else:
        part, hour = "晚上", t.hour - 12
    return f"{part}{hour}点" + (f"{t.minute}分" if t.minute else "")


def zh_money(fen: Any) -> str:
    yuan, rest = yuan_and_fen(fen)
    jiao, fen_left = divmod(rest, 10)
    spoken = f"{yuan}元"
    if jiao:
        spoken += f"{jiao}角"
    if fen_left:
        spoken += f"{fen_left}分"
    return spoken


def zh_digits(value: Any) -> str:
    """Digit by digit, with a pause (a comma) between: 一，二，三."""
    return "，".join(ZH_DIGITS[int(ch)] if ch.isdigit() else ch for ch in str(value))


def zh_period(value: Any) -> str:
    return period_name(value, "zh")


# --- English --------------------------------------------------------------------------------


def en_date(value: Any) -> str:
    d = as_date(value)
    return f"{EN_WEEKDAYS[d.weekday()]}, {EN_MONTHS[d.month - 1]} {d.day}"


def en_clock(value: Any) -> str:
    t = as_time(value)
    suffix = "AM" if t.hour < 12 else "PM"
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"


def en_money(fen: Any) -> str:
    yuan, rest = yuan_and_fen(fen)
    return f"{yuan} yuan" if not rest else f"{yuan}.{rest:02d} yuan"


def en_digits(value: Any) -> str:
    return ", ".join(str(value))


def en_period(value: Any) -> str:
    return period_name(value, "en")


def zh_address(value: Any) -> str:
    """(family name, sex) → 张先生 / 张女士, or "" (then the voice says no name)."""
    family, sex = value
    return names.zh_address(str(family), str(sex))


def en_address(value: Any) -> str:
    """(family name, sex) → Mr Zhang / Ms Ouyang (pinyin), or ""."""
    family, sex = value
    return names.en_address(str(family), str(sex))


FILTERS: dict[str, dict[str, Callable[[Any], str]]] = {
    "zh": {
        "date": zh_date,
        "clock": zh_clock,
        "money": zh_money,
        "digits": zh_digits,
        "period": zh_period,
        "address": zh_address,
    },
    "en": {
        "date": en_date,
        "clock": en_clock,
        "money": en_money,
        "digits": en_digits,
        "period": en_period,
        "address": en_address,
    },
}
