"""Mosquitto's password hash (the broker's ``$7$``), shared by whoever gives a kiosk its
MQTT password: the console's devices screen (register, reset) and the engine's broker
files (:mod:`hardware.hall.mosquitto`, which writes the password file).

- :func:`new_password`: a kiosk's password, drawn here: long and random (a machine types
  it, from a file), so the broker's cheap hash is enough.
- :func:`password_hash`: mosquitto 2's ``$7$`` hash (PBKDF2-HMAC-SHA512), what
  ``mosquitto_passwd`` writes; :func:`password_matches` checks a password against one;
  :func:`is_password_hash` says whether a text has the hash's shape.

Pure functions of their arguments (no door, no I/O): the doors import them from here, since
doors never import each other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

PBKDF2_ITERATIONS = 101
"""What ``mosquitto_passwd`` 2.0 writes; the broker reads the count from each line. Low,
because the broker runs it at every log-in: the passwords are long random ones
(:func:`new_password`), not a person's."""
SALT_BYTES = 12
"""mosquitto_passwd's salt length."""
PASSWORD_BYTES = 18
"""A kiosk password's randomness: 144 bits, 24 characters of URL-safe base64 (letters,
digits, ``-`` and ``_``: safe in a file, a shell and a TOML string)."""

_HASH = re.compile(r"\$7\$[1-9][0-9]{0,6}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}")


def new_password() -> str:
    """A new kiosk password (never logged, shown once to whoever registers the kiosk)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def password_hash(password: str, *, salt: bytes | None = None, iterations: int = 0) -> str:
    """``$7$<iterations>$<salt>$<key>``: PBKDF2-HMAC-SHA512 with a 12-byte salt and a
    64-byte key, both in standard base64 (mosquitto 2's password-file format)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    iterations = iterations or PBKDF2_ITERATIONS
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    encoded = (base64.b64encode(part).decode("ascii") for part in (salt, key))
    return f"$7${iterations}${next(encoded)}${next(encoded)}"


def is_password_hash(text: str) -> bool:
    """Whether ``text`` has the shape of a ``$7$`` hash (what the password file takes)."""
    return _HASH.fullmatch(text) is not None


def password_matches(password: str, hashed: str) -> bool:
    """Whether ``hashed`` (a ``$7$`` hash) is ``password``'s."""
    if not is_password_hash(hashed):
        return False
    _, _, count, salt, key = hashed.split("$")
    try:
        salt_bytes, key_bytes = base64.b64decode(salt), base64.b64decode(key)
    except (binascii.Error, ValueError):
        return False
    again = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt_bytes, int(count))
    return hmac.compare_digest(again, key_bytes)
