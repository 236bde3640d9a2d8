"""Fair admission at release (公平放号) at the desk: an agent booking in the window is told
the request is queued (202, a flash with the draw's time), not that it was booked."""

from __future__ import annotations

from datetime import date, time

from booking_core.kernel.unit import rows
from booking_core.rules import RuleKey
from tests.booking_core.helpers import set_rule
from tests.support.world import World, local, slot_ids


async def test_a_desk_booking_in_the_window_is_queued_with_the_draws_time(
    agent, services, desk_world, clock
):
    session = await World(services, "HA").session(
        date(2026, 7, 17), "00901", end=time(9, 0), places=3, room="B201"
    )
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, 10, hospital="HA")
    clock.set(local(2026, 7, 10, 7, 30, 1))
    slot = (await slot_ids(services, session.id))[0]
    status, body = await agent.post(f"/desk/patients/{desk_world['li']}/book", {"slot_id": slot})
    assert (status, body["error"]) == (202, "queued"), body
    assert body["message"] == (
        "刚刚放号（公平放号）：请求已排队，2026-07-10 07:30 抽签，结果短信通知患者。"
    )

    def queued(tx):
        found = yield rows("SELECT channel, status FROM release_requests")
        return [dict(r) for r in found]

    assert await services.read(queued) == [{"channel": "agent", "status": "queued"}]
