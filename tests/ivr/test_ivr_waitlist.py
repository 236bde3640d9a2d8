"""候补 by phone: a full day is offered its line ("press 1 then #") and the position is
said; 5 in the main menu leaves every line of the caller's own patients (by caller ID)."""

from __future__ import annotations

from booking_core.kernel.unit import rows, val
from tests.support.world import World, slot_ids


async def _fill_00869(services) -> None:
    """Every place of doctor 00869's one session tomorrow (eight slots of one place)."""

    def session_of(tx):
        return (
            yield val(
                "SELECT se.id FROM sessions se JOIN doctors d ON d.id = se.doctor_id "
                "WHERE d.work_no = '00869'"
            )
        )

    world = World(services)
    session_id = await services.read(session_of)
    for i, slot in enumerate(await slot_ids(services, session_id)):
        p = await world.patient(f"占位{i}", f"136000000{i:02d}")
        await world.book(slot, p.id)


async def _statuses(services) -> list[str]:
    def read(tx):
        return [r["status"] for r in (yield rows("SELECT status FROM waitlist ORDER BY id"))]

    return await services.read(read)


async def test_a_full_day_is_waited_for_and_5_leaves_the_line(twilio, services, patient):
    await _fill_00869(services)
    call = twilio.call()
    await call.dial()
    assert "退出候补请按5" in call.text()
    await call.press("1")
    await call.press(patient.card_no)
    await call.press("101")
    await call.press("00869")
    await call.press("0711")
    assert "7月11日没有可以预约的号" in call.text()
    assert "加入候补请按1" in call.text()
    await call.press("1")
    assert "已为您加入候补，您排在第1位" in call.text()
    assert await _statuses(services) == ["waiting"]
    assert "预约挂号请按1" in call.text()  # back at the main menu
    await call.press("5")
    assert "已为您退出1个候补" in call.text()
    assert await _statuses(services) == ["left"]
    await call.press("5")
    assert "您目前没有候补" in call.text()


async def test_5_from_an_unknown_number_says_how_to_leave(twilio, patient):
    call = twilio.call(caller="+8613800009999")
    await call.dial()
    await call.press("5")
    assert "短信QH" in call.text()
