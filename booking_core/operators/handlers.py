"""Operators (坐席/管理员), API tokens, log-in attempts and console sessions."""

from __future__ import annotations

import re
from typing import Any

from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, NotFound
from ..kernel.registry import handler_table, on
from ..kernel.unit import Query, Tx, Unit, execute, one, val
from .commands import (
    AddOperator,
    AssignRoles,
    ChangePassword,
    CloseConsoleSession,
    CreateToken,
    EditOperator,
    EnrolTotp,
    OpenConsoleSession,
    RecordLoginAttempt,
    ReserveLoginAttempt,
    ResetPassword,
    RevokeToken,
    SetOperatorDisabled,
    SetSessionStage,
    SettleLoginAttempt,
    TouchConsoleSession,
    UseTotpStep,
)
from .lockout import Verdict, judge
from .model import PENDING, REFUSALS, LoginOutcome, LoginStage, Role, SessionStage, TokenRole
from .queries import login_history
from .tokens import revoke_token


def create_token(tx: Tx, cmd: CreateToken, deps: Deps) -> Unit[int]:
    if cmd.role not in TokenRole._value2member_map_:
        raise InvalidInput("role", " | ".join(TokenRole))
    hospital_id = None
    if cmd.hospital_code:
        hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
        hospital_id = hospital.id
    elif cmd.role != TokenRole.ADMIN:
        raise InvalidInput("hospital", f"a {cmd.role} token belongs to one hospital")
    else:  # an admin token is the platform's
        tenancy.check(cmd.actor, None, "api_token", cmd.name, forbidden="create_platform_token")
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
        AuditAction.TOKEN_CREATE,
        "api_token",
        token_id,
        hospital_id=hospital_id,
        after={"name": cmd.name, "role": cmd.role},
    )
    return token_id


USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")

DISPLAY_NAME_MAX = 40

ADMIN_ROLES = (Role.PLATFORM_ADMIN, Role.HOSPITAL_ADMIN)


def valid_roles(roles: tuple[str, ...]) -> tuple[Role, ...]:
    chosen = tuple(dict.fromkeys(r.strip() for r in roles if r.strip()))
    if not chosen:
        raise InvalidInput("roles", "at least one role")
    unknown = [r for r in chosen if r not in Role._value2member_map_]
    if unknown:
        raise InvalidInput("roles", " | ".join(Role))
    return tuple(Role(r) for r in chosen)


def _display_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput("display_name", f"1 to {DISPLAY_NAME_MAX} characters")
    return name


def _check_roles_fit(actor: Actor, hospital_id: int | None, roles: tuple[str, ...]) -> None:
    """Platform admins belong to no hospital; everyone else to exactly one. Only a
    platform-wide actor grants the platform-admin role."""
    if Role.PLATFORM_ADMIN in roles:
        tenancy.check(actor, None, "operator", "", forbidden="grant_platform_admin")
        if hospital_id is not None:
            raise InvalidInput("roles", "a platform admin belongs to no hospital")
    elif hospital_id is None:
        raise InvalidInput("hospital", "an operator other than a platform admin needs a hospital")


def _target(cmd: Any) -> Unit[Any]:
    row = yield one("SELECT * FROM operators WHERE id = ?", cmd.operator_id, lock=True)
    if row is None:
        raise NotFound("operator", cmd.operator_id)
    tenancy.check(cmd.actor, row["hospital_id"], "operator", cmd.operator_id)
    return row


def _close_sessions(operator_id: int, keep: str | None = None) -> Query:
    if keep is None:
        return execute("DELETE FROM console_sessions WHERE operator_id = ?", operator_id)
    return execute(
        "DELETE FROM console_sessions WHERE operator_id = ? AND token_hash <> ?", operator_id, keep
    )


def add_operator(tx: Tx, cmd: AddOperator, deps: Deps) -> Unit[int]:
    username = cmd.username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidInput("username", "3 to 32 of a-z 0-9 _ . -, starting with a letter or digit")
    roles = valid_roles(cmd.roles)
    hospital_id = None
    if cmd.hospital_code:
        hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
        hospital_id = hospital.id
    else:  # a platform operator is the platform's
        tenancy.check(cmd.actor, None, "operator", username, forbidden="add_platform_operator")
    _check_roles_fit(cmd.actor, hospital_id, roles)
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
        AuditAction.OPERATOR_ADD,
        "operator",
        op_id,
        hospital_id=hospital_id,
        after={"username": username, "roles": list(roles)},
    )
    return op_id


