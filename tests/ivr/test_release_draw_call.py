"""Fair admission at release (公平放号) on the phone: a caller who books in the window hears
that the request is queued and will be texted the result (and it is: the request is kept,
the step answered), a second try hears "already queued", and the call goes on."""

from __future__ import annotations

from datetime import date

from booking_core.kernel.unit import rows
from booking_core.rules import RuleKey
from tests.booking_core.helpers import set_rule
from tests.support.world import local

D7 = date(2026, 7, 17)  # released at 07:30 on 7/10


async def _book_0800(call, patient):
    await call.dial()
    await call.press("1")
    await call.press(patient.card_no)
    await call.press("101")
    await call.press("00868")
    await call.press("0717")
    await call.press("0800")
    await call.press("1")


async def test_a_caller_in_the_window_hears_queued_and_the_request_is_kept(
    twilio, patient, world, hospital, clock, services
):
    await world.session(D7, "00868")
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, 10)
    clock.set(local(2026, 7, 10, 7, 30, 2))
    call = twilio.call()
    await _book_0800(call, patient)
    said = call.text()
    assert "您的请求已排队" in said
    assert "短信" in said
    assert "预约成功" not in said

    def requests(tx):
        found = yield rows("SELECT patient_id, channel, status FROM release_requests")
        return [dict(r) for r in found]

    assert await services.read(requests) == [
        {"patient_id": patient.id, "channel": "ivr", "status": "queued"}
    ]
    again = twilio.call(sid="CA" + "2" * 32)
    await _book_0800(again, patient)
    assert "已经在排队" in again.text()
    assert len(await services.read(requests)) == 1
