"""Operators (坐席/管理员): roles, log-in outcomes and stages, and the records reads return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """An operator's roles (stored comma-separated); what each may do is the console's."""

    PLATFORM_ADMIN = "platform_admin"  # 平台管理员
    HOSPITAL_ADMIN = "hospital_admin"  # 医院管理员
    AGENT = "agent"  # 挂号值班人员
    REPORT_VIEWER = "report_viewer"  # 报表查看


class TokenRole(StrEnum):
    """What an API token (``api_tokens.role``) is for; what each may call is the API's."""

    HIS = "his"  # a hospital information system: one hospital
    KIOSK = "kiosk"  # a self-service kiosk: one hospital
    ADMIN = "admin"  # scripts and back-office tools: one hospital or the platform


class LoginOutcome(StrEnum):
    """Outcomes of a log-in attempt, as kept in ``login_attempts.outcome``."""

    OK = "ok"  # password right (the TOTP step may still follow)
    TOTP_OK = "totp_ok"
    BAD_PASSWORD = "bad_password"  # also an unknown user name: the two look the same
    BAD_TOTP = "bad_totp"  # wrong or replayed one-time code
    DISABLED = "disabled"  # password right, operator disabled (停用)
    LOCKED = "locked"  # not evaluated: the account is soft-locked
    THROTTLED = "throttled"  # not evaluated: too many attempts from the source or for the account
    RESET = "reset"  # an administrator reset the password: ends a lockout streak
    CURRENT_PASSWORD_OK = "current_password_ok"  # right, to change it: neither ends nor adds
    PENDING_PASSWORD = "pending"  # reserved, its password being checked: a failure until settled
    PENDING_TOTP = "pending_totp"  # reserved, its one-time code being checked


FAILURES = (LoginOutcome.BAD_PASSWORD, LoginOutcome.BAD_TOTP)

PENDING = (LoginOutcome.PENDING_PASSWORD, LoginOutcome.PENDING_TOTP)

SUCCESSES = (LoginOutcome.OK, LoginOutcome.TOTP_OK, LoginOutcome.RESET)

REFUSALS = (LoginOutcome.LOCKED, LoginOutcome.THROTTLED)
"""Kept as one row per source, outcome and minute (a tally)."""


class LoginStage(StrEnum):
    """What an attempt checks: a password, or a one-time code."""

    PASSWORD = "password"
    TOTP = "totp"


class SessionStage(StrEnum):
    """How far a console session has come (``console_sessions.stage``)."""

    TOTP = "totp"  # the password was right; a one-time code is due
    TOTP_ENROL = "totp_enrol"  # an admin without TOTP sets it up first
    CHANGE_PASSWORD = "change_password"  # a one-time password is replaced first
    READY = "ready"  # logged in


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator as a screen shows it: never the password hash nor the TOTP secret."""

    id: int
    username: str
    display_name: str
    roles: tuple[Role, ...]
    hospital_id: int | None
    hospital_code: str | None
    must_change_password: bool
    disabled: bool
    totp_enrolled: bool
    created_at: datetime
    password_changed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a log-in checks: the operator, the argon2 hash and the encrypted TOTP secret."""

    operator: Operator
    password_hash: str
    totp_secret_enc: str | None
    totp_last_step: int


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    token_hash: str
    operator: Operator
    csrf_token: str
    stage: SessionStage
    pending_totp_enc: str | None
    created_at: int
    seen_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as it is listed: never the token, nor its hash."""

    id: int
    name: str
    role: str
    hospital_id: int | None  # None: a platform token
    hospital_code: str | None
    created_at: datetime
    revoked_at: datetime | None
