"""An agent who closed the browser without logging out (#14): once their console session
has run out (idle past ``console_idle_minutes``, or expired), the engine's sweep makes them
offline, so the wallboard and the workload report stop counting them available. An agent
whose desk is still open, or who is on a call, is left as they are."""

from __future__ import annotations

from datetime import timedelta

from booking_core import calls, reports
from booking_core.kernel.actor import SYSTEM
from tests.agent_console.desk.desk_world import go_available, transfer
from tests.agent_console.helpers import table

IDLE_MINUTES = 30


async def _state(services, username: str) -> str:
    [row] = await table(
        services,
        "SELECT s.state FROM agent_states s JOIN operators o ON o.id = s.operator_id "
        "WHERE o.username = ?",
        username,
    )
    return row["state"]


async def test_an_agent_gone_without_logging_out_is_signed_off(
    browser, services, clock, desk_world
):
    gone = await browser()
    await gone.sign_in("agent_a")
    await go_available(gone)
    stays = await browser()
    await stays.sign_in("agent_a2")
    await go_available(stays)
    sweep = calls.SignOffAbsentAgents(idle_minutes=IDLE_MINUTES)
    assert await services.handle(sweep) == 0  # both desks open: nobody

    clock.advance(timedelta(minutes=IDLE_MINUTES - 1))
    await stays.get("/desk/calls/stream.json")  # the open desk's live list uses the session
    clock.advance(timedelta(minutes=2))  # agent_a's session idle past the limit
    assert await services.handle(sweep) == 1
    assert await _state(services, "agent_a") == "offline"
    assert await _state(services, "agent_a2") == "available"
    [change] = await table(
        services,
        "SELECT actor, after_state FROM audit WHERE action = 'agent.state' "
        "AND entity_id = 'agent_a' ORDER BY id DESC LIMIT 1",
    )
    assert '"offline"' in change["after_state"]
    assert change["actor"].startswith("system:")  # the engine did it, not the agent
    assert await services.handle(sweep) == 0  # once


async def test_an_agent_on_a_call_is_left_to_the_call(browser, services, clock, desk_world):
    agent = await browser()
    await agent.sign_in("agent_a")
    await go_available(agent)
    await transfer(services, "HA", "CA-long", step="main", digits="0")
    assert (await agent.post("/desk/calls/CA-long/take"))[0] == 200
    clock.advance(timedelta(hours=13))  # past the session's end too
    assert await services.handle(calls.SignOffAbsentAgents(idle_minutes=IDLE_MINUTES)) == 0
    assert await _state(services, "agent_a") == "busy"


async def test_the_wallboard_stops_counting_them_available(browser, services, clock, desk_world):
    gone = await browser()
    await gone.sign_in("agent_a")
    await go_available(gone)
    [row] = await table(services, "SELECT id FROM hospitals WHERE code = 'HA'")
    before = dict((await services.read(reports.wallboard, SYSTEM, row["id"])).agents)
    clock.advance(timedelta(minutes=IDLE_MINUTES + 1))
    await services.handle(calls.SignOffAbsentAgents(idle_minutes=IDLE_MINUTES))
    after = dict((await services.read(reports.wallboard, SYSTEM, row["id"])).agents)
    assert after["available"] == before["available"] - 1
    assert after["offline"] == before["offline"] + 1
