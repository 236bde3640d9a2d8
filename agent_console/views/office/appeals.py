"""Appeals against bans (申诉): the open ones listed oldest first, each granted (the ban is
lifted) or rejected with the answer the patient is texted. A platform-wide ban's appeal is
the platform's to decide (a hospital's administrator is refused)."""

from __future__ import annotations

from aiohttp import web

from booking_core.blacklist import DecideAppeal, list_appeals
from booking_core.kernel.errors import InvalidInput
from booking_core.kernel.identity import mask_name

from ...pages import Page
from ..common import actor, form, services
from ..times import localized, zone_of
from .util import office_url, page

DECISIONS = {"grant": True, "reject": False}


async def appeals(request: web.Request) -> Page:
    show_all = request.query.get("all") == "1"
    found = await services(request).read(
        list_appeals, actor(request), status=None if show_all else "open"
    )
    tz = await zone_of(request)
    rows = [{**a, "patient_name": mask_name(a["patient_name"])} for a in found]
    return page(request, {"appeals": localized(rows, tz), "all": show_all})


async def decide(request: web.Request) -> Page:
    appeal_id = int(request.match_info["id"])
    fields = await form(request)
    decision = fields.get("decision", "")
    if decision not in DECISIONS:
        raise InvalidInput("decision", "grant or reject")
    decided = await services(request).handle(
        DecideAppeal(
            appeal_id=appeal_id,
            grant=DECISIONS[decision],
            answer=fields.get("answer", ""),
            actor=actor(request),
        )
    )
    return page(
        request,
        {"appeal_id": decided.id, "status": str(decided.status), "message": "saved"},
        redirect=office_url(request, "appeals"),
    )
