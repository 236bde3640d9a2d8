"""Rule records in the store; the platform defaults live in code (``rules.PLATFORM_DEFAULTS``)."""

from __future__ import annotations

import json
import time

from ..kernel.unit import Row, Unit, rows
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


def rules_for(hospital_id: int) -> Unit[RuleSet]:
    records = yield from stored_rules(hospital_id)
    return RuleSet(records, hospital_id)


class RuleCache:
    """The rule set of each hospital, kept for ``ttl_seconds`` (rules change rarely and every
    booking reads them). A rule changed in this process clears it at once; one changed by
    another engine on a shared PostgreSQL is seen within ``ttl_seconds``."""

    def __init__(self, ttl_seconds: float = 5.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._sets: dict[int, tuple[RuleSet, float]] = {}

    def get(self, hospital_id: int) -> Unit[RuleSet]:
        hit = self._sets.get(hospital_id)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        rules = yield from rules_for(hospital_id)
        self._sets[hospital_id] = (rules, time.monotonic() + self.ttl_seconds)
        return rules

    def clear(self) -> None:
        self._sets.clear()
