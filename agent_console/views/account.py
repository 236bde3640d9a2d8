"""The signed-in operator's own pages: home, and changing one's own password (修改密码)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from booking_core import operators
from booking_core.operators import Credentials, SessionStage

from ..auth import weak_password_reason
from ..pages import Page
from ..permissions import permissions_of
from .common import actor, form, passwords, services, session, stage_url
from .login import reserve, settle


def operator_context(request: web.Request) -> dict:
    operator = session(request).operator
    return {
        "me": {
            "id": operator.id,
            "username": operator.username,
            "display_name": operator.display_name,
            "roles": list(operator.roles),
            "hospital": operator.hospital_code,
            "permissions": sorted(permissions_of(operator.roles)),
        }
    }


async def home(request: web.Request) -> Page:
    return Page(operator_context(request))


async def password_form(request: web.Request) -> Page:
    current = session(request)
    if current.stage not in (SessionStage.CHANGE_PASSWORD, SessionStage.READY):
        return Page({"stage": current.stage}, redirect=stage_url(request, current.stage))
    return Page({"stage": current.stage})


async def change_password(request: web.Request) -> Page:
    current = session(request)
    if current.stage not in (SessionStage.CHANGE_PASSWORD, SessionStage.READY):
        return Page({"stage": current.stage}, redirect=stage_url(request, current.stage))
    operator = current.operator
    fields = await form(request)
    old, new = fields.get("current_password", ""), fields.get("new_password", "")
    context = {"stage": current.stage}
    reserved = await reserve(request, operator.username, operator.id, operators.LoginStage.PASSWORD)
    if isinstance(reserved, Page):
        return reserved
    creds: Credentials = await services(request).read(operators.credentials_by_id, operator.id)
    if not await asyncio.to_thread(passwords(request).verify, creds.password_hash, old):
        await settle(
            request, reserved, operator.username, operators.LoginOutcome.BAD_PASSWORD, operator.id
        )
        return Page({**context, "error": "password_wrong"}, status=400)
    await settle(
        request,
        reserved,
        operator.username,
        operators.LoginOutcome.CURRENT_PASSWORD_OK,
        operator.id,
    )
    problem = weak_password_reason(new, operator.username)
    if problem is None and new != fields.get("repeat_password", ""):
        problem = "password_mismatch"
    if problem is None and new == old:
        problem = "password_same"
    if problem is not None:
        return Page({**context, "error": problem}, status=400)
    hashed = await asyncio.to_thread(passwords(request).hash, new)
    await services(request).handle(
        operators.ChangePassword(
            operator_id=operator.id,
            password_hash=hashed,
            keep_session=current.token_hash,
            actor=actor(request),
        )
    )
    if current.stage != SessionStage.READY:
        await services(request).handle(
            operators.SetSessionStage(token_hash=current.token_hash, stage=SessionStage.READY)
        )
    return Page(
        {"stage": SessionStage.READY, "message": "password_changed"},
        redirect=stage_url(request, SessionStage.READY),
    )
