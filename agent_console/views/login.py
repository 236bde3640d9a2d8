"""Log-in (登录): password, then a one-time code for admins, then a new password when the
current one is temporary; and logout. Every attempt is recorded and audited.

An attempt is reserved before its password or code is checked (``ReserveLoginAttempt``:
the lockout judged and a pending attempt written in one write), then settled with what the
check found. A parallel burst is therefore judged one attempt after the other.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web

from booking_core import calls, operators
from booking_core.kernel.actor import Actor, Channel
from booking_core.operators import Credentials, Operator, SessionStage, Verdict

from .. import sessions
from ..auth import judge, new_totp_secret, totp_step, totp_uri
from ..csrf import token_for_form
from ..keys import SESSION
from ..pages import Page
from ..permissions import Permission, needs_totp, permissions_of
from .common import form, passwords, services, session, settings, stage_url
from .times import default_zone

TOTP_CONTEXT = "totp_secret"  # associated data binding the encrypted secret to its column


def _audit_actor(request: web.Request) -> Actor:
    """Who tries to log in: known only by the address until the password is right."""
    return Actor("login", sessions.source_of(request), None, Channel.AGENT)


CHECK_IN_ONE_WRITE = True
"""Test-only negative control: False brings back the check-then-act this replaced (the
history read and judged, the password checked, then the outcome written)."""


async def settle(
    request: web.Request, reserved: Verdict, username: str, outcome: str, operator_id: int | None
) -> None:
    if reserved.attempt_id is None:  # the negative control: nothing was reserved
        await services(request).handle(
            operators.RecordLoginAttempt(
                username=username,
                source=sessions.source_of(request),
                outcome=outcome,
                evaluated=True,
                operator_id=operator_id,
                actor=_audit_actor(request),
            )
        )
        return
    await services(request).handle(
        operators.SettleLoginAttempt(
            attempt_id=reserved.attempt_id,
            username=username,
            source=sessions.source_of(request),
            outcome=outcome,
            operator_id=operator_id,
            actor=_audit_actor(request),
        )
    )


async def reserve(
    request: web.Request, username: str, operator_id: int | None, stage: str
) -> Verdict | Page:
    """The reserved attempt (waited for, when its source is slowed), or a page saying "try
    later" when the lockout forbids evaluating it."""
    policy = settings(request).policy
    source = sessions.source_of(request)
    command = operators.ReserveLoginAttempt(
        username=username,
        source=source,
        stage=stage,
        policy=policy,
        operator_id=operator_id,
        actor=_audit_actor(request),
    )
    if CHECK_IN_ONE_WRITE:
        verdict: Verdict = await services(request).handle(command)
    else:
        verdict = await _check_then_act(request, command)
    if verdict.allowed:
        if verdict.delay_seconds:
            await asyncio.sleep(verdict.delay_seconds)
        return verdict
    assert verdict.retry_at is not None
    now = sessions.now_epoch(request)
    retry_after = str(max(1, verdict.retry_at - now))
    # the engine's zone, never the operator's hospital's: a zone that depended on the
    # username would tell whether that username exists
    retry_at = datetime.fromtimestamp(verdict.retry_at, default_zone(request))
    return Page(
        {"error": "login_locked", "retry_at": retry_at, "username": username},
        status=429,
        after=[lambda r: r.headers.__setitem__("Retry-After", retry_after)],
    )


async def _check_then_act(request: web.Request, command: operators.ReserveLoginAttempt) -> Verdict:
    assert command.policy is not None
    policy, now = command.policy, sessions.now_epoch(request)
    history = await services(request).read(
        operators.login_history,
        command.username,
        command.source,
        streak_since=policy.streak_since(now),
        source_since=policy.source_since(now),
        in_flight_since=now - policy.in_flight_seconds,
    )
    verdict = judge(history, now, policy)
    if not verdict.allowed:
        assert verdict.outcome is not None
        await services(request).handle(
            operators.RecordLoginAttempt(
                username=command.username,
                source=command.source,
                outcome=verdict.outcome,
                evaluated=False,
                operator_id=command.operator_id,
                actor=command.actor,
            )
        )
        return verdict
    return verdict


def _next_stage(operator: Operator, totp_done: bool) -> str:
    if not totp_done and needs_totp(operator.roles):
        return SessionStage.TOTP if operator.totp_enrolled else SessionStage.TOTP_ENROL
    if operator.must_change_password:
        return SessionStage.CHANGE_PASSWORD
    return SessionStage.READY


async def login_form(request: web.Request) -> Page:
    found = request.get(SESSION)
    if found is not None:
        return Page({"stage": found.stage}, redirect=stage_url(request, found.stage))
    return Page({"csrf_token": token_for_form(request)})


