"""Blacklist (黑名单), rules (规则), API tokens and operators."""

from __future__ import annotations

from collections.abc import Generator
from datetime import time, timedelta
from typing import Any

from ..commands import AddToBlacklist, CreateOperator, CreateToken, LiftBan, SetRule
from ..errors import Forbidden, InvalidInput, NotFound
from ..repo.patients import blacklist_from
from ..repo.schedule import hospital_by_code, hospital_by_id, zone
from ..rules import at_local, validate_rule
from ..store.base import Query, Tx, execute, one, val
from . import Deps

Gen = Generator[Query, Any, Any]

TOKEN_ROLES = ("his", "kiosk", "admin")


def add_to_blacklist(tx: Tx, cmd: AddToBlacklist, deps: Deps) -> Gen:
    patient = yield one("SELECT id, hospital_id FROM patients WHERE id = ?", cmd.patient_id)
    if patient is None or not cmd.actor.may_access(patient["hospital_id"]):
        raise NotFound("patient", cmd.patient_id)
    if cmd.platform_wide and cmd.actor.hospital_id is not None:
        raise Forbidden(action="platform_wide_ban")
    if cmd.source not in ("admin", "his"):
        raise InvalidInput("source", "admin or his")
    reason = cmd.reason.strip()
    if not reason:
        raise InvalidInput("reason", "say why")
    hospital = yield from hospital_by_id(patient["hospital_id"])
    ends_at = at_local(cmd.until + timedelta(days=1), time(0, 0), zone(hospital))
    if ends_at <= tx.now:
        raise InvalidInput("until", "the ban would already be over")
    hospital_id = None if cmd.platform_wide else patient["hospital_id"]
    entry_id = yield val(
        "INSERT INTO blacklist (hospital_id, patient_id, reason, source, starts_at, ends_at, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        hospital_id,
        cmd.patient_id,
        reason,
        cmd.source,
        tx.epoch,
        int(ends_at.timestamp()),
        cmd.actor.label,
    )
    payload = {
        "entry_id": entry_id,
        "patient_id": cmd.patient_id,
        "until": ends_at.isoformat(),
        "reason": reason,
        "source": cmd.source,
    }
    tx.emit(
        "patient.blacklisted",
        hospital_id=patient["hospital_id"],
        key=str(cmd.patient_id),
        payload=payload,
    )
    tx.audit(
        cmd.actor,
        "blacklist.add",
        "patient",
        cmd.patient_id,
        hospital_id=patient["hospital_id"],
        after=payload,
    )
    row = yield one("SELECT * FROM blacklist WHERE id = ?", entry_id)
    return blacklist_from(row)


def lift_ban(tx: Tx, cmd: LiftBan, deps: Deps) -> Gen:
    row = yield one(
        "SELECT bl.*, p.hospital_id AS patient_hospital FROM blacklist bl "
        "JOIN patients p ON p.id = bl.patient_id WHERE bl.id = ?",
        cmd.entry_id,
    )
    if row is None or not cmd.actor.may_access(row["patient_hospital"]):
        raise NotFound("blacklist_entry", cmd.entry_id)
    if row["hospital_id"] is None and cmd.actor.hospital_id is not None:
        raise Forbidden(action="lift_platform_ban")
    if row["lifted_at"] is None:
        yield execute(
            "UPDATE blacklist SET lifted_at = ?, lifted_by = ? WHERE id = ?",
            tx.epoch,
            cmd.actor.label,
            cmd.entry_id,
        )
        payload = {"entry_id": cmd.entry_id, "patient_id": row["patient_id"]}
        tx.emit(
            "patient.ban_lifted",
            hospital_id=row["patient_hospital"],
            key=str(row["patient_id"]),
            payload=payload,
        )
        tx.audit(
            cmd.actor,
            "blacklist.lift",
            "patient",
            row["patient_id"],
            hospital_id=row["patient_hospital"],
            after=payload,
        )
    row = yield one("SELECT * FROM blacklist WHERE id = ?", cmd.entry_id)
    return blacklist_from(row)


def set_rule(tx: Tx, cmd: SetRule, deps: Deps) -> Gen:
    rule = validate_rule(cmd.rule)
    if cmd.actor.hospital_id is not None and rule.hospital_id != cmd.actor.hospital_id:
        raise Forbidden(action="set_rule")
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
    tx.emit("rule.changed", hospital_id=rule.hospital_id, key=str(rule.key), payload=after)
    tx.audit(
        cmd.actor,
        "rule.set",
        "rule",
        str(rule.key),
        hospital_id=rule.hospital_id,
        before=before,
        after=after,
    )
    deps.rules.clear()  # this process sees the new rule from the next unit on
    return rule


def create_token(tx: Tx, cmd: CreateToken, deps: Deps) -> Gen:
    if cmd.role not in TOKEN_ROLES:
        raise InvalidInput("role", " | ".join(TOKEN_ROLES))
    hospital_id = None
    if cmd.hospital_code:
        hospital = yield from hospital_by_code(cmd.hospital_code)
        hospital_id = hospital.id
    elif cmd.role != "admin":
        raise InvalidInput("hospital", f"a {cmd.role} token belongs to one hospital")
    token_id = yield val(
        "INSERT INTO api_tokens (name, role, hospital_id, token_hash, created_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        cmd.name,
        cmd.role,
        hospital_id,
        cmd.token_hash,
        tx.epoch,
    )
    tx.audit(
        cmd.actor,
        "token.create",
        "api_token",
        token_id,
        hospital_id=hospital_id,
        after={"name": cmd.name, "role": cmd.role},
    )
    return token_id


def create_operator(tx: Tx, cmd: CreateOperator, deps: Deps) -> Gen:
    hospital_id = None
    if cmd.hospital_code:
        hospital = yield from hospital_by_code(cmd.hospital_code)
        hospital_id = hospital.id
    taken = yield val("SELECT 1 FROM operators WHERE username = ?", cmd.username)
    if taken:
        raise InvalidInput("username", "taken")
    op_id = yield val(
        "INSERT INTO operators (username, display_name, password_hash, roles, hospital_id, "
        "must_change_password, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        cmd.username,
        cmd.display_name,
        cmd.password_hash,
        ",".join(cmd.roles),
        hospital_id,
        int(cmd.must_change_password),
        tx.epoch,
    )
    tx.audit(
        cmd.actor,
        "operator.create",
        "operator",
        cmd.username,
        hospital_id=hospital_id,
        after={"roles": list(cmd.roles)},
    )
    return op_id
