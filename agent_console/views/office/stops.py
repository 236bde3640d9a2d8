"""Doctor stop (停诊): pick a session, choose move or cancel, preview who is affected,
confirm once. The core refuses to stop a session twice, and the form carries the number
of bookings the preview showed: a confirmation that no longer matches is refused too."""

from __future__ import annotations

from aiohttp import web

from booking_core import bookings
from booking_core.kernel.errors import InvalidInput

from ...pages import Page
from ..common import actor, form, services
from ..records import booking_row
from .rows import session_row
from .util import int_param, office_url, page


def _session_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def stop_form(request: web.Request) -> Page:
    preview = await services(request).read(
        bookings.stop_preview, _session_id(request), actor(request)
    )
    return page(
        request,
        {
            "session": session_row(preview.session),
            "affected": [booking_row(v) for v in preview.affected],
            "affected_count": len(preview.affected),
            "substitutes": [session_row(s) for s in preview.substitutes],
        },
    )


async def stop(request: web.Request) -> Page:
    session_id = _session_id(request)
    fields = await form(request)
    mode = fields.get("mode", "")
    target = int_param(fields.get("target_session_id"), "target_session_id", 0) or None
    expected = int_param(fields.get("affected_count"), "affected_count", -1)
    if expected >= 0:
        preview = await services(request).read(bookings.stop_preview, session_id, actor(request))
        if preview.session.status == "open" and expected != len(preview.affected):
            raise InvalidInput("affected_count", "the bookings changed since the preview")
    summary = await services(request).handle(
        bookings.StopSession(
            session_id=session_id,
            mode=mode,
            target_session_id=target if mode == "move" else None,
            reason=fields.get("reason", "").strip(),
            actor=actor(request),
        )
    )
    return page(
        request,
        {"stopped": summary, "message": "session_stopped"},
        redirect=office_url(request, f"sessions/{session_id}/stop"),
    )
