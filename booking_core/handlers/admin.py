"""Blacklist (黑名单), rules (规则), API tokens and operators."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from ..commands import AddToBlacklist, CreateOperator, CreateToken, LiftBan, SetRule
from ..domain import Actor
from ..errors import Forbidden, InvalidInput, NotFound
from ..repo.patients import blacklist_from
from ..repo.schedule import hospital_by_code, hospital_by_id, zone
from ..rules import at_local, validate_rule
from ..store.base import Query, Tx, execute, one, val
from . import Deps

Gen = Generator[Query, Any, Any]

TOKEN_ROLES = ("his", "kiosk", "admin")


@dataclass(frozen=True)
class PlannedBan:
    """A ban checked and ready to insert (:func:`check_ban`, then :func:`insert_ban`)."""

    patient_id: int
    patient_hospital_id: int
    hospital_id: int | None  # None: platform-wide
    reason: str
    source: str
    ends_at: datetime


def check_ban(tx: Tx, cmd: AddToBlacklist) -> Gen:
    """Every check of :class:`AddToBlacklist`, writing nothing: a :class:`PlannedBan`."""
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
    return PlannedBan(
        patient_id=cmd.patient_id,
        patient_hospital_id=patient["hospital_id"],
        hospital_id=None if cmd.platform_wide else patient["hospital_id"],
        reason=reason,
        source=cmd.source,
        ends_at=ends_at,
    )


def same_ban_exists(tx: Tx, ban: PlannedBan) -> Gen:
    """Whether this very ban (patient, scope, last day) is on the list and not lifted."""
    found = yield val(
        "SELECT count(*) FROM blacklist WHERE patient_id = ? AND ends_at = ? "
        "AND lifted_at IS NULL AND " + ("hospital_id IS NULL" if ban.hospital_id is None
        else "hospital_id = ?"),
        ban.patient_id,
        int(ban.ends_at.timestamp()),
        *(() if ban.hospital_id is None else (ban.hospital_id,)),
    )  # fmt: skip
    return bool(found)


def insert_ban(tx: Tx, ban: PlannedBan, actor: Actor) -> Gen:
    """The checked ban on the list, with its event and audit row. Returns its id."""
    entry_id = yield val(
        "INSERT INTO blacklist (hospital_id, patient_id, reason, source, starts_at, ends_at, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        ban.hospital_id,
        ban.patient_id,
        ban.reason,
        ban.source,
        tx.epoch,
        int(ban.ends_at.timestamp()),
        actor.label,
    )
    payload = {
        "entry_id": entry_id,
        "patient_id": ban.patient_id,
        "until": ban.ends_at.isoformat(),
        "reason": ban.reason,
        "source": ban.source,
    }
    tx.emit(
        "patient.blacklisted",
        hospital_id=ban.patient_hospital_id,
        key=str(ban.patient_id),
        payload=payload,
    )
    tx.audit(
        actor,
        "blacklist.add",
        "patient",
        ban.patient_id,
        hospital_id=ban.patient_hospital_id,
        after=payload,
    )
    return entry_id


def add_to_blacklist(tx: Tx, cmd: AddToBlacklist, deps: Deps) -> Gen:
    ban = yield from check_ban(tx, cmd)
    entry_id = yield from insert_ban(tx, ban, cmd.actor)
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
