"""Operators (坐席/管理员), their log-in attempts and console sessions."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import Any

from .. import operator_commands as oc
from ..errors import Forbidden, InvalidInput, NotFound
from ..login_lockout import Verdict, judge
from ..operator_queries import login_history
from ..repo.schedule import hospital_by_code
from ..store.base import Query, Tx, execute, one, val
from . import Deps

Gen = Generator[Query, Any, Any]

USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")
DISPLAY_NAME_MAX = 40
STAGES = ("totp", "totp_enrol", "change_password", "ready")
ADMIN_ROLES = (oc.PLATFORM_ADMIN, oc.HOSPITAL_ADMIN)


def valid_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(r.strip() for r in roles if r.strip()))
    if not chosen:
        raise InvalidInput("roles", "at least one role")
    unknown = [r for r in chosen if r not in oc.OPERATOR_ROLES]
    if unknown:
        raise InvalidInput("roles", " | ".join(oc.OPERATOR_ROLES))
    return chosen


def _display_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput("display_name", f"1 to {DISPLAY_NAME_MAX} characters")
    return name


def _check_roles_fit(actor_hospital: int | None, hospital_id: int | None, roles) -> None:
    """Platform admins belong to no hospital; everyone else to exactly one. Only a
    platform-wide actor grants the platform-admin role."""
    if oc.PLATFORM_ADMIN in roles:
        if actor_hospital is not None:
            raise Forbidden(action="grant_platform_admin")
        if hospital_id is not None:
            raise InvalidInput("roles", "a platform admin belongs to no hospital")
    elif hospital_id is None:
        raise InvalidInput("hospital", "an operator other than a platform admin needs a hospital")


def _target(cmd: Any) -> Gen:
    row = yield one("SELECT * FROM operators WHERE id = ?", cmd.operator_id, lock=True)
    if row is None or not cmd.actor.may_access(row["hospital_id"]):
        raise NotFound("operator", cmd.operator_id)
    return row


def _close_sessions(operator_id: int, keep: str | None = None) -> Query:
    if keep is None:
        return execute("DELETE FROM console_sessions WHERE operator_id = ?", operator_id)
    return execute(
        "DELETE FROM console_sessions WHERE operator_id = ? AND token_hash <> ?", operator_id, keep
    )


def add_operator(tx: Tx, cmd: oc.AddOperator, deps: Deps) -> Gen:
    username = cmd.username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidInput("username", "3 to 32 of a-z 0-9 _ . -, starting with a letter or digit")
    roles = valid_roles(cmd.roles)
    hospital_id = None
    if cmd.hospital_code:
        hospital = yield from hospital_by_code(cmd.hospital_code)
        if not cmd.actor.may_access(hospital.id):
            raise NotFound("hospital", cmd.hospital_code)
        hospital_id = hospital.id
    elif cmd.actor.hospital_id is not None:
        raise Forbidden(action="add_platform_operator")
    _check_roles_fit(cmd.actor.hospital_id, hospital_id, roles)
    taken = yield val("SELECT 1 FROM operators WHERE username = ?", username)
    if taken:
        raise InvalidInput("username", "taken")
    op_id = yield val(
        "INSERT INTO operators (username, display_name, password_hash, roles, hospital_id, "
        "must_change_password, created_at, updated_at, password_changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        username,
        _display_name(cmd.display_name),
        cmd.password_hash,
        ",".join(roles),
        hospital_id,
        int(cmd.must_change_password),
        tx.epoch,
        tx.epoch,
        tx.epoch,
    )
    tx.audit(
        cmd.actor,
        "operator.add",
        "operator",
        op_id,
        hospital_id=hospital_id,
        after={"username": username, "roles": list(roles)},
    )
    return op_id


def edit_operator(tx: Tx, cmd: oc.EditOperator, deps: Deps) -> Gen:
    row = yield from _target(cmd)
    name = _display_name(cmd.display_name)
    yield execute(
        "UPDATE operators SET display_name = ?, updated_at = ? WHERE id = ?",
        name,
        tx.epoch,
        row["id"],
    )
    tx.audit(
        cmd.actor,
        "operator.edit",
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
        before={"display_name": row["display_name"]},
        after={"display_name": name},
    )
    return row["id"]


def assign_roles(tx: Tx, cmd: oc.AssignRoles, deps: Deps) -> Gen:
    row = yield from _target(cmd)
    roles = valid_roles(cmd.roles)
    _check_roles_fit(cmd.actor.hospital_id, row["hospital_id"], roles)
    if set(ADMIN_ROLES) & (set(roles) - set(row["roles"].split(","))):
        yield _close_sessions(row["id"])  # a new admin logs in again (with a one-time code)
    yield execute(
        "UPDATE operators SET roles = ?, updated_at = ? WHERE id = ?",
        ",".join(roles),
        tx.epoch,
        row["id"],
    )
    tx.audit(
        cmd.actor,
        "operator.roles",
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
        before={"roles": row["roles"].split(",")},
        after={"roles": list(roles)},
    )
    return roles


def set_operator_disabled(tx: Tx, cmd: oc.SetOperatorDisabled, deps: Deps) -> Gen:
    row = yield from _target(cmd)
    if cmd.disabled and cmd.actor.kind == "operator" and cmd.actor.name == row["username"]:
        raise InvalidInput("operator", "you cannot disable yourself")
    yield execute(
        "UPDATE operators SET disabled = ?, updated_at = ? WHERE id = ?",
        int(cmd.disabled),
        tx.epoch,
        row["id"],
    )
    if cmd.disabled:
        yield _close_sessions(row["id"])
    tx.audit(
        cmd.actor,
        "operator.disable" if cmd.disabled else "operator.enable",
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
    )
    return cmd.disabled


def reset_password(tx: Tx, cmd: oc.ResetPassword, deps: Deps) -> Gen:
    row = yield from _target(cmd)
    yield execute(
        "UPDATE operators SET password_hash = ?, must_change_password = 1, "
        "password_changed_at = ?, updated_at = ? WHERE id = ?",
        cmd.password_hash,
        tx.epoch,
        tx.epoch,
        row["id"],
    )
    yield _close_sessions(row["id"])
    yield _attempt(tx, row["username"], "admin", oc.RESET, False, row["id"])
    tx.audit(
        cmd.actor, "operator.reset_password", "operator", row["id"], hospital_id=row["hospital_id"]
    )
    return row["id"]


def change_password(tx: Tx, cmd: oc.ChangePassword, deps: Deps) -> Gen:
    row = yield from _target(cmd)
    yield execute(
        "UPDATE operators SET password_hash = ?, must_change_password = 0, "
        "password_changed_at = ?, updated_at = ? WHERE id = ?",
        cmd.password_hash,
        tx.epoch,
        tx.epoch,
        row["id"],
    )
    yield _close_sessions(row["id"], keep=cmd.keep_session)
    tx.audit(
        cmd.actor, "operator.change_password", "operator", row["id"], hospital_id=row["hospital_id"]
    )
    return row["id"]


def enrol_totp(tx: Tx, cmd: oc.EnrolTotp, deps: Deps) -> Gen:
    row = yield from _target(cmd)
    yield execute(
        "UPDATE operators SET totp_secret_enc = ?, totp_last_step = ?, updated_at = ? WHERE id = ?",
        cmd.secret_enc,
        cmd.step,
        tx.epoch,
        row["id"],
    )
    tx.audit(
        cmd.actor, "operator.totp_enrol", "operator", row["id"], hospital_id=row["hospital_id"]
    )
    return row["id"]


def use_totp_step(tx: Tx, cmd: oc.UseTotpStep, deps: Deps) -> Gen:
    changed = yield execute(
        "UPDATE operators SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
        cmd.step,
        cmd.operator_id,
        cmd.step,
    )
    return changed == 1


def _attempt(
    tx: Tx, username: str, source: str, outcome: str, evaluated: bool, operator_id: int | None
) -> Query:
    return val(
        "INSERT INTO login_attempts (at, username, source, operator_id, outcome, evaluated) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        tx.epoch,
        username,
        source,
        operator_id,
        outcome,
        int(evaluated),
    )


def _audit_attempt(
    tx: Tx, cmd: Any, username: str, outcome: str, evaluated: bool, operator_id: int | None
) -> Gen:
    hospital_id = None
    if operator_id is not None:
        hospital_id = yield val("SELECT hospital_id FROM operators WHERE id = ?", operator_id)
    tx.audit(
        cmd.actor,
        "login." + outcome,
        "operator",
        username,
        hospital_id=hospital_id,
        after={"source": cmd.source, "outcome": outcome, "evaluated": evaluated},
    )


def _record(
    tx: Tx, cmd: Any, username: str, outcome: str, evaluated: bool, operator_id: int | None
) -> Gen:
    """One row for the lockout counts and one audit row; a refusal joins its source's tally
    for the minute instead (3,000 throttled guesses a minute are one row, not 6,000)."""
    if not evaluated and outcome in oc.REFUSALS:
        minute = tx.epoch - tx.epoch % 60
        tally = yield one(
            "SELECT id FROM login_attempts WHERE source = ? AND at >= ? AND at < ? "
            "AND outcome = ? AND evaluated = 0 ORDER BY id LIMIT 1",
            cmd.source,
            minute,
            minute + 60,
            outcome,
        )
        if tally is not None:
            # several user names in one minute: the row names none of them ("*")
            yield execute(
                "UPDATE login_attempts SET tally = tally + 1, "
                "operator_id = CASE WHEN username = ? THEN operator_id ELSE NULL END, "
                "username = CASE WHEN username = ? THEN username ELSE '*' END WHERE id = ?",
                username,
                username,
                tally["id"],
            )
            return None
    attempt_id = yield _attempt(tx, username, cmd.source, outcome, evaluated, operator_id)
    yield from _audit_attempt(tx, cmd, username, outcome, evaluated, operator_id)
    return attempt_id


def record_login_attempt(tx: Tx, cmd: oc.RecordLoginAttempt, deps: Deps) -> Gen:
    """Never the password typed."""
    username = cmd.username.strip().lower()[:64]
    yield from _record(tx, cmd, username, cmd.outcome, cmd.evaluated, cmd.operator_id)
    return cmd.outcome


LOCK_NAMESPACE = 7_340_010  # pg_advisory_xact_lock(namespace, key): log-in reservations


def reserve_login_attempt(tx: Tx, cmd: oc.ReserveLoginAttempt, deps: Deps) -> Gen:
    """Count and reserve in one write. SQLite's one writer runs these one at a time anyway;
    on PostgreSQL two advisory locks (the user name's, then the source's: always in that
    order, so two reservations never wait on each other in a circle) make a parallel burst
    for one account or from one source count in turn."""
    username = cmd.username.strip().lower()[:64]
    if cmd.stage not in (oc.PASSWORD_STAGE, oc.TOTP_STAGE):
        raise InvalidInput("stage", f"{oc.PASSWORD_STAGE} | {oc.TOTP_STAGE}")
    if tx.dialect == "postgres":
        for key in ("user:" + username, "source:" + cmd.source):
            yield val("SELECT pg_advisory_xact_lock(?, hashtext(?))", LOCK_NAMESPACE, key)
    policy = cmd.policy
    history = yield from login_history(
        tx,
        username,
        cmd.source,
        streak_since=policy.streak_since(tx.epoch),
        source_since=policy.source_since(tx.epoch),
        in_flight_since=tx.epoch - policy.in_flight_seconds,
    )
    verdict = judge(history, tx.epoch, policy)
    if not verdict.allowed:
        assert verdict.outcome is not None
        yield from _record(tx, cmd, username, verdict.outcome, False, cmd.operator_id)
        return verdict
    pending = oc.PENDING_PASSWORD if cmd.stage == oc.PASSWORD_STAGE else oc.PENDING_TOTP
    attempt_id = yield _attempt(tx, username, cmd.source, pending, True, cmd.operator_id)
    return Verdict(True, delay_seconds=verdict.delay_seconds, attempt_id=attempt_id)


def settle_login_attempt(tx: Tx, cmd: oc.SettleLoginAttempt, deps: Deps) -> Gen:
    """A reserved attempt gets its outcome (once: a settled attempt stays as it is)."""
    username = cmd.username.strip().lower()[:64]
    changed = yield execute(
        "UPDATE login_attempts SET outcome = ?, operator_id = ? "
        f"WHERE id = ? AND outcome IN ({', '.join('?' for _ in oc.PENDING)})",
        cmd.outcome,
        cmd.operator_id,
        cmd.attempt_id,
        *oc.PENDING,
    )
    if changed:
        yield from _audit_attempt(tx, cmd, username, cmd.outcome, True, cmd.operator_id)
    return changed == 1


def open_console_session(tx: Tx, cmd: oc.OpenConsoleSession, deps: Deps) -> Gen:
    if cmd.stage not in STAGES:
        raise InvalidInput("stage", " | ".join(STAGES))
    yield execute(
        "INSERT INTO console_sessions (token_hash, operator_id, csrf_token, stage, "
        "pending_totp_enc, source, created_at, seen_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cmd.token_hash,
        cmd.operator_id,
        cmd.csrf_token,
        cmd.stage,
        cmd.pending_totp_enc,
        cmd.source,
        tx.epoch,
        tx.epoch,
        cmd.expires_at,
    )
    yield execute("DELETE FROM console_sessions WHERE expires_at <= ?", tx.epoch)
    return cmd.token_hash


def set_session_stage(tx: Tx, cmd: oc.SetSessionStage, deps: Deps) -> Gen:
    if cmd.stage not in STAGES:
        raise InvalidInput("stage", " | ".join(STAGES))
    changed = yield execute(
        "UPDATE console_sessions SET stage = ?, pending_totp_enc = ?, seen_at = ? "
        "WHERE token_hash = ?",
        cmd.stage,
        cmd.pending_totp_enc,
        tx.epoch,
        cmd.token_hash,
    )
    return changed == 1


def touch_console_session(tx: Tx, cmd: oc.TouchConsoleSession, deps: Deps) -> Gen:
    yield execute(
        "UPDATE console_sessions SET seen_at = ? WHERE token_hash = ?", tx.epoch, cmd.token_hash
    )


def close_console_session(tx: Tx, cmd: oc.CloseConsoleSession, deps: Deps) -> Gen:
    row = yield one(
        "SELECT s.operator_id, o.username, o.hospital_id FROM console_sessions s "
        "JOIN operators o ON o.id = s.operator_id WHERE s.token_hash = ?",
        cmd.token_hash,
    )
    if row is None:
        return False
    yield execute("DELETE FROM console_sessions WHERE token_hash = ?", cmd.token_hash)
    tx.audit(cmd.actor, "logout", "operator", row["username"], hospital_id=row["hospital_id"])
    return True


HANDLERS: dict[type, Callable[..., Any]] = {
    oc.AddOperator: add_operator,
    oc.EditOperator: edit_operator,
    oc.AssignRoles: assign_roles,
    oc.SetOperatorDisabled: set_operator_disabled,
    oc.ResetPassword: reset_password,
    oc.ChangePassword: change_password,
    oc.EnrolTotp: enrol_totp,
    oc.UseTotpStep: use_totp_step,
    oc.RecordLoginAttempt: record_login_attempt,
    oc.ReserveLoginAttempt: reserve_login_attempt,
    oc.SettleLoginAttempt: settle_login_attempt,
    oc.OpenConsoleSession: open_console_session,
    oc.SetSessionStage: set_session_stage,
    oc.TouchConsoleSession: touch_console_session,
    oc.CloseConsoleSession: close_console_session,
}
"""Registered in :data:`booking_core.services.COMMAND_HANDLERS`."""
