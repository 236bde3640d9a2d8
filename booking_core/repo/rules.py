"""Rule records in the store; the platform defaults live in code (``rules.PLATFORM_DEFAULTS``)."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from ..rules import PeriodType, Rule, RuleKey, RuleSet
from ..store.base import Query, rows


def rule_from(row) -> Rule:
    return Rule(
        key=RuleKey(row["key"]),
        value=json.loads(row["value"]),
        enabled=bool(row["enabled"]),
        priority=row["priority"],
        hospital_id=row["hospital_id"],
        period_type=PeriodType(row["period_type"]) if row["period_type"] else None,
        period_value=row["period_value"],
    )


def stored_rules(hospital_id: int | None) -> Generator[Query, Any, list[Rule]]:
    if hospital_id is None:
        found = yield rows("SELECT * FROM rules WHERE hospital_id IS NULL ORDER BY id")
    else:
        found = yield rows(
            "SELECT * FROM rules WHERE hospital_id IS NULL OR hospital_id = ? ORDER BY id",
            hospital_id,
        )
    return [rule_from(r) for r in found if r["key"] in RuleKey._value2member_map_]


def rules_for(hospital_id: int) -> Generator[Query, Any, RuleSet]:
    records = yield from stored_rules(hospital_id)
    return RuleSet(records, hospital_id)
