"""Operators and roles (操作员与角色): list, add, edit, disable, assign roles, reset a
password. A hospital admin sees and manages only their hospital's operators, and gives
only roles whose permissions they hold themselves."""

from __future__ import annotations

import asyncio

from aiohttp import web

from booking_core import operators
from booking_core.kernel.errors import Forbidden, InvalidInput
from booking_core.operators import Operator

from ..auth import temporary_password
from ..pages import Page
from ..permissions import may_grant, permissions_of
from ..sessions import console_path as _console_path
from .common import actor, form, passwords, services, session


def operator_row(op: Operator) -> dict:
    return {
        "id": op.id,
        "username": op.username,
        "display_name": op.display_name,
        "roles": list(op.roles),
        "hospital": op.hospital_code,
        "disabled": op.disabled,
        "must_change_password": op.must_change_password,
        "totp_enrolled": op.totp_enrolled,
        "created_at": op.created_at,
    }


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _roles(fields: dict[str, str]) -> tuple[str, ...]:
    return tuple(r.strip() for r in fields.get("roles", "").split(",") if r.strip())


def _check_grant(request: web.Request, roles: tuple[str, ...]) -> None:
    if not may_grant(permissions_of(session(request).operator.roles), roles):
        raise Forbidden(action="grant_roles")


async def _managed(request: web.Request) -> Operator:
    """The operator the URL names, if the acting operator may manage them (else 404/403)."""
    target: Operator = await services(request).read(
        operators.get_operator, _id(request), actor(request)
    )
    _check_grant(request, target.roles)
    return target


def _detail_url(request: web.Request, operator_id: int) -> str:
    return f"{_console_path(request)}operators/{operator_id}"


async def list_operators(request: web.Request) -> Page:
    found = await services(request).read(operators.list_operators, actor(request))
    return Page(
        {
            "operators": [operator_row(op) for op in found],
            "roles": list(operators.Role),
            "own_hospital": session(request).operator.hospital_code,
        }
    )


async def add_operator(request: web.Request) -> Page:
    fields = await form(request)
    roles = _roles(fields)
    _check_grant(request, roles)
    me = session(request).operator
    hospital = me.hospital_code if me.hospital_id is not None else fields.get("hospital") or None
    temporary = temporary_password()
    hashed = await asyncio.to_thread(passwords(request).hash, temporary)
    operator_id = await services(request).handle(
        operators.AddOperator(
            username=fields.get("username", ""),
            display_name=fields.get("display_name", ""),
            password_hash=hashed,
            roles=roles,
            hospital_code=hospital,
            must_change_password=True,
            actor=actor(request),
        )
    )
    created = await services(request).read(operators.get_operator, operator_id, actor(request))
    return Page(
        {"operator": operator_row(created), "temporary_password": temporary},
        status=201,
        template="temporary_password.html",
    )


async def operator_detail(request: web.Request) -> Page:
    found = await services(request).read(operators.get_operator, _id(request), actor(request))
    return Page({"operator": operator_row(found), "roles": list(operators.Role)})


async def edit_operator(request: web.Request) -> Page:
    target = await _managed(request)
    fields = await form(request)
    await services(request).handle(
        operators.EditOperator(
            operator_id=target.id,
            display_name=fields.get("display_name", ""),
            actor=actor(request),
        )
    )
    return await _saved(request, target.id)


async def assign_roles(request: web.Request) -> Page:
    target = await _managed(request)
    roles = _roles(await form(request))
    _check_grant(request, roles)
    await services(request).handle(
        operators.AssignRoles(operator_id=target.id, roles=roles, actor=actor(request))
    )
    return await _saved(request, target.id)


async def _set_disabled(request: web.Request, disabled: bool) -> Page:
    target = await _managed(request)
    await services(request).handle(
        operators.SetOperatorDisabled(
            operator_id=target.id, disabled=disabled, actor=actor(request)
        )
    )
    return await _saved(request, target.id)


async def disable_operator(request: web.Request) -> Page:
    return await _set_disabled(request, True)


async def enable_operator(request: web.Request) -> Page:
    return await _set_disabled(request, False)


async def reset_password(request: web.Request) -> Page:
    target = await _managed(request)
    if target.id == session(request).operator.id:
        raise InvalidInput("operator", "change your own password instead")
    temporary = temporary_password()
    hashed = await asyncio.to_thread(passwords(request).hash, temporary)
    await services(request).handle(
        operators.ResetPassword(operator_id=target.id, password_hash=hashed, actor=actor(request))
    )
    found = await services(request).read(operators.get_operator, target.id, actor(request))
    return Page(
        {"operator": operator_row(found), "temporary_password": temporary},
        template="temporary_password.html",
    )


async def _saved(request: web.Request, operator_id: int) -> Page:
    found = await services(request).read(operators.get_operator, operator_id, actor(request))
    return Page(
        {"operator": operator_row(found), "message": "saved"},
        redirect=_detail_url(request, operator_id),
    )
