"""Reads of rules: the rule set in force at a hospital, and its booking window now."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..catalogue.repo import hospital_for
from ..kernel.actor import Actor
from ..kernel.errors import InvalidInput
from ..kernel.unit import Tx, Unit
from .calendar import CalendarYear, national_marked_days, national_years
from .checks import BookingWindow, booking_window
from .model import Rule, RuleSet
from .repo import rules_for, stored_rules

MIN_YEAR, MAX_YEAR = 2000, 2100  # a calendar page's years


def booking_window_of(tx: Tx, hospital_code: str, actor: Actor) -> Unit[BookingWindow]:
    """预约周期 and 放号 at a hospital now: the days open for booking and when the next
    opens (``rules.BookingWindow``), for a door to say how far ahead it lists."""
    hospital = yield from hospital_for(actor, hospital_code)
    ruleset = yield from rules_for(hospital.id)
    return booking_window(tx.now, ruleset, ZoneInfo(hospital.timezone))


def effective_rules(
    tx: Tx, hospital_code: str | None, actor: Actor
) -> Unit[tuple[RuleSet, list[Rule]]]:
    """(the winning record per key, the stored records) for a hospital or the platform."""
    hospital_id = None
    if hospital_code:
        hospital = yield from hospital_for(actor, hospital_code)
        hospital_id = hospital.id
    records: list[Rule] = yield from stored_rules(hospital_id)
    return RuleSet(records, hospital_id), records


def calendar_of(tx: Tx, hospital_code: str, year: int, actor: Actor) -> Unit[CalendarYear]:
    """A year of a hospital's calendar (节假日表) as its page shows it."""
    hospital = yield from hospital_for(actor, hospital_code)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput("year", f"{MIN_YEAR} to {MAX_YEAR}")
    ruleset = yield from rules_for(hospital.id)
    first, last = national_years()
    mine = tuple(e for e in ruleset.calendar.entries.values() if e.day.year == year)
    return CalendarYear(
        year=year,
        mode=ruleset.calendar.mode,
        covered=first <= year <= last,
        national=national_marked_days(year),
        entries=tuple(sorted(mine, key=lambda e: e.day)),
    )
