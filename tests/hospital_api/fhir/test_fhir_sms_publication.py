"""The whole engine: the SMS code a Slot's booking-deep-link publishes, texted with the
patient's name to the SMS door (signed as Twilio signs), books the place, and the next
SMART publication shows that slot busy — in the changes since the last one, too."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import unquote

import orjson
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator
from yarl import URL

from booking_core.kernel.pii import Cipher
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES
from tests.hospital_api.fhir.helpers import checked
from tests.hospital_api.helpers import TOMORROW
from tests.support.world import World

PUBLIC_URL = "https://booking.example-hospital.test"
TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT = "AC00000000000000000000000000000000"
SMS_NUMBER = "+8610655501"
PHONE = "13912345678"
DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"


async def slots(client, since: str = "") -> dict[str, dict]:
    """The Slot file the manifest (of changes ``since``) names, each line checked as an
    R4B Slot."""
    query = {"_since": since} if since else {}
    manifest = await (await client.get("/fhir/R4/$bulk-publish", params=query)).json()
    [url] = [o["url"] for o in manifest["output"] if o["type"] == "Slot"]
    assert url.startswith(PUBLIC_URL)  # the configured address, not the request's
    resp = await client.get(URL(url.removeprefix(PUBLIC_URL), encoded=True))
    assert resp.status == 200
    lines = (await resp.read()).splitlines()
    return {s["id"]: s for s in (checked(orjson.loads(line)) for line in lines)}


async def text(client, body: str) -> int:
    params = {
        "MessageSid": "SM" + "1" * 32,
        "AccountSid": ACCOUNT,
        "From": "+86" + PHONE,
        "To": SMS_NUMBER,
        "Body": body,
        "NumSegments": "1",
    }
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/twilio/sms", params)
    resp = await client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    return resp.status


async def test_a_slot_booked_by_its_published_sms_code_is_busy_in_the_next_publication(
    tmp_path, clock
):
    settings = dataclasses.replace(
        load_settings(env={"GUAHAO_PII_KEY": Cipher.generate_key()}, overrides={}),
        db=str(tmp_path / "g.db"),
        public_url=PUBLIC_URL,
        twilio_auth_token=TOKEN,
        twilio_account_sid=ACCOUNT,
        twilio_sms_from=SMS_NUMBER,
        sms_phone_number=SMS_NUMBER,
        hold_sweep_seconds=3600,
        no_show_sweep_seconds=3600,
    )
    async with TestClient(TestServer(build_app(settings, clock=clock))) as client:
        world = World(client.app[SERVICES])
        await world.basic(TOMORROW, places=1)
        await world.patient("张三", PHONE)
        before = await slots(client)
        at_0830 = next(s for s in before.values() if s["start"].endswith("T08:30:00+08:00"))
        assert at_0830["status"] == "free"
        link = next(e["valueUrl"] for e in at_0830["extension"] if e["url"] == DEEP_LINK)
        number, _, query = link.removeprefix("sms:").partition("?body=")
        assert number == SMS_NUMBER
        code = unquote(query)
        assert code == "GHDH00868,07110830,"
        clock.advance(timedelta(minutes=1))
        since = (await (await client.get("/fhir/R4/$bulk-publish")).json())["transactionTime"]
        clock.advance(timedelta(minutes=1))

        assert await text(client, code + "张三") == 200  # as the patient finishes the link

        after = await slots(client)
        assert after[at_0830["id"]]["status"] == "busy"
        assert [k for k, s in after.items() if s["status"] != "free"] == [at_0830["id"]]
        changed = await slots(client, since)
        assert list(changed) == [at_0830["id"]]
        assert changed[at_0830["id"]]["status"] == "busy"
