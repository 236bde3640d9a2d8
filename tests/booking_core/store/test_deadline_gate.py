"""The PostgreSQL pool's connections go to the earliest deadline first (issue #9 item 5):
under a storm, a caller's step (2.5 s budget) is not queued behind HIS requests that can
wait. The gate alone, then through a real PostgreSQL store with a one-connection pool."""

from __future__ import annotations

import asyncio

import pytest

from booking_core.kernel.unit import val
from booking_core.store import make_store
from booking_core.store.budget import priority, within
from booking_core.store.gate import DeadlineGate
from tests.support.slow_store import pause


async def test_waiters_are_served_by_deadline_then_by_arrival():
    gate = DeadlineGate(1)
    await gate.acquire(None)  # the one place is taken
    served: list[str] = []

    async def wait(name: str, deadline: float | None) -> None:
        await gate.acquire(deadline)
        served.append(name)
        gate.release()

    tasks = [
        asyncio.create_task(wait(name, deadline))
        for name, deadline in (("api-1", None), ("ivr-late", 20.0), ("api-2", None), ("ivr", 10.0))
    ]
    await asyncio.sleep(0)  # all four are waiting
    assert gate.waiting == 4
    gate.release()
    await asyncio.gather(*tasks)
    assert served == ["ivr", "ivr-late", "api-1", "api-2"]
    assert gate.free == 1


async def test_a_waiter_that_gives_up_passes_its_turn_on():
    gate = DeadlineGate(1)
    await gate.acquire(None)
    quitter = asyncio.create_task(gate.acquire(1.0))
    patient = asyncio.create_task(gate.acquire(None))
    await asyncio.sleep(0)
    quitter.cancel()
    gate.release()
    await patient  # the place went on to the next waiter
    assert gate.free == 0
    gate.release()
    assert gate.free == 1


def _order(tx, name, order):
    order.append(name)
    yield val("SELECT 1")


def _hold(tx, seconds, started):
    started()
    yield from pause(tx, seconds)


@pytest.mark.postgres
async def test_the_postgres_store_starts_the_unit_with_a_budget_first(fresh_pg_dsn, clock):
    store = make_store(fresh_pg_dsn, clock, pg_pool_min=1, pg_pool_max=1)
    await store.open()
    try:
        started = asyncio.Event()
        slow = asyncio.create_task(store.write(_hold, 0.3, started.set))
        await started.wait()  # the only connection is taken
        order: list[str] = []

        async def with_budget():
            async with within(5.0):
                await store.write(_order, "ivr", order)

        api = asyncio.create_task(store.write(_order, "api", order))
        await asyncio.sleep(0.01)  # the API unit queues first
        ivr = asyncio.create_task(with_budget())
        await asyncio.gather(slow, api, ivr)
        assert order == ["ivr", "api"]
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_texts_priority_goes_before_work_without_a_deadline(fresh_pg_dsn, clock):
    store = make_store(fresh_pg_dsn, clock, pg_pool_min=1, pg_pool_max=1)
    await store.open()
    try:
        started = asyncio.Event()
        slow = asyncio.create_task(store.write(_hold, 0.3, started.set))
        await started.wait()
        order: list[str] = []
        api = asyncio.create_task(store.write(_order, "api", order))
        await asyncio.sleep(0.01)
        with priority(5.0):
            sms = asyncio.create_task(store.write(_order, "sms", order))
        await asyncio.gather(slow, api, sms)
        assert order == ["sms", "api"]
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_rollback_is_finished_before_the_connection_goes_back(fresh_pg_dsn, clock):
    """A unit stopped by its deadline is rolled back; the door's cancellation arriving
    during that ROLLBACK (its timer, a moment later) must not hand the pool a connection
    still in the middle of it (asyncpg then fails the release: a 500 instead of "busy")."""
    from booking_core.store import postgres

    store = make_store(fresh_pg_dsn, clock, pg_pool_min=1, pg_pool_max=1)
    await store.open()
    try:
        async with store._pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("SELECT 1")
            rolling = asyncio.create_task(postgres._rollback(conn))
            await asyncio.sleep(0)  # the ROLLBACK is on its way
            rolling.cancel()
            await rolling
            assert not conn.is_in_transaction()
        assert await store.read(_one) == 1  # the pool's connection is fine
    finally:
        await store.close()


def _one(tx):
    return (yield val("SELECT 1"))
