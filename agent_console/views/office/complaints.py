"""Complaints (投诉): list, detail with the IVR recording, assign, reply. A reply tells the
caller the outcome by text (a ``complaint.replied`` event through the outbox)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web

from booking_core.complaints import (
    AssignComplaint,
    ComplaintStatus,
    ReplyToComplaint,
    complaint_history,
)
from booking_core.complaints import complaint as find_complaint
from booking_core.complaints import complaints as list_complaints
from booking_core.operators import list_operators

from ...pages import Page
from ..common import actor, form, services
from ..times import localized, zone_of
from .util import office_url, page

TWILIO_RECORDING_PATH = re.compile(
    r"/2010-04-01/Accounts/AC[0-9a-fA-F]{1,64}/Recordings/RE[0-9a-fA-F]{1,64}(\.(mp3|wav))?"
)
"""The path of a recording on Twilio's API (the IVR's recording callback gives it)."""


def twilio_recording(url: str | None) -> str | None:
    """The URL if it is a Twilio recording (``https://api.twilio.com/…/Recordings/RE…``),
    else None: the page links only to that, never to a ``javascript:`` or another host."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme != "https"
        or parts.netloc != "api.twilio.com"  # no user, password or port smuggled in
        or port is not None
        or not TWILIO_RECORDING_PATH.fullmatch(parts.path)
    ):
        return None
    return parts.geturl()


async def complaints(request: web.Request) -> Page:
    status = request.query.get("status") or None
    found = await services(request).read(list_complaints, actor(request), status=status)
    tz = await zone_of(request)
    return page(request, {"complaints": localized(found, tz), "status": status or ""})


async def complaint(request: web.Request) -> Page:
    tracking_no = request.match_info["no"]
    who = actor(request)
    found = await services(request).read(find_complaint, tracking_no, who)
    history = await services(request).read(complaint_history, tracking_no)
    operators = await services(request).read(list_operators, who)
    tz = await zone_of(request)
    context = {
        "complaint": {
            "tracking_no": found.tracking_no,
            "status": found.status,
            "channel": found.channel,
            "call_sid": found.call_sid,
            "caller": found.caller_masked,
            "patient_id": found.patient_id,
            "recording_url": twilio_recording(found.recording_url),
            "recording_seconds": found.recording_seconds,
            "resolution": found.resolution,
            "created_at": found.created_at,
            "updated_at": found.updated_at,
            "assignee": found.assignee,
        },
        "history": history,
        "operators": [op.username for op in operators if not op.disabled],
    }
    return page(request, localized(context, tz))


async def assign(request: web.Request) -> Page:
    tracking_no = request.match_info["no"]
    fields = await form(request)
    assignee = await services(request).handle(
        AssignComplaint(
            tracking_no=tracking_no, assignee=fields.get("assignee", ""), actor=actor(request)
        )
    )
    return page(
        request,
        {"assignee": assignee, "message": "saved"},
        redirect=office_url(request, f"complaints/{tracking_no}"),
    )


async def reply(request: web.Request) -> Page:
    tracking_no = request.match_info["no"]
    fields = await form(request)
    status = await services(request).handle(
        ReplyToComplaint(
            tracking_no=tracking_no,
            reply=fields.get("reply", ""),
            status=fields.get("status") or ComplaintStatus.RESOLVED,
            actor=actor(request),
        )
    )
    return page(
        request,
        {"status": status, "message": "saved"},
        redirect=office_url(request, f"complaints/{tracking_no}"),
    )
