"""One unit whose own event or audit rows cannot be written fails alone (issue #10 item 1).

On SQLite a batch of units shares one transaction (group commit, a SAVEPOINT per unit). A
unit's recorded rows used to be serialised and inserted for the whole batch after every
savepoint was released, so one bad value (a ``PUT /api/v1/rules`` of 10^30: "Integer
exceeds 64-bit range") rolled back every unit of the batch, other hospitals' included, and
each caller got ``store_unavailable``. The race: 40 good units and one poisoned unit queued
together (one batch on SQLite, 41 transactions on PostgreSQL): exactly the poisoned one
fails, 40 commit with their events and audit rows. The negative control runs the same
race with the rows written in the old order (``unsafe_persist_after_batch``): the whole
batch must fail, else the race could not have caught the bug.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import ClassVar

import pytest

from booking_core.events import Event, outbox
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import StoreUnavailable
from booking_core.kernel.unit import execute, val

GOOD_UNITS = 40
TOO_BIG = 2**70  # past SQLite's INTEGER, PostgreSQL's bigint and orjson's 64 bits


@dataclass(frozen=True, kw_only=True, slots=True)
class Recorded(Event):
    topic: ClassVar[str] = "test.recorded"
    key_field: ClassVar[str] = "code"

    code: str
    hold_minutes: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Untitled(Recorded):
    topic: ClassVar[str] = None  # type: ignore[assignment]  # outbox.topic is NOT NULL


class Act(StrEnum):
    RECORDED = "test.recorded"


def _record(tx, code: str, poison: str | None):
    hospital_id = yield val(
        "INSERT INTO hospitals (code, name, timezone, created_at, updated_at) "
        "VALUES (?, 'x', 'Asia/Shanghai', 0, 0) RETURNING id",
        code,
    )
    event = Recorded(hospital_id=hospital_id, code=code)
    if poison == "payload":  # orjson cannot serialise it
        event = replace(event, hold_minutes=TOO_BIG)
    elif poison == "integer":  # a parameter no 64-bit column holds
        event = replace(event, hospital_id=TOO_BIG)
    elif poison == "constraint":
        event = Untitled(hospital_id=hospital_id, code=code)
    tx.emit(event)
    tx.audit(SYSTEM, Act.RECORDED, "hospital", hospital_id, hospital_id=hospital_id)
    return code


def _counts(tx):
    hospitals = yield val("SELECT count(*) FROM hospitals")
    audits = yield val("SELECT count(*) FROM audit WHERE action = 'test.recorded'")
    deliveries = yield val("SELECT count(*) FROM outbox_deliveries WHERE consumer = 'test'")
    return hospitals, audits, deliveries


async def _race(store, poison: str, *, one_batch: bool = True):
    codes = [f"G{i:02d}" for i in range(GOOD_UNITS)]
    codes.insert(GOOD_UNITS // 2, "BAD")  # in the middle of the batch
    batches = getattr(store, "batches", 0)
    results = await asyncio.gather(
        *(store.write(_record, code, poison if code == "BAD" else None) for code in codes),
        return_exceptions=True,
    )
    if store.dialect == "sqlite" and one_batch:
        assert store.batches == batches + 1, "the 41 units were not one batch"
    return dict(zip(codes, results, strict=True))


@pytest.mark.parametrize("poison", ["payload", "integer", "constraint"])
async def test_a_unit_whose_rows_cannot_be_written_fails_alone(store, poison):
    results = await _race(store, poison)
    failed = {code: r for code, r in results.items() if isinstance(r, BaseException)}
    assert list(failed) == ["BAD"], failed
    assert not isinstance(failed["BAD"], StoreUnavailable)  # its own fault, not the store's
    assert await store.read(_counts) == (GOOD_UNITS, GOOD_UNITS, GOOD_UNITS)
    events = await store.read(lambda tx: outbox.events(tx, topic="test.recorded"))
    assert sorted(e.key for e in events) == sorted(c for c in results if c != "BAD")
    assert [e.id for e in events] == sorted({e.id for e in events})  # numbered, no repeats
    # the writer goes on: the next unit's events are numbered after these
    assert await store.write(_record, "AFTER", None) == "AFTER"
    after = await store.read(lambda tx: outbox.events(tx, key="AFTER"))
    assert after[0].id > events[-1].id


# SQLite only: PostgreSQL runs each unit in its own transaction, so there is no batch
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("poison", ["payload", "integer", "constraint"])
async def test_negative_control_rows_written_after_the_batch_fail_it_whole(store, poison, caplog):
    assert store.dialect == "sqlite"
    store.unsafe_persist_after_batch = True
    results = await _race(store, poison, one_batch=False)  # it failed: not counted
    good = [r for code, r in results.items() if code != "BAD"]
    assert all(isinstance(r, StoreUnavailable) for r in good), good
    assert await store.read(_counts) == (0, 0, 0)
    assert "write batch of 41 failed" in caplog.text


async def test_a_unit_with_a_huge_query_parameter_fails_alone(store):
    """The unit's own statement refuses the value: that was already the unit's alone."""

    def huge(tx, code):
        yield execute("UPDATE hospitals SET updated_at = ? WHERE code = ?", TOO_BIG, code)

    results = await asyncio.gather(
        *(store.write(_record, f"G{i:02d}", None) for i in range(20)),
        store.write(huge, "G00"),
        *(store.write(_record, f"H{i:02d}", None) for i in range(20)),
        return_exceptions=True,
    )
    assert [type(r) for r in results].count(str) == GOOD_UNITS
    assert isinstance(results[20], Exception)
    assert (await store.read(_counts))[0] == GOOD_UNITS
