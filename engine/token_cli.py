"""``guahao token list`` and ``guahao token revoke`` (``token create`` is in :mod:`.cli`).

The list never shows a token nor its hash (only its hash is kept); times are shown in
the token's hospital's zone, a platform token's in the engine's ``timezone``. A token
revoked here is refused by a running engine within its ``token_cache_seconds``."""

from __future__ import annotations

import argparse
from zoneinfo import ZoneInfo

from booking_core import catalogue, operators
from booking_core.bus import BookingServices
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import MAX_ROWS
from booking_core.operators import ApiToken

from .config import Settings

COLUMNS = ("id", "name", "role", "hospital", "created", "revoked")


def _when(token: ApiToken, zones: dict[str | None, ZoneInfo], which: str) -> str:
    instant = token.created_at if which == "created" else token.revoked_at
    if instant is None:
        return "-"
    return instant.astimezone(zones[token.hospital_code]).strftime("%Y-%m-%d %H:%M")


async def token_list(
    settings: Settings, args: argparse.Namespace, services: BookingServices
) -> list[str]:
    """The lines ``guahao token list`` prints: a header, then one line per token."""
    found: list[ApiToken] = []
    after = None
    while True:  # every page: a list is never cut
        page = await services.read(
            operators.list_tokens,
            SYSTEM,
            hospital_code=args.hospital,
            include_revoked=args.all,
            after=after,
            limit=MAX_ROWS,
        )
        found += page
        if len(page) < MAX_ROWS:
            break
        after = page[-1].id
    zones: dict[str | None, ZoneInfo] = {None: ZoneInfo(settings.timezone)}
    for code in {t.hospital_code for t in found} - {None}:
        zones[code] = ZoneInfo((await services.read(catalogue.hospital, code)).timezone)
    rows = [COLUMNS] + [
        (
            str(t.id),
            t.name,
            t.role,
            t.hospital_code or "(platform)",
            _when(t, zones, "created"),
            _when(t, zones, "revoked"),
        )
        for t in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]  # fmt: skip


async def token_revoke(
    settings: Settings, args: argparse.Namespace, services: BookingServices
) -> str:
    """Revoke token ``args.id``; the line ``guahao token revoke`` prints."""
    token = await services.handle(operators.RevokeToken(actor=SYSTEM, token_id=args.id))
    return (
        f"token {token.id} ({token.name}, {token.role}) is revoked; a running engine refuses "
        f"it within token_cache_seconds ({settings.token_cache_seconds} s)"
    )