def edit_operator(tx: Tx, cmd: EditOperator, deps: Deps) -> Unit[int]:
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
        AuditAction.OPERATOR_EDIT,
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
        before={"display_name": row["display_name"]},
        after={"display_name": name},
    )
    return row["id"]


def assign_roles(tx: Tx, cmd: AssignRoles, deps: Deps) -> Unit[tuple[str, ...]]:
    row = yield from _target(cmd)
    roles = valid_roles(cmd.roles)
    _check_roles_fit(cmd.actor, row["hospital_id"], roles)
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
        AuditAction.OPERATOR_ROLES,
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
        before={"roles": row["roles"].split(",")},
        after={"roles": list(roles)},
    )
    return roles


def set_operator_disabled(tx: Tx, cmd: SetOperatorDisabled, deps: Deps) -> Unit[bool]:
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
        AuditAction.OPERATOR_DISABLE if cmd.disabled else AuditAction.OPERATOR_ENABLE,
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
    )
    return cmd.disabled


def reset_password(tx: Tx, cmd: ResetPassword, deps: Deps) -> Unit[int]:
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
    yield _attempt(tx, row["username"], "admin", LoginOutcome.RESET, False, row["id"])
    tx.audit(
        cmd.actor,
        AuditAction.OPERATOR_RESET_PASSWORD,
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
    )
    return row["id"]


def change_password(tx: Tx, cmd: ChangePassword, deps: Deps) -> Unit[int]:
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
        cmd.actor,
        AuditAction.OPERATOR_CHANGE_PASSWORD,
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
    )
    return row["id"]


def enrol_totp(tx: Tx, cmd: EnrolTotp, deps: Deps) -> Unit[int]:
    row = yield from _target(cmd)
    yield execute(
        "UPDATE operators SET totp_secret_enc = ?, totp_last_step = ?, updated_at = ? WHERE id = ?",
        cmd.secret_enc,
        cmd.step,
        tx.epoch,
        row["id"],
    )
    tx.audit(
        cmd.actor,
        AuditAction.OPERATOR_TOTP_ENROL,
        "operator",
        row["id"],
        hospital_id=row["hospital_id"],
    )
    return row["id"]


def use_totp_step(tx: Tx, cmd: UseTotpStep, deps: Deps) -> Unit[bool]:
    """False for another hospital's operator too, as for a missing one."""
    where, args = tenancy.scope(cmd.actor, "hospital_id")
    changed = yield execute(
        "UPDATE operators SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?"
        + "".join(" AND " + clause for clause in where),
        cmd.step,
        cmd.operator_id,
        cmd.step,
        *args,
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
) -> Unit[None]:
    hospital_id = None
    if operator_id is not None:
        hospital_id = yield val("SELECT hospital_id FROM operators WHERE id = ?", operator_id)
    tx.audit(
        cmd.actor,
        AuditAction(f"login.{outcome}"),  # one per outcome of .model
        "operator",
        username,
        hospital_id=hospital_id,
        after={"source": cmd.source, "outcome": outcome, "evaluated": evaluated},
    )


def _record(
    tx: Tx, cmd: Any, username: str, outcome: str, evaluated: bool, operator_id: int | None
) -> Unit[int | None]:
    """One row for the lockout counts and one audit row; a refusal joins its source's tally
    for the minute instead (3,000 throttled guesses a minute are one row, not 6,000)."""
    if not evaluated and outcome in REFUSALS:
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


def record_login_attempt(tx: Tx, cmd: RecordLoginAttempt, deps: Deps) -> Unit[str]:
    """Never the password typed."""
    username = cmd.username.strip().lower()[:64]
    yield from _record(tx, cmd, username, cmd.outcome, cmd.evaluated, cmd.operator_id)
    return cmd.outcome


LOCK_NAMESPACE = 7_340_010  # pg_advisory_xact_lock(namespace, key): log-in reservations


