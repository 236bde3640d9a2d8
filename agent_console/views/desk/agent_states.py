"""The agent's state on the desk (坐席状态) and the wrap-up form (话后处理).

Every desk page shows the agent's state and how long they have been in it (the header's
switcher: available, break, offline). Taking a caller makes the agent busy; "end the call"
puts them in wrap-up for at most ``agent_wrap_up_seconds``; the wrap-up form (the call's
disposition and a short summary, 来电小结) makes them available again. The summary may
name the patient: it is never logged, and the JSON twin of the form does not echo it.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core.calls import (
    SETTABLE_STATES,
    SUMMARY_MAX_CHARS,
    AgentState,
    AgentStatus,
    Disposition,
    FinishAgentCall,
    SetAgentState,
    WrapUpCall,
    agent_status,
    queued_call,
)
from booking_core.kernel.errors import InvalidInput, NotFound
from booking_core.operators import SessionStage

from ...i18n import language, translate
from ...i18n_agents import state_words
from ...keys import AGENT_STATE, SESSION
from ...pages import Page, wants_json
from ...permissions import Permission, permissions_of
from ...sessions import console_path
from ..common import actor, form, services, settings
from ..times import zone_of

DISPOSITIONS = tuple(Disposition)


def agent_row(status: AgentStatus, now_epoch: float, tz: ZoneInfo, lang: str) -> dict[str, Any]:
    """The agent's state for a screen: in words, since when (local time) and for how long."""
    offline_forever = status.state is AgentState.OFFLINE and status.since.timestamp() == 0
    since = "" if offline_forever else status.since.astimezone(tz).strftime("%H:%M")
    minutes = 0 if offline_forever else max(int(now_epoch - status.since.timestamp()) // 60, 0)
    until = status.wrap_up_until
    return {
        "state": str(status.state),
        "state_name": state_words(lang, status.state),
        "since": since,
        "minutes": minutes,
        "call_sid": status.call_sid,
        "wrap_up_until": until.astimezone(tz).strftime("%H:%M:%S") if until else "",
        "available": status.available,
        "choices": [str(s) for s in AgentState if s in SETTABLE_STATES],
    }


async def agent_of(request: web.Request) -> dict[str, Any]:
    """The signed-in agent's state as :func:`agent_row` gives it."""
    status = await services(request).read(agent_status, actor(request))
    now = services(request).clock.now().timestamp()
    return agent_row(status, now, await zone_of(request), language(request))


def why_not(request: web.Request, agent: dict[str, Any]) -> str:
    """Why an agent who is not available is offered no caller ("" when available)."""
    if agent["available"]:
        return ""
    return translate(language(request), "agent_why_not_" + agent["state"])


def _wants_header(request: web.Request) -> bool:
    current = request.get(SESSION)
    return not (
        "/desk/" not in request.path + "/"
        or request.path.endswith((".json", "/stream"))
        or current is None
        or current.stage != SessionStage.READY
        or Permission.CALLS_TAKE not in permissions_of(current.operator.roles)
        or wants_json(request)
    )


@web.middleware
async def header_state_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """The agent's state for the switcher in the header of every desk page an agent opens
    in a browser (``agent`` in every template's context; not read for other pages, for JSON
    or for the event stream). A view that gives ``agent`` itself wins."""
    if _wants_header(request):
        with suppress(NotFound):  # no operator row behind the session any more: no switcher
            request[AGENT_STATE] = await agent_of(request)
    return await handler(request)


async def state_page(request: web.Request) -> Page:
    """The agent's state now (the switcher's JSON twin: ``/desk/state.json``)."""
    agent = await agent_of(request)
    return Page({"agent": agent, "why_not": why_not(request, agent)})


POST_ONLY = ("/take", "/finish", "/book", "/reschedule", "/cancel", "/reveal", "/state")
"""Paths a page can be the answer to a form on, but that cannot be opened again."""


def _back(request: web.Request, fallback: str) -> str:
    """The desk page the switcher was used on (a console page one can open), else
    ``fallback``."""
    referer = request.headers.get("Referer", "")
    path = "/" + referer.split("://", 1)[-1].partition("/")[2] if "://" in referer else ""
    opens = path.partition("?")[0].rstrip("/")
    desk = path.startswith(console_path(request) + "desk") and "//" not in path
    return path if desk and not opens.endswith(POST_ONLY) else fallback


async def set_state(request: web.Request) -> Page:
    """The switcher: available, break (小休) or offline."""
    fields = await form(request)
    try:
        wanted = AgentState(fields.get("state", ""))
    except ValueError as err:
        raise InvalidInput("state", "available, break or offline") from err
    status = await services(request).handle(SetAgentState(actor=actor(request), state=wanted))
    now = services(request).clock.now().timestamp()
    agent = agent_row(status, now, await zone_of(request), language(request))
    return Page({"agent": agent}, redirect=_back(request, console_path(request) + "desk"))


async def finish(request: web.Request) -> Page:
    """ "End the call": busy → wrap-up (for at most ``agent_wrap_up_seconds``); the browser
    goes to the wrap-up form."""
    sid = request.match_info["sid"]
    status = await services(request).handle(
        FinishAgentCall(
            actor=actor(request),
            call_sid=sid,
            wrap_up_seconds=settings(request).agent_wrap_up_seconds,
        )
    )
    now = services(request).clock.now().timestamp()
    agent = agent_row(status, now, await zone_of(request), language(request))
    target = f"{console_path(request)}desk/calls/{sid}/wrap-up"
    return Page({"agent": agent}, redirect=target)


def _form_context(request: web.Request, call_row: dict[str, Any]) -> dict[str, Any]:
    return {
        "call": call_row,
        "dispositions": [str(d) for d in DISPOSITIONS],
        "summary_max": SUMMARY_MAX_CHARS,
        "disposition": "",
        "summary": "",
    }


async def _call_row(request: web.Request, sid: str) -> dict[str, Any]:
    call = await services(request).read(queued_call, sid, actor(request))
    return {"call_sid": call.call_sid, "caller": call.caller_masked, "patient_id": call.patient_id}


async def wrap_up_form(request: web.Request) -> Page:
    """The wrap-up form of a call: its disposition and a short summary."""
    sid = request.match_info["sid"]
    return Page(_form_context(request, await _call_row(request, sid)))


async def wrap_up(request: web.Request) -> Page:
    """Store the wrap-up with the call; the agent is available again. A bad field shows the
    form again with what was typed (the summary is not echoed in the JSON twin)."""
    sid = request.match_info["sid"]
    fields = await form(request)
    summary = fields.get("summary", "")
    lang = language(request)
    try:
        disposition = Disposition(fields.get("disposition", ""))
    except ValueError:
        disposition = None
    if disposition is None or len(summary.strip()) > SUMMARY_MAX_CHARS:
        context = _form_context(request, await _call_row(request, sid))
        field = "disposition" if disposition is None else "summary"
        reason = (
            "one of the listed outcomes"
            if disposition is None
            else (f"at most {SUMMARY_MAX_CHARS} characters")
        )
        message = translate(lang, "invalid_input", field=field, reason=reason)
        context.update({"error": "invalid_input", "field": field, "message": message})
        if not wants_json(request):
            context.update({"disposition": fields.get("disposition", ""), "summary": summary})
        return Page(context, status=400)
    status = await services(request).handle(
        WrapUpCall(actor=actor(request), call_sid=sid, disposition=disposition, summary=summary)
    )
    now = services(request).clock.now().timestamp()
    agent = agent_row(status, now, await zone_of(request), lang)
    return Page(
        {"agent": agent, "disposition": str(disposition), "done": True},
        redirect=console_path(request) + "desk",
    )
