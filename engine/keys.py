"""Typed application state: every key the engine puts on its aiohttp app."""

from __future__ import annotations

from aiohttp import web

from booking_core.bus import BookingServices
from booking_core.kernel.clock import Clock
from booking_core.store.base import Store

from .config import Settings
from .metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
STORE = web.AppKey("store", Store)
SERVICES = web.AppKey("services", BookingServices)
METRICS = web.AppKey("metrics", Metrics)
