"""Incoming calls (来电): the queue of callers the IVR passed to an agent, live over
Server-Sent Events, and taking one (screen pop: the caller's record opens).

The stream is a plain ``web.StreamResponse`` with ``text/event-stream``: the format is a
few lines, so no extra dependency. Each connection reads the queue from the store every
``POLL_SECONDS`` and sends the rendered rows when they changed, so a transfer taken by
any engine process (several behind a load balancer) shows everywhere. A stream lasts at
most ``STREAM_SECONDS``; the browser's EventSource reconnects by itself, and the session
is checked again then (a logged-out agent stops receiving calls; a shutdown is not held).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from booking_core.calls import QueuedCall, TakeCall, TakenCall, call_queue, queued_call
from booking_core.catalogue import hospital_timezone
from booking_core.kernel.identity import mask_name

from ...i18n import DEFAULT_LANGUAGE, language, translate
from ...i18n_calls import reason_text, step_text
from ...pages import Page, common_context, wants_json
from ...sessions import console_path
from ..common import actor, services
from .common import local

POLL_SECONDS = 1.0  # how soon a new transfer shows on every desk
STREAM_SECONDS = 30.0  # then the browser reconnects (and the session is checked again)
RETRY_MILLISECONDS = 1000
ROWS_TEMPLATE = "desk/call_rows.html"


def call_row(call: QueuedCall, tz: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """A call with its IVR context; the patient's name masked, the number masked; the
    step and the reason as the flow names them (``step``, ``reason``) and in words
    (``step_text``, ``reason_text``: what a screen shows)."""
    ctx = call.context
    return {
        "call_sid": call.call_sid,
        "caller": call.caller_masked,
        "patient_id": call.patient_id or ctx.get("patient_id"),
        "patient_name": mask_name(str(ctx.get("patient_name") or "")),
        "step": ctx.get("step", ""),
        "digits": ctx.get("digits", ""),
        "reason": ctx.get("reason", ""),
        "step_text": step_text(lang, ctx.get("step")),
        "reason_text": reason_text(lang, ctx.get("reason")),
        "lang": ctx.get("lang", ""),
        "department": ctx.get("department", ""),
        "doctor": ctx.get("doctor", ""),
        "day": ctx.get("day", ""),
        "transferred_at": local(call.transferred_at, tz),
        "taken_by": call.taken_by,
    }


async def _queue(request: web.Request) -> list[dict[str, Any]]:
    who = actor(request)
    tz = await services(request).read(hospital_timezone, who.hospital_id)
    found = await services(request).read(call_queue, who)
    return [call_row(c, tz, language(request)) for c in found]


async def desk(request: web.Request) -> Page:
    """The desk: waiting callers (live) and the patient search box."""
    return Page({"calls": await _queue(request), "q": "", "by": "auto"})


def _event(name: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n".encode()


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def call_stream(request: web.Request) -> web.StreamResponse | Page:
    """``event: calls`` with the queue's rendered rows whenever it changes (its JSON twin:
    the queue now)."""
    calls = await _queue(request)
    if wants_json(request):
        return Page({"calls": calls})
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a proxy must pass events on at once
        }
    )
    await response.prepare(request)
    base = common_context(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_SECONDS
    last = None
    try:
        await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
        while not _gone(request):
            html = aiohttp_jinja2.render_string(ROWS_TEMPLATE, request, {**base, "calls": calls})
            if html != last:
                await response.write(_event("calls", html))
                last = html
            if loop.time() >= deadline:
                break
            await asyncio.sleep(POLL_SECONDS)
            calls = await _queue(request)
    except (ConnectionResetError, ConnectionError):
        pass  # the agent closed the tab
    return response


async def call_page(request: web.Request) -> Page:
    """One transferred call's context, for a caller no patient was found for."""
    who = actor(request)
    call: QueuedCall = await services(request).read(queued_call, request.match_info["sid"], who)
    tz = await services(request).read(hospital_timezone, who.hospital_id)
    row = call_row(call, tz, language(request))
    digits = str(row["digits"])
    return Page({"call": row, "q": digits if len(digits) >= 4 else "", "by": "auto"})


async def take(request: web.Request) -> Page:
    """Take a waiting caller; the winner goes to the caller's record (screen pop)."""
    who = actor(request)
    sid = request.match_info["sid"]
    taken: TakenCall = await services(request).handle(TakeCall(call_sid=sid, actor=who))
    tz = await services(request).read(hospital_timezone, who.hospital_id)
    row = call_row(taken.call, tz, language(request))
    if not taken.won:
        message = translate(language(request), "call_taken", name=taken.taken_by)
        context = {"call": row, "q": "", "by": "auto", "error": "call_taken", "message": message}
        return Page(context, status=409, template="desk/call.html")
    base = console_path(request)
    if row["patient_id"]:
        target = f"{base}desk/patients/{row['patient_id']}?call={sid}"
    else:
        target = f"{base}desk/calls/{sid}"
    return Page({"call": row, "taken": True}, redirect=target)
