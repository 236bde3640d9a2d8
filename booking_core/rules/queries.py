"""Reads of rules: the rule set in force at a hospital, and its booking window now."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..catalogue.repo import hospital_for
from ..kernel.actor import Actor
from ..kernel.unit import Tx, Unit
from .checks import BookingWindow, booking_window
from .model import Rule, RuleSet
from .repo import stored_rules


def booking_window_of(tx: Tx, hospital_code: str, actor: Actor) -> Unit[BookingWindow]:
    """预约周期 and 放号 at a hospital now: the days open for booking and when the next
    opens (``rules.BookingWindow``), for a door to say how far ahead it lists."""
    hospital = yield from hospital_for(actor, hospital_code)
    ruleset = RuleSet((yield from stored_rules(hospital.id)), hospital.id)
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
