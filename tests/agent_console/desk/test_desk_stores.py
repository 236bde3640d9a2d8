"""On SQLite and on PostgreSQL: one winner when agents take one caller at once, fuzzy
search stays within the agent's hospital, and a reveal is one audit row."""

from __future__ import annotations

import asyncio

import pytest

from booking_core.calls import AgentState, SetAgentState, TakeCall, call_queue
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import NotFound
from booking_core.patients import RevealPatient, search_patients
from tests.agent_console.desk.desk_world import LI_PHONE, transfer
from tests.agent_console.helpers import add_operator, table
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)


async def _agent(services, name: str, hospital: str) -> Actor:
    [row] = await table(services, "SELECT id FROM hospitals WHERE code = ?", hospital)
    return Actor("operator", name, row["id"], Channel.AGENT)


async def test_five_agents_race_for_one_caller_and_one_wins(services, desk_world):
    await transfer(services, "HA", "CA-race", step="main", digits="0")
    agents = [await _agent(services, f"agent{i}", "HA") for i in range(5)]
    for a in agents:  # only an available agent takes a caller (#14)
        await add_operator(services, a.name, ("agent",), "HA")
        await services.handle(SetAgentState(actor=a, state=AgentState.AVAILABLE))
    results = await asyncio.gather(
        *(services.handle(TakeCall(call_sid="CA-race", actor=a)) for a in agents)
    )
    winners = [r for r in results if r.won]
    assert len(winners) == 1
    assert {r.taken_by for r in results} == {winners[0].taken_by}
    assert len(await table(services, "SELECT * FROM audit WHERE action = 'call.take'")) == 1
    [queued] = await services.read(call_queue, agents[0])
    assert queued.taken_by == winners[0].taken_by
    other = await _agent(services, "agent_b", "HB")
    assert await services.read(call_queue, other) == []
    with pytest.raises(NotFound):
        await services.handle(TakeCall(call_sid="CA-race", actor=other))


async def test_search_and_reveal_stay_in_the_hospital(services, desk_world):
    mine, theirs = await _agent(services, "a", "HA"), await _agent(services, "b", "HB")
    cipher = services.cipher
    found = await services.read(search_patients, mine, cipher, "小明")
    assert [p.id for p in found] == [desk_world["li"]]
    assert [p.name for p in await services.read(search_patients, theirs, cipher, "5678")] == []
    assert len(await services.read(search_patients, mine, cipher, "李_")) == 0  # no wildcard
    clear = await services.handle(RevealPatient(patient_id=desk_world["li"], actor=mine))
    assert clear["phone"] == LI_PHONE
    with pytest.raises(NotFound):
        await services.handle(RevealPatient(patient_id=desk_world["li"], actor=theirs))
    rows = await table(services, "SELECT actor FROM audit WHERE action = 'patient.reveal'")
    assert rows == [{"actor": "operator:a"}]
