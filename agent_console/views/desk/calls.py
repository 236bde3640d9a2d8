"""Incoming calls (来电): the queue of callers the IVR passed to an agent, live over
Server-Sent Events, and taking one (screen pop: the caller's record opens).

Only an available agent is offered callers (坐席置闲): to an agent on a call, in wrap-up,
on a break or offline the list says why it is empty instead, beside the state switcher
(:mod:`.agent_states`); taking a caller when not available is refused in words.

The stream is a plain ``web.StreamResponse`` with ``text/event-stream``: the format is a
few lines, so no extra dependency. Every open desk of a hospital shares one reader
(:mod:`agent_console.live`): it reads the queue when the store signals that the hospital's
calls changed (a transfer, a take, a hang-up, by any engine process: PostgreSQL
LISTEN/NOTIFY) and every ``REFRESH_SECONDS`` in case a signal was lost, and each
connection sends the rows it renders when they changed. A stream lasts at most
``STREAM_SECONDS``; the browser's EventSource reconnects by itself, and the session is
checked again then (a logged-out agent stops receiving calls; a shutdown is not held).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from booking_core.calls import (
    AgentStatus,
    QueuedCall,
    TakeCall,
    TakenCall,
    agent_states,
    call_queue,
    queued_call,
)
from booking_core.catalogue import hospital_timezone
from booking_core.kernel.actor import Actor
from booking_core.kernel.errors import AgentNotAvailable
from booking_core.kernel.identity import mask_name
from booking_core.kernel.unit import Tx, Unit

from ...i18n import DEFAULT_LANGUAGE, language, translate
from ...i18n_agents import state_words
from ...i18n_calls import reason_text, step_text
from ...live import FeedClosed, live
from ...pages import Page, common_context, wants_json
from ...refusals import local
from ...sessions import console_path
from ..common import actor, services, settings
from ..times import zone_of
from .agent_states import agent_of, agent_row, why_not

LIVE_TOPICS = frozenset({"call", "agent"})  # the store's change topics a desk shows
STREAM_SECONDS = 30.0  # then the browser reconnects (and the session is checked again)
RETRY_MILLISECONDS = 1000
ROWS_TEMPLATE = "desk/call_rows.html"
STATE_TEMPLATE = "desk/_state.html"  # the header's agent state, sent when it changes


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
        # 回拨: the caller hung up to be called back; the agent's softphone dials them
        "callback": call.callback,
        "callback_number": call.callback_masked,
        "callback_attempts": call.callback_attempts,
    }


def _offered(
    request: web.Request, agent: dict[str, Any], found: list[QueuedCall], tz: str
) -> dict[str, Any]:
    """What a desk shows its agent: the waiting callers (in the agent's words) when they
    are available, else none and why not."""
    if not agent["available"]:
        return {"calls": [], "agent": agent, "why_not": why_not(request, agent)}
    rows = [call_row(c, tz, language(request)) for c in found]
    return {"calls": rows, "agent": agent, "why_not": ""}


async def _queue(request: web.Request) -> dict[str, Any]:
    """The waiting callers if the agent is available, else none and why not."""
    agent = await agent_of(request)
    if not agent["available"]:  # nothing to read
        return _offered(request, agent, [], "")
    who = actor(request)
    tz = await services(request).read(hospital_timezone, who.hospital_id)
    return _offered(request, agent, await services(request).read(call_queue, who), tz)


async def desk(request: web.Request) -> Page:
    """The desk: waiting callers (live) and the patient search box."""
    return Page({**(await _queue(request)), "q": "", "by": "auto"})


def _event(name: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n".encode()


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _queue_now(tx: Tx, who: Actor) -> Unit[tuple[str, list[QueuedCall], list[AgentStatus]]]:
    """The hospital's zone, its queue and its agents' states, in one read (the shared
    reader's: each desk then shows the callers only to an available agent)."""
    tz = yield from hospital_timezone(tx, who.hospital_id)
    queue = yield from call_queue(tx, who)
    return tz, queue, (yield from agent_states(tx, who))


async def call_stream(request: web.Request) -> web.StreamResponse | Page:
    """``event: calls`` with the queue's rendered rows whenever it changes (its JSON twin:
    the queue now)."""
    if wants_json(request):
        return Page(await _queue(request))
    who = actor(request)
    reader = services(request)
    zone = await zone_of(request)
    lang = language(request)

    async def read() -> dict[str, Any]:  # once per change for every desk of the hospital
        tz, found, agents = await reader.read(_queue_now, who)
        return {"tz": tz, "calls": found, "agents": {a.username: a for a in agents}}

    async def offered(shared: dict[str, Any]) -> dict[str, Any]:
        """This agent's view of the shared read: the callers only when available."""
        status = shared["agents"].get(who.name)
        if status is None:  # not an agent-role operator: their own state, read alone
            agent = await agent_of(request)
        else:
            agent = agent_row(status, reader.clock.now().timestamp(), zone, lang)
        return _offered(request, agent, shared["calls"], shared["tz"])

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
    last_state = None
    try:
        await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
        async with live(request).subscribe("calls", LIVE_TOPICS, who.hospital_id, read) as feed:
            seen = 0
            while not _gone(request):
                try:
                    async with asyncio.timeout_at(deadline):
                        seen, shared = await feed.next(seen)
                except TimeoutError:
                    break  # the stream's lifetime is over: the browser reconnects
                queue = await offered(shared)
                html = aiohttp_jinja2.render_string(ROWS_TEMPLATE, request, {**base, **queue})
                if html != last:
                    await response.write(_event("calls", html))
                    last = html
                state = aiohttp_jinja2.render_string(STATE_TEMPLATE, request, {**base, **queue})
                if state != last_state:  # the header's state, live (a take on the softphone)
                    await response.write(_event("agent", state))
                    last_state = state
    except FeedClosed:
        pass  # the engine is shutting down: the browser reconnects to another
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
    try:
        taken: TakenCall = await services(request).handle(
            TakeCall(
                call_sid=sid, actor=who, wrap_up_seconds=settings(request).agent_wrap_up_seconds
            )
        )
    except AgentNotAvailable as err:  # on a break, in wrap-up, offline, on another call
        lang = language(request)
        state = state_words(lang, str(err.params["state"]))
        message = translate(lang, "agent_not_available", state=state)
        call = await services(request).read(queued_call, sid, who)
        tz = await services(request).read(hospital_timezone, who.hospital_id)
        context = {
            "call": call_row(call, tz, lang),
            "q": "",
            "by": "auto",
            "error": "agent_not_available",
            "state": str(err.params["state"]),
            "message": message,
        }
        return Page(context, status=409, template="desk/call.html")
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
