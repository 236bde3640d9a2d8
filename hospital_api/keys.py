"""Typed keys for the API sub-app's state and for what a request carries."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from booking_core.bus import BookingServices
from edge.metrics import BookingCounter

from .auth import Caller, TokenCache
from .directory import Directory
from .routing import Handler, Route


@dataclass(frozen=True, slots=True)
class ApiSettings:
    token_cache_seconds: int = 30
    max_body_bytes: int = 65536
    default_timezone: str = "Asia/Shanghai"  # for a hospital created without one
    feeds_allow_private: bool = False  # subscribers at private addresses (a HIS on the LAN)


SERVICES = web.AppKey("services", BookingServices)
SETTINGS = web.AppKey("settings", ApiSettings)
TOKENS = web.AppKey("tokens", TokenCache)
DIRECTORY = web.AppKey("directory", Directory)
ROUTES = web.AppKey("routes", tuple[Route, ...])
ROUTE_OF = web.AppKey("route_of", dict[Handler, Route])
ON_BOOKING = web.AppKey("on_booking", BookingCounter | None)
OPENAPI = web.AppKey("openapi", bytes)
"""The OpenAPI document, encoded once when the app is built."""

CALLER = web.RequestKey("caller", Caller)
"""The verified token behind a request (set by the auth middleware)."""
OUTCOME = web.RequestKey("outcome", str)
"""What POST /bookings did: "created" or "replayed" (for ``on_booking``)."""
