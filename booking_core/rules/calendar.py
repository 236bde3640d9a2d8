"""The booking calendar (节假日与调休): which clinic days are closed, and the hours of the
day closed to booking (停止预约时段). Pure: no store, no clock.

Two sources, the second overriding the first:

- the national calendar of the ``chinese-calendar`` package (法定节假日 and 调休 working
  days, as the State Council publishes them each November; a package release covers the
  years up to its own). A year it does not cover yet has no public holidays, and its
  weekends are the only days it closes (in ``holidays_and_weekends`` mode);
- the hospital's own entries (``calendar_days``: a day closed, or a day open whatever the
  package says), kept by its administrators on the console's calendar page.

What the national calendar closes follows the ``closed_days`` rule: ``none`` (nothing: only
the hospital's entries close days), ``holidays`` (public holidays, the days off around them
included), ``holidays_and_weekends`` (those and every Saturday and Sunday that is no 调休
working day)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum

import chinese_calendar

from ..kernel.errors import InvalidInput

HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
"""The package's holiday names in Chinese, as doors say them (春节, 国庆节 …)."""


class ClosedBecause(StrEnum):
    """Why a day is closed (the ``reason`` of :class:`~booking_core.kernel.errors.DayClosed`)."""

    HOLIDAY = "holiday"  # 法定节假日 (the package)
    WEEKEND = "weekend"  # a Saturday or Sunday, no 调休 working day
    HOSPITAL = "hospital"  # the hospital's own calendar entry


class DayKind(StrEnum):
    """What the national calendar says of a day (for the calendar page)."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    ADJUSTED_WORKDAY = "adjusted_workday"  # 调休: a weekend day worked
    UNKNOWN = "unknown"  # a year the installed package does not cover (its weekend or not)


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """A hospital's own calendar entry: ``day`` closed (``is_open`` False) or open."""

    day: date
    is_open: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Closure:
    """A closed day: why, and its name (the holiday's Chinese name, or the entry's note)."""

    reason: ClosedBecause
    name: str = ""


def national_day_kind(day: date) -> tuple[DayKind, str]:
    """The national calendar's word on ``day`` and the holiday's Chinese name ("" if none)."""
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:  # the package does not cover that year (yet)
        return DayKind.UNKNOWN, ""
    zh = HOLIDAY_NAMES_ZH.get(name or "", name or "")
    if off:
        return (DayKind.HOLIDAY, zh) if name else (DayKind.WEEKEND, "")
    if day.weekday() >= 5:
        return DayKind.ADJUSTED_WORKDAY, zh
    return DayKind.WORKDAY, ""


def national_years() -> tuple[int, int]:
    """The first and last year the installed ``chinese-calendar`` covers."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return years[0], years[-1]


class Calendar:
    """Which days are closed at one hospital (see the module's docstring)."""

    def __init__(self, mode: str, entries: Iterable[CalendarEntry] = ()) -> None:
        self.mode = mode
        self.entries = {e.day: e for e in entries}

    def closure(self, day: date) -> Closure | None:
        """Why ``day`` is closed, or None when it is open."""
        entry = self.entries.get(day)
        if entry is not None:
            return None if entry.is_open else Closure(ClosedBecause.HOSPITAL, entry.note)
        if self.mode == "none":
            return None
        kind, name = national_day_kind(day)
        if kind is DayKind.HOLIDAY:
            return Closure(ClosedBecause.HOLIDAY, name)
        weekends = self.mode == "holidays_and_weekends"
        if weekends and (
            kind is DayKind.WEEKEND or (kind is DayKind.UNKNOWN and day.weekday() >= 5)
        ):
            return Closure(ClosedBecause.WEEKEND)
        return None

    def is_open(self, day: date) -> bool:
        return self.closure(day) is None


@dataclass(frozen=True, slots=True)
class ClosedHours:
    """Hours of the day closed to booking, hospital-local: ``start`` up to (not including)
    ``end``; ``start`` after ``end`` spans midnight (23:00-06:30)."""

    start: time
    end: time

    def covers(self, clock: time) -> bool:
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


def parse_closed_hours(value: object) -> ClosedHours:
    """``"HH:MM-HH:MM"`` (a rule value) as :class:`ClosedHours`, or InvalidInput."""
    text = value if isinstance(value, str) else ""
    start, sep, end = text.partition("-")
    try:
        hours = ClosedHours(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
    except ValueError as err:
        raise InvalidInput("value", "closed_hours takes HH:MM-HH:MM") from err
    if not sep or hours.start == hours.end:
        raise InvalidInput("value", "closed_hours takes HH:MM-HH:MM (two different times)")
    return hours


@dataclass(frozen=True, slots=True)
class NationalDay:
    """A day the national calendar marks: a public holiday or a 调休 working day."""

    day: date
    kind: DayKind
    name: str  # Chinese: 国庆节


@dataclass(frozen=True, slots=True)
class CalendarYear:
    """One year of a hospital's calendar, for its page: what ``closed_days`` closes, the
    national calendar's marked days (none for a year the package does not cover:
    ``covered`` False), and the hospital's own entries."""

    year: int
    mode: str
    covered: bool
    national: tuple[NationalDay, ...]
    entries: tuple[CalendarEntry, ...]


def national_marked_days(year: int) -> tuple[NationalDay, ...]:
    """The public holidays and 调休 working days of ``year`` (empty when not covered)."""
    first, last = national_years()
    if not first <= year <= last:
        return ()
    out: list[NationalDay] = []
    day = date(year, 1, 1)
    while day.year == year:
        kind, name = national_day_kind(day)
        if kind in (DayKind.HOLIDAY, DayKind.ADJUSTED_WORKDAY):
            out.append(NationalDay(day, kind, name))
        day = date.fromordinal(day.toordinal() + 1)
    return tuple(out)
