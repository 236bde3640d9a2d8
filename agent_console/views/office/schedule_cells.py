"""How the schedule template's cells are read (排班导入): as a person types them in Excel.

Each reader takes a cell's value as openpyxl gives it (text, a number, a date, a time, or
None) and returns what the core's row wants, or raises :class:`Bad` with the reason a
person reads beside the row's number."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from booking_core.schedule import Period

MAX_FEN = 100_000_000  # a million yuan: above is a typing error
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)

PERIODS = {
    "上午": Period.MORNING, "下午": Period.AFTERNOON, "夜间": Period.EVENING,
    "晚上": Period.EVENING, "morning": Period.MORNING, "afternoon": Period.AFTERNOON,
    "evening": Period.EVENING,
}  # fmt: skip
YES = {"是", "y", "yes", "1", "true", "启用", "√"}
NO = {"否", "n", "no", "0", "false", "停用", "×"}


CELL_REASONS: dict[str, str] = {
    "too_long": "at most {most} characters",
    "nul": "must not contain the NUL character",
    "needed": "needed",
    "digits": "{width} digits, like {example}",
    "whole": "a whole number from {low} to {high}",
    "money": "an amount in yuan, like 25 or 25.50",
    "money_range": "an amount in yuan from 0 to {most}, at most 2 decimals",
    "yes_no": "是 or 否",
    "date": "a date like 2026-07-13",
    "date_range": "a date from {first} to {last}",
    "time": "a time like 08:00",
    "period": "上午, 下午 or 夜间",
}
"""Why a cell cannot be read, by code (the console words each code; this English is the
reason in the JSON twin)."""

EXAMPLES = {3: "101", 5: "00868"}


class Bad(ValueError):
    """A cell that cannot be read: ``code`` (of :data:`CELL_REASONS`) and its ``params``."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = {k: str(v) for k, v in params.items()}
        super().__init__(CELL_REASONS[code].format(**self.params))


def _text(value: Any, most: int = 100) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) > most:
        raise Bad("too_long", most=most)
    if "\x00" in text:
        raise Bad("nul")
    return text


def _needed(value: Any, most: int = 100) -> str:
    text = _text(value, most)
    if not text:
        raise Bad("needed")
    return text


def _digits(width: int) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not float(value).is_integer() or not 0 <= value < 10**width:
                raise Bad("digits", width=width, example=EXAMPLES.get(width, ""))
            return f"{int(value):0{width}d}"  # Excel dropped the leading zeros
        text = _needed(value)
        if len(text) != width or not text.isascii() or not text.isdigit():
            raise Bad("digits", width=width, example=EXAMPLES.get(width, ""))
        return text

    return read


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip()[:12])
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise Bad("whole", low=low, high=high)
        return value

    return read


def _fen(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        yuan = Decimal(str(value).strip()[:20])
    except InvalidOperation:
        raise Bad("money") from None
    fen = yuan * 100
    if not yuan.is_finite() or fen != fen.to_integral_value() or not 0 <= fen <= MAX_FEN:
        raise Bad("money_range", most=MAX_FEN // 100)
    return int(fen)


def _active(value: Any) -> bool:
    text = _text(value).lower()
    if not text or text in YES:
        return True
    if text in NO:
        return False
    raise Bad("yes_no")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _needed(value).replace("/", "-").replace(".", "-")
        try:
            y, m, d = (int(part) for part in text.split("-"))
            day = date(y, m, d)
        except (ValueError, TypeError):
            raise Bad("date") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Bad("date_range", first=FIRST_DAY, last=LAST_DAY)
    return day


def _time(value: Any) -> time:
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, float | int) and not isinstance(value, bool) and 0 <= value < 1:
        minutes = round(value * 24 * 60)  # Excel keeps a time as a fraction of a day
        return (datetime.min + timedelta(minutes=minutes)).time()
    text = _needed(value).replace("：", ":")
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        raise Bad("time") from None


def _period(value: Any) -> Period:
    found = PERIODS.get(_needed(value).lower())
    if found is None:
        raise Bad("period")
    return found


def _aliases(value: Any) -> tuple[str, ...]:
    text = _text(value, 400).replace("，", ",")
    return tuple(a.strip() for a in text.split(",") if a.strip())


READERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "departments": {"code": _digits(3), "name": _needed, "aliases": _aliases, "active": _active},
    "doctors": {
        "work_no": _digits(5), "name": _needed, "department": _digits(3), "title": _text,
        "specialty": lambda v: _text(v, 200), "fee": lambda v: _fen(v) or 0, "active": _active,
    },
    "sessions": {
        "doctor": _digits(5), "date": _day, "period": _period, "start": _time, "end": _time,
        "slot_minutes": _whole(5, 240), "places_per_slot": _whole(1, 500),
        "room": lambda v: _text(v, 50), "fee": _fen,
    },
}  # fmt: skip
