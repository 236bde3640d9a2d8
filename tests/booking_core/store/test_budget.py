"""A door's time budget kept by the store (issue #9 item 4), on SQLite and on PostgreSQL.

The store is slowed on purpose, never raced against a sleep: a unit that holds the slot
(a row lock on PostgreSQL, the single writer on SQLite) for longer than the budget, and a
booking whose commit is slow (SQLite: the unit keeps the writer past the deadline;
PostgreSQL: a deferred trigger that sleeps inside ``COMMIT``). Every case checks the one
promise: a "busy" answer means nothing was booked, and a booking made was answered with
its number. The negative control runs the slow commit with the test-only
``store.unsafe_abandon_started`` (the caller's cancellation drops a started unit, as the
doors had it before): the door then says "busy" for a booking that exists.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from booking_core import bookings
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import NotStarted, StoreUnavailable
from booking_core.kernel.unit import one, val
from booking_core.store.budget import priority, within
from tests.support.slow_store import hold_slot, slow_commits
from tests.support.world import first_slot

DAY = date(2026, 7, 15)
BUDGET_SECONDS = 0.5
HOLD_SECONDS = 1.2  # the slow unit keeps the slot this long: well past the budget


async def _world(world):
    session = await world.basic(DAY, places=3)
    slot_id = await first_slot(world.services, session.id)
    patient = await world.patient("张三")
    return slot_id, patient


def _committing(tx):
    """PostgreSQL: another connection is inside COMMIT (the slow trigger sleeps there)."""
    return (
        yield val(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
            " AND query ILIKE 'COMMIT%' AND pid <> pg_backend_pid()"
        )
    )


async def _until_committing(store) -> None:
    for _ in range(500):
        if await store.read(_committing):
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the unit never reached COMMIT")


def _bookings_of(tx, patient_id):
    return (yield val("SELECT count(*) FROM bookings WHERE patient_id = ?", patient_id))


async def door(services, command) -> tuple[str, object, float]:
    """What a door with a budget does: ("answered", view) or ("busy", None), and when."""
    began = time.monotonic()
    try:
        async with within(BUDGET_SECONDS):
            view = await services.handle(command)
    except (TimeoutError, StoreUnavailable):
        return "busy", None, time.monotonic() - began
    return "answered", view, time.monotonic() - began


async def test_a_booking_queued_behind_a_slow_unit_is_never_made_when_busy_is_said(services, world):
    slot_id, patient = await _world(world)
    slow = await hold_slot(services.store, slot_id, HOLD_SECONDS)

    said, _, after = await door(
        services, bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.IVR)
    )
    await slow  # the slow unit is done: anything queued behind it had its chance to run
    await asyncio.sleep(0)

    assert said == "busy"
    assert after < HOLD_SECONDS  # the door did not wait for the slow unit
    assert await services.store.read(_bookings_of, patient.id) == 0  # "busy" was true
    # and the place is still there for the resend
    view = await services.handle(
        bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.IVR)
    )
    assert view.booking.place_no == 1


async def test_a_unit_whose_deadline_passed_in_the_queue_raises_not_started(services, world):
    slot_id, patient = await _world(world)
    slow = await hold_slot(services.store, slot_id, HOLD_SECONDS)
    command = bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.API)

    async def no_timer():  # the deadline alone, without the door's cancellation
        async with within(BUDGET_SECONDS) as budget:
            budget._timeout.reschedule(None)
            return await services.handle(command)

    with pytest.raises(NotStarted):
        await no_timer()
    await slow
    assert await services.store.read(_bookings_of, patient.id) == 0


# --- a slow commit ----------------------------------------------------------------------------


@pytest.fixture
def slow_commit(services, monkeypatch):
    """Bookings whose commit ends past the budget, though started well within it."""

    async def arm():
        await slow_commits(monkeypatch, services.store, bookings.BookSlot, BUDGET_SECONDS)

    return arm


async def _door_on_a_slow_commit(services, world, slow_commit):
    slot_id, patient = await _world(world)
    await slow_commit()
    said, view, after = await door(
        services, bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.SMS)
    )
    await asyncio.sleep(HOLD_SECONDS)  # a unit the door stopped waiting for would commit by now
    made = await services.store.read(_bookings_of, patient.id)
    return said, view, after, made


async def test_a_booking_committed_past_the_budget_is_answered_with_its_number(
    services, world, slow_commit
):
    said, view, after, made = await _door_on_a_slow_commit(services, world, slow_commit)

    assert after > BUDGET_SECONDS  # the commit did end past the budget: the case is real
    assert said == "answered"
    assert made == 1
    assert len(view.booking.booking_no) == 9


async def test_control_a_slow_commit_is_answered_busy_and_booked_without_the_guard(
    services, world, slow_commit
):
    services.store.unsafe_abandon_started = True
    said, _view, _after, made = await _door_on_a_slow_commit(services, world, slow_commit)

    lied = said == "busy" and made == 1
    assert lied, "the case cannot fail: it proves nothing"


# --- after a change, the rest of the door's work is not cut short ----------------------------


async def test_once_a_change_is_committed_the_rest_of_the_doors_work_runs(
    services, world, slow_commit
):
    """A door that books and then stores its answer: the second unit runs although the
    budget has passed (else the door would say "busy" about a booking it made)."""
    slot_id, patient = await _world(world)
    await slow_commit()
    command = bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.IVR)
    began = time.monotonic()
    async with within(BUDGET_SECONDS) as budget:
        view = await services.handle(command)
        assert budget.held
        recorded = await services.store.write(_note, view.booking.booking_no)
    assert time.monotonic() - began > BUDGET_SECONDS
    assert recorded == view.booking.booking_no


def _note(tx, booking_no):
    row = yield one("SELECT booking_no FROM bookings WHERE booking_no = ?", booking_no)
    return row["booking_no"]


async def test_a_bookkeeping_unit_does_not_hold_the_budget(services, world):
    slot_id, patient = await _world(world)
    del slot_id, patient
    async with within(5.0) as budget:
        await services.store.write(_note_nothing, holds=False)
        assert not budget.held
        await services.store.write(_note_nothing)
        assert budget.held


def _note_nothing(tx):
    yield val("SELECT 1")


async def test_a_priority_deadline_orders_the_queue_and_refuses_nothing(services, world):
    slot_id, patient = await _world(world)
    with priority(0.0) as budget:  # long past by the time the unit runs
        await asyncio.sleep(0.01)
        view = await services.handle(
            bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.SMS)
        )
    assert not budget.expired()
    assert view.booking.place_no == 1


# --- a cancellation that is not the door's budget is passed on -------------------------------


async def test_a_task_cancelled_by_its_owner_stops_though_its_unit_was_started(
    services, world, slow_commit
):
    """Only the budget's own timeout is absorbed: a worker cancelled at shutdown while its
    unit commits must end cancelled (else ``task.cancel(); await task`` waits forever),
    and the unit it started still commits."""
    slot_id, patient = await _world(world)
    await slow_commit()
    command = bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.API)
    worker = asyncio.create_task(services.handle(command))
    # past its point of no return: inside the writer's batch (SQLite), inside COMMIT (PG)
    if services.store.dialect == "postgres":
        await _until_committing(services.store)  # not a sleep: a loaded box starts it later
    else:
        await asyncio.sleep(BUDGET_SECONDS * 0.5)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(worker, HOLD_SECONDS * 4)
    await asyncio.sleep(HOLD_SECONDS)
    assert await services.store.read(_bookings_of, patient.id) == 1
