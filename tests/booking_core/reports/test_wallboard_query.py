"""The wallboard's numbers (reports.wallboard), in one read, on both stores: callers waiting
and the longest wait, handled, abandoned, the service level (within the threshold of the
transfer), bookings today by channel; "today" is the hospital's local date, not UTC's."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core import calls, reports
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import NotFound
from tests.agent_console.desk.desk_world import transfer
from tests.agent_console.helpers import add_operator
from tests.support.world import World, local, slot_ids

DAY = date(2026, 7, 12)


async def _available(services, name: str, hospital_id: int) -> Actor:
    """The operator ``name`` (an agent of HA, added when new) goes available (置闲)."""
    agent = Actor("operator", name, hospital_id, Channel.AGENT)
    try:
        await services.handle(calls.SetAgentState(actor=agent, state=calls.AgentState.AVAILABLE))
    except NotFound:
        await add_operator(services, name, ("agent",), "HA")
        await services.handle(calls.SetAgentState(actor=agent, state=calls.AgentState.AVAILABLE))
    return agent


async def _take(services, sid: str, hospital_id: int, name: str = "") -> None:
    """An agent of its own (by default named after the call) goes available and takes it."""
    agent = await _available(services, name or f"agent-{sid.lower()}", hospital_id)
    taken = await services.handle(calls.TakeCall(call_sid=sid, actor=agent))
    assert taken.won


async def _end(services, sid: str) -> None:
    await services.handle(calls.EndCall(call_sid=sid, status="completed"))


@pytest.fixture
async def floor(services, clock):
    """HA's day so far: 2 handled (one within 20 s), 1 abandoned, 2 waiting, 3 bookings
    made today (2 by phone, 1 at the desk), and what must not count (yesterday's, HB's)."""
    ha = World(services, "HA")
    session = await ha.basic(DAY, places=6)
    hb = World(services, "HB")
    await hb.basic(DAY, places=1)
    hospital_a = (await ha.hospital()).id
    await World(services, "HB").hospital()
    patients = await ha.patients(4)
    slots = await slot_ids(services, session.id)

    clock.set(local(2026, 7, 9, 23, 59, 50))  # yesterday, local: counts nowhere today
    await transfer(services, "HA", "C-yesterday")
    await ha.book(slots[0], patients[0], Channel.IVR)
    clock.set(local(2026, 7, 10, 0, 0, 10))
    await _end(services, "C-yesterday")

    clock.set(local(2026, 7, 10, 9, 0))
    await transfer(services, "HA", "C-quick")
    clock.advance(seconds=10)
    await _take(services, "C-quick", hospital_a)
    await transfer(services, "HA", "C-slow")
    clock.advance(seconds=30)
    await _take(services, "C-slow", hospital_a)
    await transfer(services, "HA", "C-gone")
    clock.advance(seconds=5)
    await _end(services, "C-gone")
    await ha.book(slots[1], patients[1], Channel.IVR)
    await ha.book(slots[2], patients[2], Channel.IVR)
    await ha.book(slots[3], patients[3], Channel.AGENT)
    clock.set(local(2026, 7, 10, 9, 5))
    await transfer(services, "HA", "C-wait-1")
    clock.set(local(2026, 7, 10, 9, 6))
    await transfer(services, "HA", "C-wait-2")
    await transfer(services, "HB", "C-other")  # another hospital's caller
    clock.set(local(2026, 7, 10, 9, 7))
    return hospital_a


async def test_the_numbers_of_the_day(services, clock, floor):
    board = await services.read(reports.wallboard, SYSTEM, floor)
    assert board.day == date(2026, 7, 10)
    assert (board.waiting, board.handled, board.abandoned) == (2, 2, 1)
    assert board.oldest_waiting_at == local(2026, 7, 10, 9, 5)
    assert board.longest_wait_seconds(clock.now()) == 120
    assert (board.answered_in_time, board.service_level) == (1, round(1 / 3, 4))
    assert board.service_level_seconds == 20
    assert board.bookings_by_channel == (("ivr", 2), ("agent", 1))
    wider = await services.read(reports.wallboard, SYSTEM, floor, service_level_seconds=30)
    assert (wider.answered_in_time, wider.service_level) == (2, round(2 / 3, 4))


async def test_a_caller_taken_or_gone_stops_waiting(services, clock, floor):
    await _take(services, "C-wait-1", floor)
    await _end(services, "C-wait-2")
    board = await services.read(reports.wallboard, SYSTEM, floor)
    assert (board.waiting, board.oldest_waiting_at, board.longest_wait_seconds(clock.now())) == (
        0,
        None,
        0,
    )
    assert (board.handled, board.abandoned) == (3, 2)


async def test_today_is_the_hospitals_local_date(services, clock, floor):
    clock.set(local(2026, 7, 10, 23, 59))
    assert (await services.read(reports.wallboard, SYSTEM, floor)).handled == 2
    clock.set(local(2026, 7, 11, 0, 1))  # still 2026-07-10 in UTC
    assert clock.now().date() == date(2026, 7, 10)
    board = await services.read(reports.wallboard, SYSTEM, floor)
    assert board.day == date(2026, 7, 11)
    assert (board.handled, board.abandoned, board.service_level) == (0, 0, None)
    assert board.bookings_by_channel == ()


async def test_an_empty_day_and_another_hospitals_actor(services, floor):
    other = (await World(services, "HB").hospital()).id
    board = await services.read(reports.wallboard, SYSTEM, other)
    assert (board.waiting, board.handled, board.service_level) == (1, 0, None)
    stranger = Actor("operator", "agent_b", other, Channel.AGENT)
    with pytest.raises(NotFound):
        await services.read(reports.wallboard, stranger, floor)


async def test_agents_by_state_on_the_wallboard(services, floor, clock):
    """Agents by state, as the agents' own commands leave them: a wrap-up past its limit
    counts as available; an agent who never went available is offline; a clerk is no agent."""
    await _available(services, "agent_b", floor)
    await transfer(services, "HA", "C-agents")
    await _take(services, "C-agents", floor, "agent_c")  # busy
    await add_operator(services, "agent_d", ("agent",), "HA")  # never available: offline
    await add_operator(services, "clerk", ("hospital_admin",), "HA")  # not an agent
    await transfer(services, "HA", "C-wrap")
    await _take(services, "C-wrap", floor, "agent_e")
    wrap = Actor("operator", "agent_e", floor, Channel.AGENT)
    await services.handle(calls.FinishAgentCall(actor=wrap, call_sid="C-wrap", wrap_up_seconds=60))
    before = dict((await services.read(reports.wallboard, SYSTEM, floor)).agents)
    clock.advance(seconds=61)
    after = dict((await services.read(reports.wallboard, SYSTEM, floor)).agents)
    # the floor's own agents took C-quick and C-slow and are still busy on them
    assert before == {"available": 1, "busy": 3, "wrap_up": 1, "break": 0, "offline": 1}
    assert after == {"available": 2, "busy": 3, "wrap_up": 0, "break": 0, "offline": 1}
