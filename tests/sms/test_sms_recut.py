"""A captured signed webhook cut anew is refused (issue #10 item 10).

Twilio's signature runs the sorted names and values together, so moving a field boundary
keeps it valid: ``MessageSid`` = the real SID + ``NumSegments1`` with ``NumSegments``
dropped is "another message" to the MessageSid dedupe, and a booking the patient had
cancelled was booked again. Twilio's identifiers have a fixed shape (two letters, 32 hex
digits), ``AccountSid`` is the engine's own account, ``From`` a phone number: a form
otherwise is answered 400 and nothing is stored.
"""

from __future__ import annotations

import pytest
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from booking_core import bookings
from engine.keys import SERVICES
from tests.fakes.twilio_rest import ACCOUNT, SENDER, TOKEN
from tests.sms import test_sms_doors as doors
from tests.sms.test_sms_doors import PHONE, PUBLIC_URL, message_of, signed, table

engine, modem = doors.engine, doors.modem  # the engine with both gateways, as there

BOOK = "GHDH00868,07110830,张三"
SID = "SM" + "3" * 32


def _form(**changes) -> dict:
    form = {
        "MessageSid": SID,
        "AccountSid": ACCOUNT,
        "From": "+86" + PHONE,
        "To": SENDER,
        "Body": BOOK,
        "NumSegments": "1",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def _post(engine, form: dict, headers: dict | None = None):
    resp = await engine.post(
        "/twilio/sms", data=form, headers=headers or signed("/twilio/sms", form)
    )
    return resp.status, await resp.text()


async def test_a_signed_text_cut_anew_is_refused_and_a_cancelled_booking_stays_cancelled(
    engine,
):
    original = _form()
    headers = signed("/twilio/sms", original)
    status, twiml = await _post(engine, original, headers)
    assert status == 200
    (booking,) = await table(engine, "SELECT booking_no FROM bookings")
    assert booking["booking_no"] in message_of(twiml)
    await engine.app[SERVICES].handle(bookings.CancelBooking(booking_no=booking["booking_no"]))
    recut = _form(MessageSid=SID + "NumSegments1", NumSegments=None)
    validator = RequestValidator(TOKEN)
    url = PUBLIC_URL + "/twilio/sms"
    assert validator.validate(url, recut, headers["X-Twilio-Signature"])  # the attack is real
    messages = await table(engine, "SELECT id FROM messages")
    status, text = await _post(engine, recut, headers)
    assert status == 400
    assert "MessageSid" in text
    assert await table(engine, "SELECT status FROM bookings") == [{"status": "cancelled"}]
    assert await table(engine, "SELECT id FROM messages") == messages  # nothing stored


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"MessageSid": "SM" + "A" * 32}, "MessageSid"),  # Twilio's hex is lower case
        ({"MessageSid": "SM123"}, "MessageSid"),
        ({"MessageSid": "XX" + "3" * 32}, "MessageSid"),
        ({"SmsSid": SID + "x"}, "SmsSid"),
        ({"AccountSid": "AC0"}, "AccountSid"),
        ({"AccountSid": "AC" + "9" * 32}, "AccountSid"),  # well shaped, another account
        ({"From": "+8613912345678Body"}, "From"),
        ({"From": None}, "From"),
    ],
)
async def test_a_signed_text_with_identifiers_not_twilios_is_refused(engine, changes, why):
    status, text = await _post(engine, _form(**changes))
    assert status == 400
    assert why in text
    assert await table(engine, "SELECT id FROM messages") == []
    assert await table(engine, "SELECT id FROM bookings") == []


async def test_an_mms_sid_and_a_repeated_sid(engine):
    assert (await _post(engine, _form(MessageSid="MM" + "4" * 32)))[0] == 200
    form = list(_form(MessageSid="SM" + "5" * 32).items())
    form.append(("MessageSid", "SM" + "6" * 32))
    sig = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/twilio/sms", MultiDict(form))
    resp = await engine.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": sig})
    assert resp.status == 400
    assert "repeated" in await resp.text()
