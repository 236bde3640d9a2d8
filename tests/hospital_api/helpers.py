"""Helpers for the API tests: a client over the real services (a root app with the API
mounted at /api/v1/), tokens, row counts and a small hospital."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from booking_core import operators
from booking_core.bus import BookingServices
from booking_core.kernel.unit import execute, val
from hospital_api.auth import hash_token, new_token
from hospital_api.web import make_app
from tests.support.world import World

TODAY = date(2026, 7, 10)  # the FrozenClock's day (09:00 Beijing)
TOMORROW = date(2026, 7, 11)

COUNTED_TABLES = ("bookings", "patients", "outbox", "audit", "idempotency_keys", "blacklist")


@dataclass
class Api:
    """The test client, the services behind it, and what ``on_booking`` heard."""

    client: TestClient
    services: BookingServices
    outcomes: list[tuple[str, str]] = field(default_factory=list)

    async def token(self, role: str, hospital: str | None = None, name: str = "") -> dict:
        """Authorization headers for a new token (stored hashed through the services)."""
        token = new_token()
        await self.services.handle(
            operators.CreateToken(
                name=name or f"{role}-{hospital or 'platform'}",
                role=role,
                hospital_code=hospital,
                token_hash=hash_token(token),
            )
        )
        return {"Authorization": f"Bearer {token}"}

    async def call(
        self, method: str, path: str, auth: dict | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {**(auth or {}), **kwargs.pop("headers", {})}
        async with self.client.request(method, "/api/v1" + path, headers=headers, **kwargs) as resp:
            if resp.status >= 400:
                assert resp.content_type == "application/problem+json", await resp.text()
            return resp.status, await resp.json(content_type=None)

    async def rows(self, *tables: str) -> dict[str, int]:
        return await count_rows(self.services, *(tables or COUNTED_TABLES))


async def count_rows(services: BookingServices, *tables: str) -> dict[str, int]:
    def count(tx):
        found = {}
        for table in tables:
            found[table] = yield val(f"SELECT count(*) FROM {table}")
        return found

    return await services.read(count)


async def revoke_all_tokens(services: BookingServices) -> None:
    def revoke(tx):
        yield execute("UPDATE api_tokens SET revoked_at = ?", tx.epoch)

    await services.store.write(revoke)


def make_root(services: BookingServices, outcomes: list, **options: Any) -> web.Application:
    root = web.Application()
    root.add_subapp(
        "/api/v1/",
        make_app(services, on_booking=lambda ch, result: outcomes.append((ch, result)), **options),
    )
    return root


async def hospital_with_session(
    services: BookingServices,
    code: str,
    *,
    day: date = TOMORROW,
    places: int = 2,
    fee: int = 5000,
    **session: Any,
):
    """Hospital <code> (医院<code>) with department 101, 王医生 00868 and a session on ``day``
    (``session``: period, start, end, slot_minutes); the session."""
    doctor = {"name": "王医生", "title": "", "specialty": "", "fee": fee}
    return await World(services, code).basic(day, places, doctor=doctor, **session)