async def login(request: web.Request) -> Page:
    fields = await form(request)
    username = fields.get("username", "").strip().lower()[:64]
    password = fields.get("password", "")
    creds: Credentials | None = None
    if username:
        creds = await services(request).read(operators.credentials, username)
    operator_id = creds.operator.id if creds else None
    reserved = await reserve(request, username, operator_id, operators.LoginStage.PASSWORD)
    if isinstance(reserved, Page):
        return reserved
    hashed = creds.password_hash if creds else None
    right = await asyncio.to_thread(passwords(request).verify, hashed, password)
    if not right or creds is None:
        await settle(request, reserved, username, operators.LoginOutcome.BAD_PASSWORD, operator_id)
        return Page({"error": "login_failed", "username": username}, status=401)
    if creds.operator.disabled:
        await settle(request, reserved, username, operators.LoginOutcome.DISABLED, operator_id)
        return Page({"error": "login_disabled", "username": username}, status=403)
    await settle(request, reserved, username, operators.LoginOutcome.OK, operator_id)
    previous = request.get(SESSION)
    if previous is not None:  # one browser, one session: the old one ends here
        await services(request).handle(
            operators.CloseConsoleSession(
                token_hash=previous.token_hash, actor=sessions.actor_of(previous.operator)
            )
        )
    stage = _next_stage(creds.operator, totp_done=False)
    pending = None
    if stage == SessionStage.TOTP_ENROL:
        pending = services(request).cipher.encrypt(new_totp_secret(), context=TOTP_CONTEXT)
    token, csrf = await sessions.start(request, creds.operator, stage, pending)

    def set_session_cookie(response: web.StreamResponse) -> None:
        sessions.set_cookie(request, response, sessions.SESSION_COOKIE, token)

    return Page(
        {"stage": stage, "csrf_token": csrf},
        redirect=stage_url(request, stage),
        after=[set_session_cookie],
    )


def _pending_secret(request: web.Request) -> str | None:
    enc = session(request).pending_totp_enc
    return services(request).cipher.decrypt(enc, context=TOTP_CONTEXT) if enc else None


async def totp_form(request: web.Request) -> Page:
    current = session(request)
    if current.stage not in (SessionStage.TOTP, SessionStage.TOTP_ENROL):
        return Page({"stage": current.stage}, redirect=stage_url(request, current.stage))
    context: dict = {"stage": current.stage}
    if current.stage == SessionStage.TOTP_ENROL:
        secret = _pending_secret(request)
        assert secret is not None
        context["secret"] = secret
        context["uri"] = totp_uri(secret, current.operator.username)
    return Page(context)


async def totp(request: web.Request) -> Page:
    current = session(request)
    if current.stage not in (SessionStage.TOTP, SessionStage.TOTP_ENROL):
        return Page({"stage": current.stage}, redirect=stage_url(request, current.stage))
    operator = current.operator
    reserved = await reserve(request, operator.username, operator.id, operators.LoginStage.TOTP)
    if isinstance(reserved, Page):
        return reserved
    code = (await form(request)).get("code", "")
    creds: Credentials = await services(request).read(operators.credentials_by_id, operator.id)
    enrolling = current.stage == SessionStage.TOTP_ENROL
    if enrolling:
        secret = _pending_secret(request)
    else:
        enc = creds.totp_secret_enc
        secret = services(request).cipher.decrypt(enc, context=TOTP_CONTEXT) if enc else None
    step = totp_step(secret, code, sessions.now_epoch(request)) if secret else None
    accepted = step is not None
    if step is not None and enrolling:
        await services(request).handle(
            operators.EnrolTotp(
                operator_id=operator.id,
                secret_enc=current.pending_totp_enc or "",
                step=step,
                actor=sessions.actor_of(operator),
            )
        )
    elif step is not None:
        accepted = await services(request).handle(
            operators.UseTotpStep(operator_id=operator.id, step=step)
        )
    if not accepted:
        await settle(
            request, reserved, operator.username, operators.LoginOutcome.BAD_TOTP, operator.id
        )
        again = (await totp_form(request)).context
        return Page({**again, "error": "totp_failed"}, status=401)
    await settle(request, reserved, operator.username, operators.LoginOutcome.TOTP_OK, operator.id)
    stage = _next_stage(operator, totp_done=True)
    await services(request).handle(
        operators.SetSessionStage(token_hash=current.token_hash, stage=stage)
    )
    return Page({"stage": stage}, redirect=stage_url(request, stage))


async def logout(request: web.Request) -> Page:
    current = session(request)
    if Permission.CALLS_TAKE in permissions_of(current.operator.roles):  # an agent: offline
        await services(request).handle(
            calls.SetAgentState(
                actor=sessions.actor_of(current.operator), state=calls.AgentState.OFFLINE
            )
        )
    await services(request).handle(
        operators.CloseConsoleSession(
            token_hash=current.token_hash, actor=sessions.actor_of(current.operator)
        )
    )

    def forget(response: web.StreamResponse) -> None:
        sessions.clear_cookie(request, response, sessions.SESSION_COOKIE)

    return Page(
        {"stage": None}, redirect=stage_url(request, SessionStage.READY) + "login", after=[forget]
    )
