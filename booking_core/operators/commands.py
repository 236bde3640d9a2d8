"""Commands about console operators (坐席/管理员), API tokens, their log-in attempts and
console sessions.

Roles are names here; what each role may do (its permissions) is the console's business.
The core keeps the hospital scoping: an operator bound to a hospital only ever sees and
changes operators of that hospital, and never grants the platform-admin role."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from .lockout import LoginPolicy, Verdict
from .model import ApiToken, LoginStage


@dataclass(frozen=True, kw_only=True)
class CreateToken(Command[int]):
    name: str
    role: str
    hospital_code: str | None
    token_hash: str


@dataclass(frozen=True, kw_only=True)
class RevokeToken(Command[ApiToken]):
    """An API token stops working (a revoked token stays listed, with when)."""

    token_id: int


@dataclass(frozen=True, kw_only=True)
class AddOperator(Command[int]):
    """A new operator. ``hospital_code`` None: platform-wide (platform admins only)."""

    username: str
    display_name: str
    password_hash: str
    roles: tuple[str, ...]
    hospital_code: str | None = None
    must_change_password: bool = True


@dataclass(frozen=True, kw_only=True)
class EditOperator(Command[int]):
    operator_id: int
    display_name: str


@dataclass(frozen=True, kw_only=True)
class AssignRoles(Command[tuple[str, ...]]):
    operator_id: int
    roles: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SetOperatorDisabled(Command[bool]):
    """停用 / 启用: a disabled operator cannot log in and loses every open session."""

    operator_id: int
    disabled: bool


@dataclass(frozen=True, kw_only=True)
class ResetPassword(Command[int]):
    """A one-time temporary password, changed at the next log-in; ends a lockout."""

    operator_id: int
    password_hash: str


@dataclass(frozen=True, kw_only=True)
class ChangePassword(Command[int]):
    """An operator's own new password; every other session of theirs is closed."""

    operator_id: int
    password_hash: str
    keep_session: str | None = None  # token hash of the session that asked


@dataclass(frozen=True, kw_only=True)
class EnrolTotp(Command[int]):
    operator_id: int
    secret_enc: str
    step: int  # the time step of the code that proved it


@dataclass(frozen=True, kw_only=True)
class UseTotpStep(Command[bool]):
    """Accept a TOTP time step once: returns False when it (or a later one) was used."""

    operator_id: int
    step: int


@dataclass(frozen=True, kw_only=True)
class RecordLoginAttempt(Command[str]):
    """An attempt's outcome, audited. A refusal (locked, throttled) is added to its source's
    tally for the minute: one row and one audit record per source, outcome and minute."""

    username: str
    source: str
    outcome: str
    evaluated: bool
    operator_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReserveLoginAttempt(Command[Verdict]):
    """Judge an attempt and, when it may be evaluated, keep a pending attempt for it, in one
    write: returns a :class:`~booking_core.operators.lockout.Verdict` (its ``attempt_id`` to
    settle). A refusal is recorded as :class:`RecordLoginAttempt` would."""

    username: str
    source: str
    stage: LoginStage
    policy: LoginPolicy
    operator_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class SettleLoginAttempt(Command[bool]):
    """A reserved attempt's real outcome (right, wrong, disabled), audited."""

    attempt_id: int
    username: str
    source: str
    outcome: str
    operator_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class OpenConsoleSession(Command[str]):
    token_hash: str
    operator_id: int
    csrf_token: str
    stage: str
    source: str
    expires_at: int  # epoch seconds
    pending_totp_enc: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetSessionStage(Command[bool]):
    token_hash: str
    stage: str
    pending_totp_enc: str | None = None


@dataclass(frozen=True, kw_only=True)
class TouchConsoleSession(Command[None]):
    token_hash: str


@dataclass(frozen=True, kw_only=True)
class CloseConsoleSession(Command[bool]):
    token_hash: str
