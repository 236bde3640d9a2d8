"""Rule records (规则) set by admins, validated and audited."""

from __future__ import annotations

from ..catalogue.repo import hospital_by_id
from ..events.audit import AuditAction
from ..events.model import RuleChanged
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, execute, one
from .commands import SetRule
from .model import Rule, validate_rule


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


HANDLERS = handler_table(
    on(SetRule, set_rule),
)
