"""Signatures, replays, parallel deliveries, a proxy in front, a stalled database."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import sqlite3
import time

import pytest
from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

import sms.web
from booking_core import bookings
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import val
from tests.ivr.helpers import PUBLIC_URL, TOKEN, Twilio, make_root, sign


async def test_forged_and_missing_signatures_are_refused_and_write_nothing(twilio, patient):
    before = await twilio.rows()
    call = twilio.call()
    for signature in ("", "forged-signature=", sign(PUBLIC_URL + "/other", call.params())):
        status, _ = await twilio.post("/twilio/voice", call.params(), signature=signature)
        assert status == 403
    wrong_token = RequestValidator("not-the-token").compute_signature(
        PUBLIC_URL + "/twilio/voice", call.params()
    )
    status, _ = await twilio.post("/twilio/voice", call.params(), signature=wrong_token)
    assert status == 403
    for path in ("/twilio/voice/status", "/twilio/voice/recording", "/twilio/voice/fallback"):
        status, _ = await twilio.post(path, call.params(), signature="x")
        assert status == 403
    assert await twilio.rows() == before


async def test_a_signature_replayed_onto_other_digits_is_refused(twilio, patient):
    call = twilio.call()
    await call.dial()
    action = call.doc.find("./Gather").get("action")
    path = action[len(PUBLIC_URL) :]
    signed_for_1 = sign(action, call.params(Digits="1"))
    before = await twilio.rows()
    status, _ = await twilio.post(path, call.params(Digits="4"), signature=signed_for_1)
    assert status == 403
    status, _ = await twilio.post(path + "0", call.params(Digits="1"), signature=signed_for_1)
    assert status == 403
    assert await twilio.rows() == before


async def test_a_replayed_step_acts_once_and_answers_the_same(twilio, patient, services):
    call = twilio.call()
    await call.dial()
    for digits in ("1", patient.card_no, "101", "00868", "0711", "0830"):
        await call.press(digits)
    action = call.doc.find("./Gather").get("action")
    path = action[len(PUBLIC_URL) :]
    params = call.params(Digits="1")
    status, first = await twilio.post(path, params)
    assert status == 200
    after_first = await twilio.rows()
    for _ in range(3):  # an eavesdropper replays the captured request, signature and all
        status, again = await twilio.post(path, params)
        assert (status, again) == (200, first)
    assert await twilio.rows() == after_first
    assert len(await services.read(bookings.list_bookings, SYSTEM, patient_id=patient.id)) == 1


async def test_five_parallel_deliveries_of_one_step_act_once(twilio, patient, services):
    call = twilio.call()
    await call.dial()
    for digits in ("1", patient.card_no, "101", "00868", "0711", "0830"):
        await call.press(digits)
    path = call.doc.find("./Gather").get("action")[len(PUBLIC_URL) :]
    params = call.params(Digits="1")
    answers = await asyncio.gather(*(twilio.post(path, params) for _ in range(5)))
    assert {status for status, _ in answers} == {200}
    assert len({text for _, text in answers}) == 1
    assert "预约成功" in answers[0][1]
    assert len(await services.read(bookings.list_bookings, SYSTEM, patient_id=patient.id)) == 1
    rows = await twilio.rows("bookings", "call_steps")
    assert rows["bookings"] == 1


async def test_five_parallel_deliveries_of_a_reading_step_answer_alike(twilio, patient):
    call = twilio.call()
    await call.dial()
    path = call.doc.find("./Gather").get("action")[len(PUBLIC_URL) :]
    answers = await asyncio.gather(*(twilio.post(path, call.params(Digits="1")) for _ in range(5)))
    assert len({text for _, text in answers}) == 1
    assert (await twilio.rows("call_steps"))["call_steps"] == 2  # incoming + this step


async def test_valid_signature_behind_a_tls_terminating_proxy(twilio):
    """The proxy talks plain http to the engine on an internal host; Twilio signed the
    public https URL. Validation uses the configured public URL, so it passes."""
    call = twilio.call()
    params = call.params()
    status, text = await twilio.post(
        "/twilio/voice",
        params,
        signature=sign(PUBLIC_URL + "/twilio/voice", params),
        **{
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "ivr.example-hospital.test",
            "Host": "10.0.0.7:8080",
        },
    )
    assert status == 200
    assert "<Gather" in text
    internal = "http://10.0.0.7:8080/twilio/voice"
    status, _ = await twilio.post(
        "/twilio/voice", call.params(), signature=sign(internal, call.params())
    )
    assert status == 403


async def test_repeated_form_keys_are_all_signed(twilio):
    call = twilio.call()
    form = MultiDict(call.params())
    form.add("Extra", "b")
    form.add("Extra", "a")
    url = PUBLIC_URL + "/twilio/voice"
    good = RequestValidator(TOKEN).compute_signature(url, form)
    async with twilio.client.post(
        "/twilio/voice", data=list(form.items()), headers={"X-Twilio-Signature": good}
    ) as resp:
        assert resp.status == 200
    only_one = dict(form)  # the second "Extra" dropped: not what Twilio signed
    bad = RequestValidator(TOKEN).compute_signature(url, only_one)
    async with twilio.client.post(
        "/twilio/voice", data=list(form.items()), headers={"X-Twilio-Signature": bad}
    ) as resp:
        assert resp.status == 403


async def test_fallback_needs_no_database_and_speaks_mandarin(aiohttp_client, services):
    await services.store.close()  # no database at all
    try:
        client = await aiohttp_client(make_root(services))
        twilio = Twilio(client, services)
        status, text = await twilio.post("/twilio/voice/fallback", twilio.call().params())
        assert status == 200
        assert 'language="cmn-CN"' in text
        assert "系统繁忙" in text
        assert "<Enqueue" in text
    finally:
        await services.store.open()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_stalled_database_still_gets_a_spoken_answer_within_3_seconds(
    twilio, patient, db_url
):
    call = twilio.call()
    await call.dial()  # the hospital is known, the call is on record
    await call.press("1")
    locker = sqlite3.connect(db_url, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        await call.press(patient.card_no)
        first = time.monotonic() - started
        assert first < 3.0
        assert "系统繁忙" in call.text()
        assert call.kind() == "enqueue"
        other = twilio.call(caller="+8613900000002")
        started = time.monotonic()
        await other.dial()
        assert time.monotonic() - started < 3.0
        assert "系统繁忙" in other.text()
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def _signed_over_bytes(url: str, pairs: list[tuple[bytes, bytes]]) -> str:
    """What a sender signing the raw bytes (not UTF-8 text) would send."""
    text = url.encode() + b"".join(k + v for k, v in sorted(pairs))
    return base64.b64encode(hmac.new(TOKEN.encode(), text, hashlib.sha1).digest()).decode()


@pytest.fixture
async def sms_door(aiohttp_client, services, hospital):
    """The SMS door behind the same signature check, as the engine mounts it."""
    root = web.Application()
    door = sms.web.make_app(services, auth_token=TOKEN, public_url=PUBLIC_URL, hospital_code="H001")
    root.add_subapp("/twilio/sms/", door)
    return await aiohttp_client(root)


@pytest.mark.parametrize("door", ["/twilio/voice", "/twilio/sms"])
async def test_a_form_that_is_not_utf8_is_403_unsigned_and_400_signed(
    twilio, sms_door, services, door
):
    client = twilio.client if door == "/twilio/voice" else sms_door
    pairs = [
        (b"CallSid", b"CA" + b"7" * 32),
        (b"MessageSid", b"SM" + b"7" * 32),
        (b"From", b"+8613900000001"),
        (b"Body", b"\xff\xfe\xe4\xb8"),  # not UTF-8
    ]
    body = b"&".join(k + b"=" + v.replace(b"+", b"%2B") for k, v in pairs)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    odd_charset = {"Content-Type": "application/x-www-form-urlencoded; charset=no-such-charset"}
    good = _signed_over_bytes(PUBLIC_URL + door, pairs)
    before = await count_rows(services)
    for headers, signature, status in (
        (form, "", 403),
        (form, "forged-signature=", 403),
        (form, _signed_over_bytes(PUBLIC_URL + "/other", pairs), 403),
        (form, good, 400),
        (odd_charset, "forged-signature=", 403),
    ):
        async with client.post(
            door, data=body, headers={**headers, "X-Twilio-Signature": signature}
        ) as resp:
            assert resp.status == status, await resp.text()
    assert await count_rows(services) == before  # nothing stored, not even the message


async def count_rows(services):
    def count(tx):
        found = {}
        for table in ("calls", "call_steps", "messages", "bookings", "outbox", "audit"):
            found[table] = yield val(f"SELECT count(*) FROM {table}")
        return found

    return await services.read(count)


async def test_a_signed_voice_webhook_cut_anew_is_refused(twilio, patient):
    """``CallSid`` = the real SID + ``CallStatusin-progress``, ``CallStatus`` dropped: still
    signed (the names and values run together), a "new" call past the step dedupe; refused
    by its shape (issue #10 item 10), and so is another account's well-shaped SID."""
    call = twilio.call()
    form = call.params()
    signature = sign(PUBLIC_URL + "/twilio/voice", form)
    recut = {k: v for k, v in form.items() if k != "CallStatus"}
    recut["CallSid"] = call.sid + "CallStatusin-progress"
    assert RequestValidator(TOKEN).validate(PUBLIC_URL + "/twilio/voice", recut, signature)
    before = await twilio.rows()
    status, text = await twilio.post("/twilio/voice", recut, signature=signature)
    assert status == 400
    assert "CallSid" in text
    assert await twilio.rows() == before
    status, _ = await twilio.post("/twilio/voice", form, signature=signature)
    assert status == 200  # the form as Twilio sent it
