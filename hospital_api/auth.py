"""Bearer tokens: making and hashing them, verifying them with a small cache, and roles.

A token is shown once (``guahao token create``) and stored only as its SHA-256.
Roles: ``admin`` (the platform when it has no hospital, else that hospital) may do
everything; ``his`` (a hospital's own system) schedules, patients, bookings, the
blacklist and the rules of its hospital; ``kiosk`` reads slots, patients and
bookings, books, pays and checks in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from booking_core import operators
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor, Channel
from booking_core.operators import TokenRole

TOKEN_PREFIX = "gh_"
MAX_CACHED_TOKENS = 1024  # a deployment has tens of tokens; the bound only stops abuse

# RFC 6750's b64token, at most 512 long: a header that is not ASCII (or not even UTF-8,
# which aiohttp hands on as surrogates) is no token of ours
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]{1,512}=*")

ROLE_CHANNELS = {
    TokenRole.HIS: Channel.HIS,
    TokenRole.KIOSK: Channel.KIOSK,
    TokenRole.ADMIN: Channel.API,
}


def new_token() -> str:
    """A fresh bearer token: ``gh_`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified token behind a request."""

    token_id: int
    name: str
    role: str
    hospital_id: int | None
    hospital_code: str | None
    actor: Actor

    @property
    def idempotency_scope(self) -> str:
        return f"token:{self.token_id}"


class TokenCache:
    """Verified tokens by hash, trusted for ``ttl_seconds`` (a revocation takes that long
    to reach this process), at most ``max_entries`` of them, least recently used first out."""

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = MAX_CACHED_TOKENS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Caller]] = OrderedDict()

    def get(self, token_hash: str) -> Caller | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        expires, caller = entry
        if self._clock() >= expires:
            del self._entries[token_hash]
            return None
        self._entries.move_to_end(token_hash)
        return caller

    def put(self, token_hash: str, caller: Caller) -> None:
        if self.ttl_seconds <= 0:
            return
        self._entries[token_hash] = (self._clock() + self.ttl_seconds, caller)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def forget(self, token_id: int) -> None:
        """Drop a token's verification (it was revoked): its next request is looked up."""
        for token_hash, (_expires, caller) in list(self._entries.items()):
            if caller.token_id == token_id:
                del self._entries[token_hash]

    def __len__(self) -> int:
        return len(self._entries)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
        return None
    return token


async def verify(services: BookingServices, cache: TokenCache, token: str) -> Caller | None:
    """The caller a token stands for, or None when it is unknown or revoked."""
    token_hash = hash_token(token)
    caller = cache.get(token_hash)
    if caller is not None:
        return caller
    row, hospital_code = await services.read(operators.token_with_hospital, token_hash)
    if row is None or row["revoked_at"] is not None or row["role"] not in ROLE_CHANNELS:
        return None
    caller = Caller(
        token_id=row["id"],
        name=row["name"],
        role=row["role"],
        hospital_id=row["hospital_id"],
        hospital_code=hospital_code,
        actor=Actor(
            kind="token",
            name=row["name"],
            hospital_id=row["hospital_id"],
            channel=ROLE_CHANNELS[row["role"]],
        ),
    )
    cache.put(token_hash, caller)
    return caller
