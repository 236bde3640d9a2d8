"""Playing calls as Twilio would: signed form POSTs with CallSid, From and Digits, following
the ``action`` and ``<Redirect>`` URLs of the TwiML the engine answers."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from booking_core.bus import BookingServices
from booking_core.kernel.unit import val
from ivr.web import make_app

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://ivr.example-hospital.test"
PREFIX = "/twilio/voice"
ACCOUNT = "AC00000000000000000000000000000000"
HOSPITAL_NUMBER = "+861080000000"
TODAY = date(2026, 7, 10)  # the FrozenClock's day (a Friday, 09:00 Beijing)
TOMORROW = date(2026, 7, 11)
CALL_TABLES = ("calls", "call_steps", "complaints", "bookings", "outbox", "audit")

_sids = itertools.count(1)


def make_root(services: BookingServices, **kwargs: Any) -> web.Application:
    """A root app with the voice sub-app mounted as the engine mounts it."""
    root = web.Application()
    options = {"auth_token": TOKEN, "public_url": PUBLIC_URL, "hospital_code": "H001"} | kwargs
    root.add_subapp("/twilio/voice/", make_app(services, **options))
    return root


def sign(url: str, params, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@dataclass
class Twilio:
    """Twilio's side of the webhooks: signs every request like Twilio does."""

    client: TestClient
    services: BookingServices

    async def post(
        self, path: str, params: dict[str, str], *, signature: str | None = None, **headers: str
    ) -> tuple[int, str]:
        url = PUBLIC_URL + path
        sig = sign(url, params) if signature is None else signature
        hdrs = {"X-Twilio-Signature": sig, **headers} if sig else dict(headers)
        async with self.client.post(path, data=params, headers=hdrs) as resp:
            return resp.status, await resp.text()

    def call(self, caller: str = "+8613900000001", sid: str | None = None) -> Phone:
        return Phone(self, sid or f"CA{next(_sids):032d}", caller)

    async def rows(self, *tables: str) -> dict[str, int]:
        def count(tx):
            found = {}
            for table in tables or CALL_TABLES:
                found[table] = yield val(f"SELECT count(*) FROM {table}")
            return found

        return await self.services.read(count)


async def texted_code(services: BookingServices) -> str:
    """The newest code the phone line texted to a patient (from its ``call.code`` event)."""

    def read(tx):
        return (yield val("SELECT payload FROM outbox WHERE topic = 'call.code' ORDER BY id DESC"))

    payload = await services.read(read)
    assert payload is not None, "no code was texted"
    code_enc = (json.loads(payload) if isinstance(payload, str) else payload)["code_enc"]
    return services.cipher.decrypt(code_enc, context="call_code")


def path_of(url: str) -> str:
    assert url.startswith(PUBLIC_URL + PREFIX), url
    return url[len(PUBLIC_URL) :]


@dataclass
class Phone:
    """One caller on one call."""

    twilio: Twilio
    sid: str
    caller: str
    doc: ET.Element | None = None
    heard: list[str] = field(default_factory=list)  # every <Say> of the whole call
    wait_url: str = ""  # the agent queue's wait URL, once the caller is queued

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT,
            "CallSid": self.sid,
            "From": self.caller,
            "Caller": self.caller,
            "To": HOSPITAL_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }

    async def _post(self, path: str, **extra: str) -> ET.Element:
        status, text = await self.twilio.post(path, self.params(**extra))
        assert status == 200, text
        self.doc = ET.fromstring(text.encode())
        self.heard += self.says()
        return self.doc

    async def dial(self) -> ET.Element:
        return await self._post(PREFIX)

    async def press(self, digits: str) -> ET.Element:
        """Type ``digits`` into the current <Gather> (Twilio posts them without the '#')."""
        gather = self.doc.find("./Gather")
        assert gather is not None, self.xml()
        return await self._post(path_of(gather.get("action")), Digits=digits)

    async def silence(self) -> ET.Element:
        """Press nothing: Twilio falls through the <Gather> to the <Redirect>."""
        redirect = self.doc.find("./Redirect")
        assert redirect is not None, self.xml()
        return await self._post(path_of(redirect.text))

    async def speak(self, recording_sid: str = "RE123", seconds: int = 12) -> ET.Element:
        """Leave a message at the <Record>: Twilio posts its action when it ends."""
        record = self.doc.find("./Record")
        assert record is not None, self.xml()
        url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording_sid}"
        return await self._post(
            path_of(record.get("action")),
            RecordingSid=recording_sid,
            RecordingUrl=url,
            RecordingDuration=str(seconds),
            Digits="#",
        )

    async def wait(self, **queue: str) -> ET.Element:
        """Hold in the agent queue: Twilio posts the <Enqueue>'s ``waitUrl`` with the
        queue's figures (``QueuePosition``, ``AvgQueueTime`` …); a figure left out is not
        sent."""
        enqueue = self.doc.find("./Enqueue")
        assert enqueue is not None, self.xml()
        self.wait_url = path_of(enqueue.get("waitUrl"))
        return await self.waiting(**queue)

    async def waiting(self, **queue: str) -> ET.Element:
        """Twilio asks the wait URL again, once the last answer's TwiML has played."""
        return await self._post(self.wait_url, QueueSid="QU" + "0" * 32, **queue)

    async def hang_up(self, duration: int = 95) -> int:
        status, _ = await self.twilio.post(
            PREFIX + "/status", self.params(CallStatus="completed", CallDuration=str(duration))
        )
        return status

    def says(self) -> list[str]:
        return [el.text or "" for el in self.doc.iter("Say")]

    def text(self) -> str:
        return " ".join(self.says())

    def xml(self) -> str:
        return ET.tostring(self.doc, encoding="unicode") if self.doc is not None else ""

    def kind(self) -> str:
        """What the current answer waits for: gather, record, enqueue or hangup."""
        for tag in ("Gather", "Record", "Enqueue", "Hangup"):
            if self.doc.find(f"./{tag}") is not None:
                return tag.lower()
        return "none"


async def take_as(services: BookingServices, name: str, call_sid: str):
    """Agent ``name`` (made an agent of H001 the first time) takes ``call_sid`` as the desk
    would: available first (finishing the call they were busy on), then the take."""
    from booking_core import calls
    from booking_core.calls import AgentState
    from booking_core.kernel.actor import Actor, Channel
    from booking_core.kernel.errors import NotFound
    from tests.agent_console.helpers import add_operator

    who = Actor("operator", name, None, Channel.AGENT)
    try:
        status = await services.read(calls.agent_status, who)
    except NotFound:
        await add_operator(services, name, ("agent",), "H001")
        status = await services.read(calls.agent_status, who)
    if status.state is AgentState.BUSY and status.call_sid:
        await services.handle(calls.FinishAgentCall(actor=who, call_sid=status.call_sid))
    if not (await services.read(calls.agent_status, who)).available:
        await services.handle(calls.SetAgentState(actor=who, state=AgentState.AVAILABLE))
    return await services.handle(calls.TakeCall(actor=who, call_sid=call_sid))
