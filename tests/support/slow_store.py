"""A store slowed on purpose, for the time-budget tests (issue #9 item 4).

* :func:`hold_slot`: a unit that has a slot (its row locked on PostgreSQL, the single
  writer on SQLite) for ``seconds``; what comes after it waits. Returns once it is in.
* :func:`slow_commits`: the handler of one command made slow *after* its own work, so the
  unit is past its point of no return before the door's budget runs out and committed
  after it: on SQLite the unit keeps the writer past the deadline; on PostgreSQL the
  unit's last statement ends within the budget and ``COMMIT`` (a deferred trigger on
  ``bookings`` that sleeps) ends past it.
"""

from __future__ import annotations

import asyncio
import time

from booking_core import bus
from booking_core.kernel.unit import execute, one, val
from booking_core.store.base import Store


def pause(tx, seconds: float):
    """Keep the unit busy: the writer thread on SQLite, a statement on PostgreSQL."""
    if tx.dialect == "postgres":
        yield val("SELECT pg_sleep(?)", seconds)
    else:
        time.sleep(seconds)


def _hold(tx, slot_id: int, seconds: float, started):
    yield one("SELECT id FROM slots WHERE id = ?", slot_id, lock=True)
    started()
    yield from pause(tx, seconds)


async def hold_slot(store: Store, slot_id: int, seconds: float) -> asyncio.Task:
    """Start the slow unit and return its task once it has the slot."""
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    task = asyncio.create_task(
        store.write(_hold, slot_id, seconds, lambda: loop.call_soon_threadsafe(started.set))
    )
    await started.wait()
    return task


def _ddl(tx, statements):
    for statement in statements:
        yield execute(statement)


async def slow_commits(monkeypatch, store: Store, command_type: type, budget_seconds: float):
    """Make ``command_type``'s unit commit past a budget of ``budget_seconds`` although it
    reached its point of no return well within it (see the module docstring)."""
    handler = bus.COMMAND_HANDLERS[command_type]
    postgres = store.dialect == "postgres"

    def slowed(tx, *args):
        result = yield from handler(tx, *args)
        yield from pause(tx, budget_seconds * (0.6 if postgres else 1.5))
        return result

    monkeypatch.setitem(bus.COMMAND_HANDLERS, command_type, slowed)
    if postgres:
        await store.write(
            _ddl,
            (
                "CREATE OR REPLACE FUNCTION test_slow_commit() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep({budget_seconds * 0.6}); "
                "RETURN NULL; END $$",
                "CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON bookings "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()",
            ),
        )