def reserve_login_attempt(tx: Tx, cmd: ReserveLoginAttempt, deps: Deps) -> Unit[Verdict]:
    """Count and reserve in one write. SQLite's one writer runs these one at a time anyway;
    on PostgreSQL two advisory locks (the user name's, then the source's: always in that
    order, so two reservations never wait on each other in a circle) make a parallel burst
    for one account or from one source count in turn."""
    username = cmd.username.strip().lower()[:64]
    if cmd.stage not in LoginStage._value2member_map_:
        raise InvalidInput("stage", " | ".join(LoginStage))
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
    pending = (
        LoginOutcome.PENDING_PASSWORD
        if cmd.stage == LoginStage.PASSWORD
        else LoginOutcome.PENDING_TOTP
    )
    attempt_id = yield _attempt(tx, username, cmd.source, pending, True, cmd.operator_id)
    return Verdict(True, delay_seconds=verdict.delay_seconds, attempt_id=attempt_id)


def settle_login_attempt(tx: Tx, cmd: SettleLoginAttempt, deps: Deps) -> Unit[bool]:
    """A reserved attempt gets its outcome (once: a settled attempt stays as it is)."""
    username = cmd.username.strip().lower()[:64]
    changed = yield execute(
        "UPDATE login_attempts SET outcome = ?, operator_id = ? "
        f"WHERE id = ? AND outcome IN ({', '.join('?' for _ in PENDING)})",
        cmd.outcome,
        cmd.operator_id,
        cmd.attempt_id,
        *PENDING,
    )
    if changed:
        yield from _audit_attempt(tx, cmd, username, cmd.outcome, True, cmd.operator_id)
    return changed == 1


def open_console_session(tx: Tx, cmd: OpenConsoleSession, deps: Deps) -> Unit[str]:
    if cmd.stage not in SessionStage._value2member_map_:
        raise InvalidInput("stage", " | ".join(SessionStage))
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


def set_session_stage(tx: Tx, cmd: SetSessionStage, deps: Deps) -> Unit[bool]:
    if cmd.stage not in SessionStage._value2member_map_:
        raise InvalidInput("stage", " | ".join(SessionStage))
    changed = yield execute(
        "UPDATE console_sessions SET stage = ?, pending_totp_enc = ?, seen_at = ? "
        "WHERE token_hash = ?",
        cmd.stage,
        cmd.pending_totp_enc,
        tx.epoch,
        cmd.token_hash,
    )
    return changed == 1


def touch_console_session(tx: Tx, cmd: TouchConsoleSession, deps: Deps) -> Unit[None]:
    yield execute(
        "UPDATE console_sessions SET seen_at = ? WHERE token_hash = ?", tx.epoch, cmd.token_hash
    )


def close_console_session(tx: Tx, cmd: CloseConsoleSession, deps: Deps) -> Unit[bool]:
    row = yield one(
        "SELECT s.operator_id, o.username, o.hospital_id FROM console_sessions s "
        "JOIN operators o ON o.id = s.operator_id WHERE s.token_hash = ?",
        cmd.token_hash,
    )
    if row is None:
        return False
    yield execute("DELETE FROM console_sessions WHERE token_hash = ?", cmd.token_hash)
    tx.audit(
        cmd.actor, AuditAction.LOGOUT, "operator", row["username"], hospital_id=row["hospital_id"]
    )
    return True


HANDLERS = handler_table(
    on(AddOperator, add_operator),
    on(EditOperator, edit_operator),
    on(AssignRoles, assign_roles),
    on(SetOperatorDisabled, set_operator_disabled),
    on(ResetPassword, reset_password),
    on(ChangePassword, change_password),
    on(EnrolTotp, enrol_totp),
    on(UseTotpStep, use_totp_step),
    on(RecordLoginAttempt, record_login_attempt),
    on(ReserveLoginAttempt, reserve_login_attempt),
    on(SettleLoginAttempt, settle_login_attempt),
    on(OpenConsoleSession, open_console_session),
    on(SetSessionStage, set_session_stage),
    on(TouchConsoleSession, touch_console_session),
    on(CloseConsoleSession, close_console_session),
    on(CreateToken, create_token),
    on(RevokeToken, revoke_token),
)
