"""HandOverCall on SQLite and PostgreSQL (#14): only the agent who took a caller hands them
over, to an agent of the same hospital or back to the IVR menu; audited once; asked
again it is a no-op; and when the agent hands over in two tabs at once, one hand-over wins
(the compare-and-set on the call's context), with a negative control showing that two
blind writes would both "win"."""

from __future__ import annotations

import asyncio
import json

import pytest

from booking_core.calls import AgentState, HandOverCall, SetAgentState, TakeCall, call_queue
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import InvalidState, NotFound
from booking_core.kernel.unit import execute
from tests.agent_console.desk.desk_world import build, transfer
from tests.agent_console.helpers import table
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)


@pytest.fixture
async def world(services):
    await build(services)
    await transfer(services, "HA", "CA-1", step="main", digits="0")
    [ha] = await table(services, "SELECT id FROM hospitals WHERE code = 'HA'")
    [hb] = await table(services, "SELECT id FROM hospitals WHERE code = 'HB'")
    world = {
        "a": Actor("operator", "agent_a", ha["id"], Channel.AGENT),
        "a2": Actor("operator", "agent_a2", ha["id"], Channel.AGENT),
        "b": Actor("operator", "agent_b", hb["id"], Channel.AGENT),
    }
    for agent in world.values():  # 置闲: only an available agent takes a caller
        await services.handle(SetAgentState(actor=agent, state=AgentState.AVAILABLE))
    return world


async def context_of(services, sid: str) -> dict:
    [row] = await table(services, "SELECT transfer_context FROM calls WHERE call_sid = ?", sid)
    return json.loads(row["transfer_context"])


async def hand_overs(services) -> int:
    return len(await table(services, "SELECT id FROM audit WHERE action = 'call.hand_over'"))


async def test_hand_over_to_an_agent_offers_the_call_to_them(services, world):
    a, a2 = world["a"], world["a2"]
    with pytest.raises(InvalidState):  # nobody took it: not a's to hand over
        await services.handle(HandOverCall(call_sid="CA-1", to="agent_a2", actor=a))
    await services.handle(TakeCall(call_sid="CA-1", actor=a))
    with pytest.raises(InvalidState):  # taken by a: not a2's
        await services.handle(HandOverCall(call_sid="CA-1", to="agent_a", actor=a2))
    for nobody in ("ghost", "agent_b", "agent_a"):  # unknown, another hospital's, oneself
        with pytest.raises(NotFound):
            await services.handle(HandOverCall(call_sid="CA-1", to=nobody, actor=a))
    with pytest.raises(NotFound):  # another hospital's agent cannot see the call at all
        await services.handle(HandOverCall(call_sid="CA-1", to=None, actor=world["b"]))
    after = await services.handle(HandOverCall(call_sid="CA-1", to="agent_a2", actor=a))
    assert after["offered_to"] == "agent_a2"
    assert "taken_by" not in after
    assert await context_of(services, "CA-1") == after
    [queued] = await services.read(call_queue, a)
    assert queued.taken_by is None
    again = await services.handle(HandOverCall(call_sid="CA-1", to="agent_a2", actor=a))
    assert again == after  # a retried click: no second hand-over
    assert await hand_overs(services) == 1
    [row] = await table(services, "SELECT actor, before_state, after_state FROM audit "
                        "WHERE action = 'call.hand_over'")  # fmt: skip
    assert row["actor"] == "operator:agent_a"
    assert json.loads(row["after_state"]) == {"handed_to": "agent_a2"}
    taken = await services.handle(TakeCall(call_sid="CA-1", actor=a2))
    assert taken.won


async def test_hand_over_to_the_menu_takes_the_call_off_the_queue(services, world):
    a = world["a"]
    await services.handle(TakeCall(call_sid="CA-1", actor=a))
    await services.handle(HandOverCall(call_sid="CA-1", to=None, actor=a))
    assert await services.read(call_queue, a) == []
    assert (await context_of(services, "CA-1"))["handed_to"] == "ivr"
    assert await hand_overs(services) == 1


async def test_an_ended_call_is_not_handed_over(services, world):
    a = world["a"]
    await services.handle(TakeCall(call_sid="CA-1", actor=a))

    def end(tx):
        yield execute("UPDATE calls SET ended_at = ? WHERE call_sid = 'CA-1'", tx.epoch)

    await services.store.write(end)
    with pytest.raises(InvalidState) as raised:
        await services.handle(HandOverCall(call_sid="CA-1", to="agent_a2", actor=a))
    assert raised.value.params["status"] == "ended"


async def test_two_tabs_hand_over_at_once_and_one_wins(services, world):
    a = world["a"]
    await services.handle(TakeCall(call_sid="CA-1", actor=a))
    results = await asyncio.gather(
        services.handle(HandOverCall(call_sid="CA-1", to="agent_a2", actor=a)),
        services.handle(HandOverCall(call_sid="CA-1", to=None, actor=a)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1, results
    assert all(isinstance(r, InvalidState) for r in results if not isinstance(r, dict))
    assert await hand_overs(services) == 1
    assert (await context_of(services, "CA-1"))["handed_to"] == won[0]["handed_to"]


async def test_negative_control_blind_writes_both_win(services, world):
    """Without the compare-and-set (an UPDATE that does not check the context it read),
    both tabs' writes land: the guard above is what makes one of them lose."""
    a = world["a"]
    await services.handle(TakeCall(call_sid="CA-1", actor=a))
    [row] = await table(services, "SELECT id, transfer_context FROM calls WHERE call_sid = 'CA-1'")
    landed = []

    def blind(to: str):
        def write(tx):
            moved = yield execute(
                "UPDATE calls SET transfer_context = ? WHERE id = ?",
                json.dumps({**json.loads(row["transfer_context"]), "handed_to": to}),
                row["id"],
            )
            landed.append(moved)

        return write

    await asyncio.gather(
        services.store.write(blind("agent_a2")), services.store.write(blind("ivr"))
    )
    assert landed == [1, 1]
