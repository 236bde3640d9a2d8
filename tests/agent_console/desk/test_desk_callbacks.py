"""Call-backs (回拨) on the desk: a caller who pressed 1 while waiting shows in the queue at
the place they kept, marked 回拨 with the masked number to call; a waiting caller who hung
up cannot be taken, and the agent is told so in words (#14)."""

from __future__ import annotations

from booking_core import calls
from booking_core.kernel.actor import SYSTEM
from tests.agent_console.desk.desk_world import go_available, transfer


async def test_a_call_back_keeps_its_place_marked_with_the_masked_number(agent, desk_world):
    services = agent.services
    await transfer(services, "HA", "CA-first", caller="13800000001", step="main")
    await transfer(services, "HA", "CA-back", caller="13912345678", step="book_dept")
    await transfer(services, "HA", "CA-last", caller="13800000003", step="main")
    asked = await services.handle(calls.RequestCallback(actor=SYSTEM, call_sid="CA-back"))
    assert asked == calls.CallbackAsked(calls.CallbackStatus.ASKED, "139****5678", "5678")
    await services.handle(calls.EndCall(actor=SYSTEM, call_sid="CA-back", status="completed"))
    status, body = await agent.get("/desk")
    assert status == 200, body
    rows = body["calls"]
    assert [c["call_sid"] for c in rows] == ["CA-first", "CA-back", "CA-last"]
    assert [c["callback"] for c in rows] == [False, True, False]
    assert rows[1]["callback_number"] == "139****5678"
    async with agent.client.get("/console/desk") as resp:
        page = await resp.text()
    assert "13912345678" not in page
    assert page.count('data-callback="1"') == 1
    assert '<span class="badge callback">回拨</span> 139****5678' in page
    # takeable although the caller's own call is over: the agent calls them
    await go_available(agent)
    status, body = await agent.post("/desk/calls/CA-back/take")
    assert status == 200, body


async def test_a_caller_who_hung_up_cannot_be_taken(agent, desk_world):
    services = agent.services
    await transfer(services, "HA", "CA-gone", caller="13800000001", step="main")
    await services.handle(calls.EndCall(actor=SYSTEM, call_sid="CA-gone", status="completed"))
    status, body = await agent.post("/desk/calls/CA-gone/take")
    assert (status, body["error"]) == (409, "call_ended")
    assert body["message"] == "来电方已挂断，无法接听（回拨的来电仍可接听）。"
