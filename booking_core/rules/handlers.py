"""Rule records (规则) set by admins, validated and audited."""

from __future__ import annotations

from ..catalogue.repo import hospital_by_id, hospital_for
from ..events.audit import AuditAction
from ..events.model import RuleChanged
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput
from ..kernel.registry import handler_table, on
from ..kernel.unit import Row, Tx, Unit, execute, one
from .calendar import CalendarEntry
from .commands import RemoveCalendarDay, SetCalendarDay, SetRule
from .model import Rule, validate_rule
from .repo import entry_from

MAX_CALENDAR_NOTE = 40  # a holiday's or a closure's name, shown on the page and in refusals


def set_rule(tx: Tx, cmd: SetRule, deps: Deps) -> Unit[Rule]:
    rule = validate_rule(cmd.rule)
    tenancy.check(cmd.actor, rule.hospital_id, "rule", str(rule.key), forbidden="set_rule")
    if rule.hospital_id is not None:
        yield from hospital_by_id(rule.hospital_id)
    if rule.hospital_id is None:
        existing = yield one(
            "SELECT * FROM rules WHERE key = ? AND hospital_id IS NULL", str(rule.key)
        )
    else:
        existing = yield one(
            "SELECT * FROM rules WHERE key = ? AND hospital_id = ?", str(rule.key), rule.hospital_id
        )
    values = (
        rule.value_json(),
        int(rule.enabled),
        rule.priority,
        str(rule.period_type) if rule.period_type else None,
        rule.period_value,
        tx.epoch,
    )
    if existing is None:
        yield execute(
            "INSERT INTO rules (value, enabled, priority, period_type, period_value, updated_at, "
            "key, "
            "hospital_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            *values,
            str(rule.key),
            rule.hospital_id,
        )
    else:
        yield execute(
            "UPDATE rules SET value = ?, enabled = ?, priority = ?, period_type = ?, "
            "period_value = ?, updated_at = ? WHERE id = ?",
            *values,
            existing["id"],
        )
    after = {
        "key": str(rule.key),
        "value": rule.value,
        "enabled": rule.enabled,
        "priority": rule.priority,
    }
    before = (
        None
        if existing is None
        else {"value": existing["value"], "enabled": bool(existing["enabled"])}
    )
    tx.emit(RuleChanged(hospital_id=rule.hospital_id, **after))
    tx.audit(
        cmd.actor,
        AuditAction.RULE_CHANGED,
        "rule",
        str(rule.key),
        hospital_id=rule.hospital_id,
        before=before,
        after=after,
    )
    deps.cache.clear()  # the units after this one in the same commit see it too
    return rule


def _calendar_day(hospital_id: int, day: str) -> Unit[Row | None]:
    """The hospital's own entry for ``day`` (ISO), or None."""
    return (
        yield one(
            "SELECT day, is_open, note FROM calendar_days WHERE hospital_id = ? AND day = ?",
            hospital_id,
            day,
        )
    )


def set_calendar_day(tx: Tx, cmd: SetCalendarDay, deps: Deps) -> Unit[CalendarEntry]:
    """Close or open a day in the hospital's own calendar (it overrides the national one)."""
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    note = " ".join(cmd.note.split())
    if len(note) > MAX_CALENDAR_NOTE:
        raise InvalidInput("note", f"at most {MAX_CALENDAR_NOTE} characters")
    day = cmd.day.isoformat()
    before = yield from _calendar_day(hospital.id, day)
    yield execute(
        "INSERT INTO calendar_days (hospital_id, day, is_open, note, updated_at, updated_by) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hospital_id, day) DO UPDATE SET "
        "is_open = excluded.is_open, note = excluded.note, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        hospital.id,
        day,
        int(cmd.is_open),
        note,
        tx.epoch,
        cmd.actor.label,
    )
    entry = CalendarEntry(cmd.day, cmd.is_open, note)
    tx.audit(
        cmd.actor,
        AuditAction.CALENDAR_DAY_SET,
        "calendar_day",
        day,
        hospital_id=hospital.id,
        before=None if before is None else _entry_state(entry_from(before)),
        after=_entry_state(entry),
    )
    deps.cache.clear()  # the hospital's rule set carries its calendar
    return entry


def remove_calendar_day(tx: Tx, cmd: RemoveCalendarDay, deps: Deps) -> Unit[bool]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    day = cmd.day.isoformat()
    before = yield from _calendar_day(hospital.id, day)
    if before is None:
        return False
    yield execute("DELETE FROM calendar_days WHERE hospital_id = ? AND day = ?", hospital.id, day)
    tx.audit(
        cmd.actor,
        AuditAction.CALENDAR_DAY_REMOVE,
        "calendar_day",
        day,
        hospital_id=hospital.id,
        before=_entry_state(entry_from(before)),
    )
    deps.cache.clear()
    return True


def _entry_state(entry: CalendarEntry) -> dict[str, object]:
    return {"day": entry.day.isoformat(), "open": entry.is_open, "note": entry.note}


HANDLERS = handler_table(
    on(SetRule, set_rule),
    on(SetCalendarDay, set_calendar_day),
    on(RemoveCalendarDay, remove_calendar_day),
)
