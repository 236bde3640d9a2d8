"""Passwords (argon2id), one-time codes (TOTP) and the log-in lockout (登录锁定).

The lockout is worked out from the stored attempts, never from a counter on the operator
row, so an unknown user name is locked exactly like a known one (no user-name probing):

* per account: after ``lock_after`` (5) failures in a row the account is soft-locked for
  ``lock_minutes`` (15). The streak goes on after the lock ends (until a success, or an
  administrator's password reset): each further failure locks again, 15 minutes longer each
  time (30, 45 …, at most a day), the "increasing delay";
* per account: never more than ``account_per_hour`` (100) attempts evaluated in an hour;
* per source (address): ``source_failures`` (20) failures within ``source_minutes`` (15)
  and nothing more from it is evaluated until they age out.

An attempt refused by these rules is recorded and audited, but its password is not checked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from markupsafe import Markup

from booking_core import operator_commands as oc
from booking_core.operator_queries import LoginHistory

MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "password1234",
        "password12345",
        "passwordpassword",
        "qwertyuiop12",
        "qwertyuiopasdf",
        "000000000000",
        "111111111111",
        "888888888888",
        "abc123456789",
        "admin1234567",
        "administrator",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "guahao123456",
        "woaini1314520",
        "1qaz2wsx3edc",
        "qwer1234asdf",
        "aaaaaaaaaaaa",
    }
)
TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read out over a phone


def weak_password_reason(password: str, username: str = "") -> str | None:
    """Why ``password`` is refused (a message key), or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        return "password_common"
    if username and username.lower() in lowered:
        return "password_has_username"
    return None


def temporary_password() -> str:
    """A one-time password an administrator hands over: 3 groups of 4 (about 59 bits)."""
    groups = ("".join(secrets.choice(TEMP_ALPHABET) for _ in range(4)) for _ in range(3))
    return "-".join(groups)


class Passwords:
    """argon2id hashes (the library's RFC 9106 defaults unless a test asks for cheap ones)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; with no hash (unknown user) a dummy hash is
        checked instead, so both cases take the same time."""
        try:
            return self.hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


# --- one-time codes ---------------------------------------------------------------------

TOTP_ISSUER = "guahao"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def qr_svg(text: str) -> Markup:
    """``text`` (an otpauth URI) as a QR code, inline SVG for the TOTP set-up page: an
    authenticator app scans it instead of having the secret typed in."""
    code = segno.make(text, error="m")
    return Markup(code.svg_inline(scale=4, light="#fff", svgclass="qr", title="QR code"))


def totp_step(secret: str, code: str, at_epoch: int) -> int | None:
    """The time step whose code ``code`` is (this step or one either side, for clock drift),
    or None. The caller accepts each step once (replays are refused)."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = at_epoch // totp.interval
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


# --- lockout ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginPolicy:
    lock_after: int = 5  # failures in a row before the first soft lock
    lock_minutes: int = 15  # the first lock; each later failure locks 15 minutes more
    max_lock_minutes: int = 24 * 60
    streak_hours: int = 24  # failures older than this no longer count towards a streak
    account_per_hour: int = 100  # attempts evaluated per account per hour, at most
    source_failures: int = 20  # failures from one address before it is throttled
    source_minutes: int = 15

    def streak_since(self, now: int) -> int:
        return now - self.streak_hours * 3600

    def source_since(self, now: int) -> int:
        return now - self.source_minutes * 60

    def lock_seconds(self, streak: int) -> int:
        if streak < self.lock_after:
            return 0
        minutes = self.lock_minutes * (streak - self.lock_after + 1)
        return min(minutes, self.max_lock_minutes) * 60


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may be evaluated; if not, why (an outcome) and until when."""

    allowed: bool
    outcome: str | None = None  # LOCKED or THROTTLED when refused
    retry_at: int | None = None  # epoch seconds


def failure_streak(history: LoginHistory) -> tuple[int, int | None]:
    """Failures in a row since the last success, and the instant of the latest one."""
    streak, latest = 0, None
    for at, outcome in history.attempts:
        if outcome in oc.SUCCESSES:
            break
        if outcome in oc.FAILURES:
            streak += 1
            latest = at if latest is None else latest
    return streak, latest


def judge(history: LoginHistory, now: int, policy: LoginPolicy) -> Verdict:
    """May the next attempt for this account from this source be evaluated?"""
    streak, latest = failure_streak(history)
    if latest is not None:
        until = latest + policy.lock_seconds(streak)
        if until > now:
            return Verdict(False, oc.LOCKED, until)
    if history.evaluated_last_hour >= policy.account_per_hour:
        return Verdict(False, oc.THROTTLED, now + 3600)
    if history.source_failures >= policy.source_failures:
        return Verdict(False, oc.THROTTLED, now + policy.source_minutes * 60)
    return Verdict(True)
