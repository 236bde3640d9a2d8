"""Passwords (argon2id), one-time codes (TOTP), and the log-in lockout (登录锁定) whose
rules live in :mod:`booking_core.operators.lockout` (re-exported here for the console): they are
judged in the same write that reserves the attempt, so a parallel burst counts in turn.
"""

from __future__ import annotations

import secrets

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from markupsafe import Markup

# the lockout: judged by the core, in the write that reserves the attempt
from booking_core.operators import LoginPolicy, Verdict, code_streak, failure_streak, judge

__all__ = [
    "LoginPolicy",
    "Passwords",
    "Verdict",
    "code_streak",
    "failure_streak",
    "judge",
    "new_totp_secret",
    "qr_svg",
    "temporary_password",
    "totp_step",
    "totp_uri",
    "weak_password_reason",
]

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
