"""Routes of the agent's desk: incoming calls (SSE), patient search and record,
booking for the caller (book, change, cancel)."""

from __future__ import annotations

from .routing import Route

ROUTES: list[Route] = []
