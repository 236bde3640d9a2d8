"""Helpers for the console tests: a client per operator over one set of services, operators
made through the core, one-time codes, and reads of what the store kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pyotp
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from agent_console.auth import Passwords
from agent_console.keys import ConsoleSettings
from agent_console.web import make_app
from booking_core import calls, catalogue, operators
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.clock import FrozenClock
from booking_core.kernel.errors import NotFound
from booking_core.kernel.unit import rows, to_epoch
from tests.support.world import World, first_slot, phone

# argon2id still, but cheap: the tests hash and verify hundreds of times
PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
GOOD_PASSWORD = "correct horse battery"
JSON = {"Accept": "application/json"}


def console_settings(**changes: Any) -> ConsoleSettings:
    return ConsoleSettings(passwords=PASSWORDS, **changes)


def root_app(services: BookingServices, settings: ConsoleSettings | None = None) -> web.Application:
    root = web.Application()
    root.add_subapp("/console/", make_app(services, settings or console_settings()))
    return root


@dataclass
class Console:
    """One browser: its own cookies, talking JSON to the console."""

    client: TestClient
    services: BookingServices
    clock: FrozenClock
    csrf_token: str = ""

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {**JSON, **kwargs.pop("headers", {})}
        async with self.client.get("/console" + path, headers=headers, **kwargs) as resp:
            return resp.status, await resp.json()

    async def post(
        self, path: str, data: dict | None = None, *, csrf: str | None = "session", **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {**JSON, **kwargs.pop("headers", {})}
        form = dict(data or {})
        if csrf == "session":
            csrf = self.csrf_token
        if csrf is not None:
            form["csrf_token"] = csrf
        async with self.client.post(
            "/console" + path, data=form, headers=headers, allow_redirects=False, **kwargs
        ) as resp:
            return resp.status, await resp.json()

    async def open_login(self) -> str:
        status, body = await self.get("/login")
        assert status == 200, body
        self.csrf_token = body["csrf_token"]
        return self.csrf_token

    async def login(
        self, username: str, password: str = GOOD_PASSWORD, **kwargs
    ) -> tuple[int, Any]:
        if not self.csrf_token:
            await self.open_login()
        status, body = await self.post(
            "/login", {"username": username, "password": password}, **kwargs
        )
        if status == 200 and "csrf_token" in body:
            self.csrf_token = body["csrf_token"]
        return status, body

    async def totp(self, code: str) -> tuple[int, Any]:
        return await self.post("/login/totp", {"code": code})

    async def sign_in(
        self, username: str, password: str = GOOD_PASSWORD, secret: str | None = None
    ) -> dict:
        """Log in to the end (password, then the one-time code when one is needed)."""
        status, body = await self.login(username, password)
        assert status == 200, body
        if body["stage"] == "totp":
            assert secret is not None
            status, body = await self.totp(code_at(secret, self.clock))
            assert status == 200, body
        assert body["stage"] == "ready", body
        return body


def code_at(secret: str, clock: FrozenClock, steps: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(to_epoch(clock.now()) + steps * totp.interval)


async def add_operator(
    services: BookingServices,
    username: str,
    roles: tuple[str, ...],
    hospital: str | None = None,
    *,
    password: str = GOOD_PASSWORD,
    must_change: bool = False,
    totp_secret: str | None = None,
) -> int:
    operator_id = await services.handle(
        operators.AddOperator(
            username=username,
            display_name=f"操作员{username}",
            password_hash=PASSWORDS.hash(password),
            roles=roles,
            hospital_code=hospital,
            must_change_password=must_change,
        )
    )
    if totp_secret is not None:
        await services.handle(
            operators.EnrolTotp(
                operator_id=operator_id,
                secret_enc=services.cipher.encrypt(totp_secret, context="totp_secret"),
                step=0,
            )
        )
    return operator_id


async def hospital_with_booking(services: BookingServices, code: str) -> dict[str, Any]:
    """Hospital <code> (医院<code>) with 王医生, a session tomorrow, 张三丰 and their booking
    (of its first slot, ``slot``)."""
    world = World(services, code)
    session = await world.basic(
        date(2026, 7, 11), doctor={"name": "王医生", "title": "", "specialty": ""}, room=""
    )
    seq = sum(map(ord, code))
    patient = await world.patient("张三丰", seq=seq)
    slot = await first_slot(services, session.id)
    booked = await world.book(slot, patient.id, Channel.AGENT)
    return {
        "patient": patient.id,
        "booking": booked.booking.booking_no,
        "phone": phone(seq),
        "slot": slot,
    }


async def table(services: BookingServices, sql: str, *args: Any) -> list[dict]:
    def read(tx):
        found = yield rows(sql, *args)
        return [dict(r) for r in found]

    return await services.read(read)


async def available_agent(services: BookingServices, username: str, hospital: str) -> Actor:
    """An agent of ``hospital`` (added when new) who has gone available (置闲, #14): the
    actor that may take a caller."""
    hospital_id = (await services.read(catalogue.hospital, hospital)).id
    agent = Actor("operator", username, hospital_id, Channel.AGENT)
    try:
        await services.handle(calls.SetAgentState(actor=agent, state=calls.AgentState.AVAILABLE))
    except NotFound:
        await add_operator(services, username, ("agent",), hospital)
        await services.handle(calls.SetAgentState(actor=agent, state=calls.AgentState.AVAILABLE))
    return agent
