"""The back office's front page: a link to each screen the operator may use."""

from __future__ import annotations

from aiohttp import web

from ...pages import Page
from ...permissions import Permission, permissions_of
from ..common import session
from .util import page

P = Permission
SCREENS = (
    ("bookings", "booking_query", P.BOOKINGS_VIEW),
    ("sessions", "sessions_week", P.SESSIONS_STOP),
    ("schedules", "schedules", P.SCHEDULES_MANAGE),
    ("rules", "rules", P.RULES_MANAGE),
    ("calendar", "calendar", P.RULES_MANAGE),
    ("blacklist", "blacklist", P.BLACKLIST_VIEW),
    ("complaints", "complaints", P.COMPLAINTS_MANAGE),
    ("devices", "devices", P.DEVICES_VIEW),
    ("feeds", "feeds", P.FEEDS_MANAGE),
    ("reports", "reports", P.REPORTS_VIEW),
    ("wallboard", "wallboard", P.REPORTS_VIEW),
    ("audit", "audit_log", P.AUDIT_VIEW),
)


async def office(request: web.Request) -> Page:
    granted = permissions_of(session(request).operator.roles)
    screens = [{"path": path, "label": label} for path, label, need in SCREENS if need in granted]
    return page(request, {"screens": screens})
