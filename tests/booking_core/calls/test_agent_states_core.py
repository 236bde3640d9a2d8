"""On SQLite and on PostgreSQL: agent states (坐席状态) and their audit, taking a caller
only when available, busy → wrap-up → the wrap-up form → available, the wrap-up limit on
the injected clock, one winner among agents and one caller per agent, and the workload
and call-outcome reports."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest

from booking_core import calls, reports
from booking_core.calls import AgentState, Disposition
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import AgentNotAvailable, InvalidInput, NotFound
from tests.agent_console.desk.desk_world import build, transfer
from tests.agent_console.helpers import add_operator, table

DAY = date(2026, 7, 10)  # the clock fixture's local day


@pytest.fixture
async def desk(services):
    return await build(services)


async def _agent(services, name: str, hospital: str = "HA") -> Actor:
    [row] = await table(services, "SELECT id FROM hospitals WHERE code = ?", hospital)
    return Actor("operator", name, row["id"], Channel.AGENT)


async def _set(services, who: Actor, state: AgentState):
    return await services.handle(calls.SetAgentState(actor=who, state=state))


async def _state(services, who: Actor) -> AgentState:
    return (await services.read(calls.agent_status, who)).state


async def test_states_are_chosen_logged_and_audited(services, desk, clock):
    a = await _agent(services, "agent_a")
    assert await _state(services, a) is AgentState.OFFLINE  # no row yet
    await _set(services, a, AgentState.AVAILABLE)
    clock.advance(minutes=5)
    status = await _set(services, a, AgentState.BREAK)
    assert (status.state, status.since) == (AgentState.BREAK, clock.now())
    await _set(services, a, AgentState.BREAK)  # already: nothing written
    await _set(services, a, AgentState.OFFLINE)
    with pytest.raises(InvalidInput):
        await _set(services, a, AgentState.BUSY)  # busy comes from a call, not a choice
    log = await table(services, "SELECT state FROM agent_state_changes ORDER BY id")
    assert [r["state"] for r in log] == ["available", "break", "offline"]
    audit = await table(
        services, "SELECT actor, before_state, after_state FROM audit WHERE action = 'agent.state'"
    )
    assert [json.loads(r["before_state"])["state"] for r in audit] == [
        "offline",
        "available",
        "break",
    ]
    assert {r["actor"] for r in audit} == {"operator:agent_a"}
    everyone = await services.read(calls.agent_states, a)
    assert [(s.username, s.state) for s in everyone] == [
        ("agent_a", AgentState.OFFLINE),
        ("agent_a2", AgentState.OFFLINE),
    ]  # HA's agents only; agent_b is HB's


async def test_an_agent_who_is_not_available_cannot_take_a_caller(services, desk):
    await transfer(services, "HA", "CA-1")
    a = await _agent(services, "agent_a")
    with pytest.raises(AgentNotAvailable) as offline:
        await services.handle(calls.TakeCall(actor=a, call_sid="CA-1"))
    assert offline.value.state == "offline"
    await _set(services, a, AgentState.BREAK)
    with pytest.raises(AgentNotAvailable) as on_break:
        await services.handle(calls.TakeCall(actor=a, call_sid="CA-1"))
    assert on_break.value.state == "break"
    [queued] = await services.read(calls.call_queue, a)
    assert queued.taken_by is None
    assert await table(services, "SELECT * FROM audit WHERE action = 'call.take'") == []
    await _set(services, a, AgentState.AVAILABLE)
    assert (await services.handle(calls.TakeCall(actor=a, call_sid="CA-1"))).won


async def test_take_busy_wrap_up_form_available(services, desk, clock):
    await transfer(services, "HA", "CA-1")
    a, a2 = await _agent(services, "agent_a"), await _agent(services, "agent_a2")
    await _set(services, a, AgentState.AVAILABLE)
    await services.handle(calls.TakeCall(actor=a, call_sid="CA-1"))
    busy = await services.read(calls.agent_status, a)
    assert (busy.state, busy.call_sid) == (AgentState.BUSY, "CA-1")
    with pytest.raises(InvalidInput):
        await _set(services, a, AgentState.BREAK)  # on a call: end it first
    clock.advance(minutes=3)
    wrap = await services.handle(
        calls.FinishAgentCall(actor=a, call_sid="CA-1", wrap_up_seconds=120)
    )
    assert (wrap.state, wrap.call_sid) == (AgentState.WRAP_UP, "CA-1")
    again = await services.handle(calls.FinishAgentCall(actor=a, call_sid="CA-1"))
    assert again.since == wrap.since  # finishing twice changes nothing
    with pytest.raises(InvalidInput):
        await services.handle(
            calls.WrapUpCall(
                actor=a, call_sid="CA-1", disposition=Disposition.BOOKED, summary="长" * 501
            )
        )
    with pytest.raises(NotFound):  # only the agent who answered wraps it up
        await services.handle(
            calls.WrapUpCall(actor=a2, call_sid="CA-1", disposition=Disposition.OTHER)
        )
    done = await services.handle(
        calls.WrapUpCall(
            actor=a, call_sid="CA-1", disposition=Disposition.BOOKED, summary=" 张三 约骨科 "
        )
    )
    assert done.state is AgentState.AVAILABLE
    [call] = await table(
        services,
        "SELECT disposition, summary, wrapped_at, answered_at, agent_id FROM calls "
        "WHERE call_sid = 'CA-1'",
    )
    assert (call["disposition"], call["summary"]) == ("booked", "张三 约骨科")
    assert call["wrapped_at"] - call["answered_at"] == 180
    [audit] = await table(services, "SELECT after_state FROM audit WHERE action = 'call.wrap_up'")
    assert "张三" not in audit["after_state"]  # the summary may name the patient
    log = await table(services, "SELECT state, call_sid FROM agent_state_changes ORDER BY id")
    assert [(r["state"], r["call_sid"]) for r in log] == [
        ("available", None),
        ("busy", "CA-1"),
        ("wrap_up", "CA-1"),
        ("available", None),
    ]


async def test_the_wrap_up_limit_passes_on_the_clock(services, desk, clock):
    await transfer(services, "HA", "CA-1")
    await transfer(services, "HA", "CA-2")
    a = await _agent(services, "agent_a")
    await _set(services, a, AgentState.AVAILABLE)
    await services.handle(calls.TakeCall(actor=a, call_sid="CA-1"))
    await services.handle(calls.FinishAgentCall(actor=a, call_sid="CA-1", wrap_up_seconds=120))
    finished = clock.now()
    clock.advance(seconds=119)
    assert await _state(services, a) is AgentState.WRAP_UP
    with pytest.raises(AgentNotAvailable):
        await services.handle(calls.TakeCall(actor=a, call_sid="CA-2"))
    clock.advance(seconds=1)
    status = await services.read(calls.agent_status, a)
    assert (status.state, (status.since - finished).total_seconds()) == (AgentState.AVAILABLE, 120)
    [listed] = [s for s in await services.read(calls.agent_states, a) if s.username == "agent_a"]
    assert listed.state is AgentState.AVAILABLE
    clock.advance(seconds=30)
    assert (await services.handle(calls.TakeCall(actor=a, call_sid="CA-2"))).won
    log = await table(services, "SELECT state, at FROM agent_state_changes ORDER BY id")
    lapse = log[3]
    assert (lapse["state"], lapse["at"]) == ("available", log[2]["at"] + 120)  # timed truly
    assert log[4]["state"] == "busy"


async def test_the_caller_hanging_up_starts_the_wrap_up_with_the_takes_limit(services, desk, clock):
    await transfer(services, "HA", "CA-1")
    a = await _agent(services, "agent_a")
    await _set(services, a, AgentState.AVAILABLE)
    await services.handle(calls.TakeCall(actor=a, call_sid="CA-1", wrap_up_seconds=45))
    clock.advance(minutes=2)
    await services.handle(calls.EndCall(call_sid="CA-1", status="completed"))
    status = await services.read(calls.agent_status, a)
    assert (status.state, status.call_sid) == (AgentState.WRAP_UP, "CA-1")
    assert (status.wrap_up_until - status.since).total_seconds() == 45
    again = await services.handle(calls.FinishAgentCall(actor=a, call_sid="CA-1"))
    assert again == status  # the agent's own "end the call" after it: nothing more
    await services.handle(calls.EndCall(call_sid="CA-1", status="completed"))  # a repeat
    clock.advance(seconds=45)
    assert await _state(services, a) is AgentState.AVAILABLE
    [change] = await table(
        services, "SELECT actor FROM audit WHERE action = 'agent.state' AND after_state LIKE ?",
        '%wrap_up"%',
    )  # fmt: skip
    assert change["actor"] == "system:engine"
    await services.handle(
        calls.WrapUpCall(actor=a, call_sid="CA-1", disposition=Disposition.INFORMATION)
    )  # wrapped up late: stored with the call, the agent stays available
    assert await _state(services, a) is AgentState.AVAILABLE


async def test_five_available_agents_race_for_one_caller_and_one_wins(services, desk):
    await transfer(services, "HA", "CA-race")
    agents = []
    for i in range(5):
        await add_operator(services, f"racer{i}", ("agent",), "HA")
        agents.append(await _agent(services, f"racer{i}"))
        await _set(services, agents[-1], AgentState.AVAILABLE)
    results = await asyncio.gather(
        *(services.handle(calls.TakeCall(call_sid="CA-race", actor=a)) for a in agents)
    )
    [winner] = [r for r in results if r.won]
    states = {a.name: await _state(services, a) for a in agents}
    assert states.pop(winner.taken_by) is AgentState.BUSY
    assert set(states.values()) == {AgentState.AVAILABLE}  # the losers are still free
    assert len(await table(services, "SELECT * FROM agent_state_changes WHERE state = 'busy'")) == 1


async def test_one_agent_taking_two_callers_at_once_gets_one(services, desk):
    await transfer(services, "HA", "CA-1")
    await transfer(services, "HA", "CA-2")
    a = await _agent(services, "agent_a")
    await _set(services, a, AgentState.AVAILABLE)
    results = await asyncio.gather(
        *(services.handle(calls.TakeCall(call_sid=s, actor=a)) for s in ("CA-1", "CA-2")),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AgentNotAvailable)]
    assert (len(won), len(refused)) == (1, 1)
    queue = await services.read(calls.call_queue, a)
    assert sorted(c.taken_by or "" for c in queue) == ["", "agent_a"]  # the other still waits


async def test_reports_count_dispositions_and_times(services, desk, clock):
    for sid in ("CA-1", "CA-2", "CA-3"):
        await transfer(services, "HA", sid)
    a, a2 = await _agent(services, "agent_a"), await _agent(services, "agent_a2")
    await _set(services, a, AgentState.AVAILABLE)  # 09:00
    clock.advance(minutes=10)
    await services.handle(calls.TakeCall(actor=a, call_sid="CA-1"))  # 09:10
    clock.advance(minutes=5)
    await services.handle(calls.FinishAgentCall(actor=a, call_sid="CA-1", wrap_up_seconds=120))
    clock.advance(minutes=15)  # the wrap-up lapsed at 09:17, never wrapped up
    await _set(services, a, AgentState.BREAK)  # 09:30
    clock.advance(minutes=10)
    await _set(services, a, AgentState.AVAILABLE)  # 09:40
    clock.advance(minutes=10)
    await services.handle(calls.TakeCall(actor=a, call_sid="CA-2"))  # 09:50
    clock.advance(minutes=2)
    await services.handle(calls.FinishAgentCall(actor=a, call_sid="CA-2", wrap_up_seconds=120))
    clock.advance(minutes=1)
    await services.handle(
        calls.WrapUpCall(actor=a, call_sid="CA-2", disposition=Disposition.BOOKED)
    )  # 09:53
    await _set(services, a2, AgentState.AVAILABLE)
    await services.handle(calls.TakeCall(actor=a2, call_sid="CA-3"))
    clock.advance(minutes=1)
    await services.handle(
        calls.WrapUpCall(actor=a2, call_sid="CA-3", disposition=Disposition.COMPLAINT)
    )  # straight from busy: talk 60 s, no wrap-up time
    clock.advance(minutes=6)  # 10:00
    span = {"hospital_code": None, "day_from": DAY, "day_to": DAY}
    found = await services.read(reports.report, a, **span)
    assert found["call_dispositions"] == [("booked", 1), ("complaint", 1), ("none", 1)]
    mine, theirs = found["agent_times"]
    assert mine == {
        "operator": "agent_a",
        "name": "操作员agent_a",
        "calls": 2,
        "talk_seconds": 420,
        "average_talk_seconds": 210,
        "wrap_up_seconds": 180,
        "break_seconds": 600,
        "available_seconds": 600 + 780 + 600 + 420,
    }
    assert (theirs["operator"], theirs["calls"], theirs["talk_seconds"]) == ("agent_a2", 1, 60)
    assert (theirs["wrap_up_seconds"], theirs["available_seconds"]) == (0, 360)
    other_day = {**span, "day_from": date(2026, 7, 11), "day_to": date(2026, 7, 11)}
    later = await services.read(reports.report, a, **other_day)
    assert (later["call_dispositions"], later["agent_times"]) == ([], [])
    clock.advance(days=1)  # 10:00 the next day: available since yesterday, counted from 00:00
    carried = await services.read(reports.agent_workload, a, **other_day)
    assert [(r["operator"], r["available_seconds"]) for r in carried] == [
        ("agent_a", 10 * 3600),
        ("agent_a2", 10 * 3600),
    ]
    theirs_hb = await services.read(reports.report, await _agent(services, "agent_b", "HB"), **span)
    assert theirs_hb["agent_times"] == []


CALLERS = 10  # one agent clicks "take" on ten callers at once (a desk open in many tabs)


async def _race_one_agent_for_many_callers(services) -> list:
    await build(services)
    for i in range(CALLERS):
        await transfer(services, "HA", f"CA-r{i}")
    a = await _agent(services, "agent_a")
    await _set(services, a, AgentState.AVAILABLE)
    return await asyncio.gather(
        *(services.handle(calls.TakeCall(call_sid=f"CA-r{i}", actor=a)) for i in range(CALLERS)),
        return_exceptions=True,
    )


async def test_one_agent_racing_for_ten_callers_takes_one(race_services):
    results = await _race_one_agent_for_many_callers(race_services)
    assert sum(1 for r in results if not isinstance(r, BaseException) and r.won) == 1
    assert all(isinstance(r, AgentNotAvailable) for r in results if isinstance(r, BaseException))
    taken = await table(race_services, "SELECT call_sid FROM calls WHERE agent_id IS NOT NULL")
    assert len(taken) == 1  # the refused takes kept nothing


RACE_WINDOW_SECONDS = 0.1  # far longer than a read and an update; 10 units start within it


def _unguarded_occupy(tx, actor, operator, call_sid, wrap_up_seconds=120):
    """``occupy`` without its compare-and-set (busy whatever the state was), the gap after
    the availability read held open (as tests/booking_core/bookings/test_concurrency.py's
    controls do), so the race shows on a loaded machine too."""
    from booking_core.kernel.unit import execute, one

    yield one(f"SELECT pg_sleep({RACE_WINDOW_SECONDS})")
    yield execute(
        "UPDATE agent_states SET state = 'busy', since = ?, call_sid = ? WHERE operator_id = ?",
        tx.epoch,
        call_sid,
        operator["id"],
    )


@pytest.mark.postgres
async def test_control_without_the_agent_guard_one_agent_takes_many(
    fresh_pg_dsn, clock, cipher, monkeypatch
):
    """The race above must be able to fail: with the compare-and-set taken out of
    ``occupy`` (the availability read before it stays), one agent gets several callers on
    PostgreSQL, whose transactions run truly side by side (SQLite's one writer is serial)."""
    from booking_core.calls import handlers
    from tests.support.fixtures import open_race_services

    monkeypatch.setattr(handlers, "occupy", _unguarded_occupy)
    services = await open_race_services(fresh_pg_dsn, clock, cipher)
    try:
        results = await _race_one_agent_for_many_callers(services)
    finally:
        await services.store.close()
    assert sum(1 for r in results if not isinstance(r, BaseException) and r.won) > 1
