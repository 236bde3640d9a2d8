"""Back to the menu from an agent (转回语音菜单, #14): the softphone redirects the caller's
leg to /twilio/voice/menu, and the call goes on at its next step from the main menu. The
same keys pressed again act again; they are not answered with what the call was told the
first time (which is what the call's first URL would do: it numbers the steps from 1)."""

from __future__ import annotations

from booking_core import bookings
from booking_core.kernel.actor import SYSTEM
from tests.ivr.helpers import PREFIX

BOOK_AT_0830 = ("1", "<card>", "101", "00868", "0711", "0830", "1")


async def _book(call, card_no: str, hhmm: str) -> None:
    for key in BOOK_AT_0830[:-2]:
        await call.press(card_no if key == "<card>" else key)
    await call.press(hhmm)
    await call.press("1")


async def _bookings(services, patient_id: int) -> list[str]:
    found = await services.read(bookings.list_bookings, SYSTEM, patient_id=patient_id)
    return sorted(b.start.strftime("%H:%M") for b in found)


async def test_back_to_the_menu_goes_on_at_the_next_step(twilio, patient, services):
    call = twilio.call()
    await call.dial()
    await _book(call, patient.card_no, "0830")
    assert await _bookings(services, patient.id) == ["08:30"]

    await call._post(PREFIX + "/menu")  # the agent sent the caller back (Twilio's redirect)
    assert "预约挂号请按1" in call.text()
    assert "欢迎" not in " ".join(call.says())  # the menu, not the greeting again
    again = call.doc.find("./Gather").get("action")
    assert "s=1&" not in again + "&"  # numbered after the steps the call already took

    # the same keys, another time: the core is asked again (and says no: one place per
    # department a day), where a replay would have said "booked" again and done nothing
    call.heard.clear()
    await _book(call, patient.card_no, "0900")
    assert "同一天同一科室只能预约1个号" in " ".join(call.heard)
    assert "预约成功" not in " ".join(call.heard)
    assert await _bookings(services, patient.id) == ["08:30"]


async def test_back_to_the_menu_twice_delivered_answers_once(twilio, patient, services):
    call = twilio.call()
    await call.dial()
    await call.press("1")
    first = await call._post(PREFIX + "/menu")
    action = first.find("./Gather").get("action")
    status, text = await twilio.post(PREFIX + "/menu", call.params())  # Twilio retried
    assert status == 200
    assert action in text  # the stored answer, not a step further


async def test_back_to_the_menu_of_a_call_never_seen_starts_it(twilio, hospital):
    call = twilio.call()
    await call._post(PREFIX + "/menu")
    assert call.kind() == "gather"
    assert "预约挂号请按1" in call.text()
