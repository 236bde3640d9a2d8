"""The supervisor's wallboard (坐席监控大屏): callers waiting and the longest wait, handled and
abandoned today, the service level, bookings today by channel and agents by state, for one
hospital, live over Server-Sent Events.

Every open wallboard of a hospital shares one reader (:mod:`agent_console.live`) woken by
the store's change notifications for its calls, bookings and agents (PostgreSQL
LISTEN/NOTIFY across engine processes, an in-process signal on SQLite), with a slow
safety refresh: the database is read once per change, not once per screen per second.
Each connection renders the tiles in its own language and sends them as ``event:
wallboard``; the longest wait is worked out from the clock when it is sent, and the page
counts it on by itself between two events (``static/wallboard.js``). "Today" is the
hospital's local date. The JSON twins (``wallboard.json``, ``wallboard/stream.json``) are
the numbers now.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from booking_core import catalogue, reports
from booking_core.kernel.errors import InvalidInput
from booking_core.reports import Wallboard

from ...keys import SETTINGS
from ...live import FeedClosed, live
from ...pages import Page, common_context, wants_json
from ..common import actor, services, session
from .util import hospital_of, page

WALLBOARD_TOPICS = frozenset({"call", "booking", "agent"})  # the store's topics it shows
STREAM_SECONDS = 60.0  # then the browser reconnects (and the session is checked again)
RETRY_MILLISECONDS = 2000
TILES_TEMPLATE = "office/wallboard_tiles.html"


async def _hospital_id(request: web.Request) -> int:
    """The hospital the wallboard shows: the operator's own, or (platform) ``?hospital=``."""
    own = session(request).operator.hospital_id
    code = hospital_of(request)  # another hospital's code: "not found"
    if own is not None:
        return own
    if not code:
        raise InvalidInput("hospital", "a platform operator names the hospital (?hospital=)")
    return (await services(request).read(catalogue.hospital, code)).id


def board_context(board: Wallboard, now: datetime) -> dict[str, Any]:
    """What the tiles and the JSON twin show; the longest wait as of ``now``."""
    level = board.service_level
    return {
        "hospital_id": board.hospital_id,
        "day": board.day,
        "as_of": now,
        "waiting": board.waiting,
        "longest_wait_seconds": board.longest_wait_seconds(now),
        "handled": board.handled,
        "abandoned": board.abandoned,
        "answered_in_time": board.answered_in_time,
        "service_level": level,
        "service_level_percent": None if level is None else round(level * 100, 1),
        "service_level_seconds": board.service_level_seconds,
        "bookings_today": sum(n for _channel, n in board.bookings_by_channel),
        "bookings_by_channel": [{"channel": c, "count": n} for c, n in board.bookings_by_channel],
        "agents": [{"state": s, "count": n} for s, n in board.agents],
    }


async def _read(request: web.Request, hospital_id: int) -> Wallboard:
    seconds = request.app[SETTINGS].wallboard_service_level_seconds
    board: Wallboard = await services(request).read(
        reports.wallboard, actor(request), hospital_id, service_level_seconds=seconds
    )
    return board


async def wallboard(request: web.Request) -> Page:
    """The page (and its JSON twin: the numbers now)."""
    hospital_id = await _hospital_id(request)
    board = await _read(request, hospital_id)
    context = board_context(board, services(request).clock.now())
    named = "" if session(request).operator.hospital_id is not None else hospital_of(request)
    return page(request, {**context, "hospital": named or ""})  # a platform operator's choice


async def wallboard_stream(request: web.Request) -> web.StreamResponse | Page:
    """``event: wallboard`` with the rendered tiles whenever the numbers change."""
    hospital_id = await _hospital_id(request)
    if wants_json(request):
        board = await _read(request, hospital_id)
        return Page(board_context(board, services(request).clock.now()))

    async def read() -> Wallboard:  # once per change for every wallboard of the hospital
        return await _read(request, hospital_id)

    page(request, {})  # the tiles word things with o()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a proxy must pass events on at once
        }
    )
    await response.prepare(request)
    base = common_context(request)
    clock = services(request).clock
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_SECONDS
    try:
        await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
        subscribed = live(request).subscribe("wallboard", WALLBOARD_TOPICS, hospital_id, read)
        async with subscribed as feed:
            seen = 0
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        seen, board = await feed.next(seen)
                except TimeoutError:
                    break  # the stream's lifetime is over: the browser reconnects
                html = aiohttp_jinja2.render_string(
                    TILES_TEMPLATE, request, {**base, **board_context(board, clock.now())}
                )
                await response.write(_event("wallboard", html))
    except FeedClosed:
        pass  # the engine is shutting down: the browser reconnects to another
    except (ConnectionResetError, ConnectionError):
        pass  # the supervisor closed the page
    return response


def _event(name: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n".encode()
