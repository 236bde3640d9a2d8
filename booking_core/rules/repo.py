"""Rule records in the store; the platform defaults live in code (``rules.PLATFORM_DEFAULTS``)."""

from __future__ import annotations

import json
from datetime import date

from ..kernel.cache import Cache
from ..kernel.unit import Row, Unit, rows
from .calendar import CalendarEntry
from .model import PeriodType, Rule, RuleKey, RuleSet


def rule_from(row: Row) -> Rule:
    return Rule(
        key=RuleKey(row["key"]),
        value=json.loads(row["value"]),
        enabled=bool(row["enabled"]),
        priority=row["priority"],
        hospital_id=row["hospital_id"],
        period_type=PeriodType(row["period_type"]) if row["period_type"] else None,
        period_value=row["period_value"],
    )


def stored_rules(hospital_id: int | None) -> Unit[list[Rule]]:
    if hospital_id is None:
        found = yield rows("SELECT * FROM rules WHERE hospital_id IS NULL ORDER BY id")
    else:
        found = yield rows(
            "SELECT * FROM rules WHERE hospital_id IS NULL OR hospital_id = ? ORDER BY id",
            hospital_id,
        )
    return [rule_from(r) for r in found if r["key"] in RuleKey._value2member_map_]


def entry_from(row: Row) -> CalendarEntry:
    return CalendarEntry(date.fromisoformat(row["day"]), bool(row["is_open"]), row["note"])


def calendar_entries(hospital_id: int) -> Unit[list[CalendarEntry]]:
    """The hospital's own calendar (节假日表): every day it closed or opened."""
    found = yield rows(
        "SELECT day, is_open, note FROM calendar_days WHERE hospital_id = ? ORDER BY day",
        hospital_id,
    )
    return [entry_from(r) for r in found]


def rules_for(hospital_id: int) -> Unit[RuleSet]:
    """A hospital's rule set, its calendar entries with it (the release time and every
    booking's day are checked against them)."""
    records = yield from stored_rules(hospital_id)
    entries = yield from calendar_entries(hospital_id)
    return RuleSet(records, hospital_id, entries)


def cached_rules(cache: Cache, hospital_id: int) -> Unit[RuleSet]:
    """A hospital's rule set (every booking reads it) through the bus's one cache: a rule
    set here is seen at once, one set by another engine within the cache's TTL."""
    return (yield from cache.through(("rules", hospital_id), lambda: rules_for(hospital_id)))
