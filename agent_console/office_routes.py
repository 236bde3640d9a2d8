"""Routes of the back office: booking queries and exports, doctor stops (停诊),
schedules, rules, blacklist, complaints, reports, the audit log."""

from __future__ import annotations

from .routing import Route

ROUTES: list[Route] = []
