"""Reads about operators (坐席/管理员), log-in attempts and console sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalogue.repo import hospital_by_id
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.unit import Tx, Unit, from_epoch, one, rows, val
from .lockout import LoginHistory
from .model import (
    FAILURES,
    PENDING,
    SUCCESSES,
    ConsoleSession,
    Credentials,
    Operator,
    Role,
    SessionStage,
)

STREAK_ROWS = 100  # enough to see back to the last success through any lockout streak

OPERATOR_SQL = (
    "SELECT o.*, h.code AS hospital_code FROM operators o "
    "LEFT JOIN hospitals h ON h.id = o.hospital_id"
)


def operator_from(row: Mapping[str, Any]) -> Operator:
    return Operator(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        roles=tuple(Role(r) for r in row["roles"].split(",") if r),
        hospital_id=row["hospital_id"],
        hospital_code=row["hospital_code"],
        must_change_password=bool(row["must_change_password"]),
        disabled=bool(row["disabled"]),
        totp_enrolled=row["totp_secret_enc"] is not None,
        created_at=from_epoch(row["created_at"]),
        password_changed_at=from_epoch(row["password_changed_at"]),
    )


def credentials(tx: Tx, username: str) -> Unit[Credentials | None]:
    """The operator behind a user name, or None (no scoping: this is the log-in itself)."""
    row = yield one(OPERATOR_SQL + " WHERE o.username = ?", username.strip().lower())
    if row is None:
        return None
    return Credentials(
        operator_from(row), row["password_hash"], row["totp_secret_enc"], row["totp_last_step"]
    )


def credentials_by_id(tx: Tx, operator_id: int) -> Unit[Credentials]:
    row = yield one(OPERATOR_SQL + " WHERE o.id = ?", operator_id)
    if row is None:
        raise NotFound("operator", operator_id)
    return Credentials(
        operator_from(row), row["password_hash"], row["totp_secret_enc"], row["totp_last_step"]
    )


def get_operator(tx: Tx, operator_id: int, actor: Actor) -> Unit[Operator]:
    row = yield one(OPERATOR_SQL + " WHERE o.id = ?", operator_id)
    if row is None:
        raise NotFound("operator", operator_id)
    tenancy.check(actor, row["hospital_id"], "operator", operator_id)
    return operator_from(row)


def list_operators(tx: Tx, actor: Actor, *, limit: int = 500) -> Unit[list[Operator]]:
    where, args = tenancy.scope(actor, "o.hospital_id")
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(OPERATOR_SQL + clause + " ORDER BY o.username LIMIT ?", *args, limit)
    return [operator_from(r) for r in found]


def login_history(
    tx: Tx,
    username: str,
    source: str,
    *,
    streak_since: int,
    source_since: int,
    in_flight_since: int | None = None,
) -> Unit[LoginHistory]:
    """Attempts for ``username`` since ``streak_since``, the account's evaluated attempts in
    the last hour, the source's failures since ``source_since`` and its attempts reserved
    since ``in_flight_since`` and not yet settled (epoch seconds)."""
    username = username.strip().lower()[:64]
    counted = FAILURES + PENDING + SUCCESSES  # refusals never push them out
    recent = yield rows(
        "SELECT at, outcome FROM login_attempts WHERE username = ? AND at > ? "
        f"AND outcome IN ({_marks(counted)}) ORDER BY at DESC, id DESC LIMIT ?",
        username,
        streak_since,
        *counted,
        STREAK_ROWS,
    )
    evaluated = yield val(
        "SELECT count(*) FROM login_attempts WHERE username = ? AND at > ? AND evaluated = 1",
        username,
        tx.epoch - 3600,
    )
    failed = FAILURES + PENDING
    failures = yield val(
        "SELECT count(*) FROM login_attempts WHERE source = ? AND at > ? "
        f"AND outcome IN ({_marks(failed)})",
        source,
        source_since,
        *failed,
    )
    in_flight = 0
    if in_flight_since is not None:
        in_flight = yield val(
            "SELECT count(*) FROM login_attempts WHERE source = ? AND at > ? "
            f"AND outcome IN ({_marks(PENDING)})",
            source,
            in_flight_since,
            *PENDING,
        )
    return LoginHistory(
        attempts=tuple((r["at"], r["outcome"]) for r in recent),
        evaluated_last_hour=int(evaluated or 0),
        source_failures=int(failures or 0),
        source_in_flight=int(in_flight or 0),
    )


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def console_session(tx: Tx, token_hash: str) -> Unit[ConsoleSession | None]:
    """The session behind a cookie's hash, with its operator; None when there is none."""
    row = yield one(
        "SELECT s.token_hash, s.csrf_token, s.stage, s.pending_totp_enc, "
        "s.created_at AS s_created, s.seen_at, s.expires_at, o.*, h.code AS hospital_code "
        "FROM console_sessions s JOIN operators o ON o.id = s.operator_id "
        "LEFT JOIN hospitals h ON h.id = o.hospital_id WHERE s.token_hash = ?",
        token_hash,
    )
    if row is None:
        return None
    return ConsoleSession(
        token_hash=row["token_hash"],
        operator=operator_from(row),
        csrf_token=row["csrf_token"],
        stage=SessionStage(row["stage"]),
        pending_totp_enc=row["pending_totp_enc"],
        created_at=row["s_created"],
        seen_at=row["seen_at"],
        expires_at=row["expires_at"],
    )


def token_by_hash(tx: Tx, token_hash: str) -> Unit[Any]:
    return (
        yield one(
            "SELECT id, name, role, hospital_id, revoked_at FROM api_tokens WHERE token_hash = ?",
            token_hash,
        )
    )


def token_with_hospital(tx: Tx, token_hash: str) -> Unit[tuple[Any, str | None]]:
    """An API token's row and the code of its hospital (None for a platform token)."""
    row = yield from token_by_hash(tx, token_hash)
    if row is None or row["hospital_id"] is None:
        return row, None
    hospital = yield from hospital_by_id(row["hospital_id"])
    return row, hospital.code
