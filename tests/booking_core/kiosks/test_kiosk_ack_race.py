"""Two engines record the same charge ack at once (#12), on SQLite and PostgreSQL.

With several engines on one store, the broker's shared subscription hands each ack to one
of them — but a kiosk repeats an ack when a job comes again, so two engines can hold the
same ack at the same moment. Each pair below is recorded by two engines (two stores on one
database: two writers on one SQLite file, two pools on one PostgreSQL) at once: the first
ack is kept and acted on, the second changes nothing — money moves once, a charge that
can no longer be applied gets one reversal, the console is told once.

The negative control (PostgreSQL; SQLite's writers take turns anyway) takes the job's row
lock out of the ack's unit and holds the gap between reading the job and acting on it
open: both engines then act on the same ack, and a charge gets two reversals — so the race
below could have caught a broken guard."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from booking_core import kiosks
from booking_core.bus import BookingServices
from booking_core.kernel.unit import one, rows
from tests.booking_core.helpers import events
from tests.booking_core.kiosks.hall import FEE, Hall, hall, jobs, ledger
from tests.support.fixtures import open_race_services

PAIRS = 6
RACE_WINDOW_SECONDS = 0.1  # far longer than the rest of the unit


async def _engines(db_url, clock, cipher) -> tuple[BookingServices, BookingServices]:
    return (
        await open_race_services(db_url, clock, cipher),
        await open_race_services(db_url, clock, cipher),
    )


@pytest.fixture
async def engines(db_url, clock, cipher) -> AsyncIterator[tuple[BookingServices, BookingServices]]:
    pair = await _engines(db_url, clock, cipher)
    try:
        yield pair
    finally:
        for services in pair:
            await services.store.close()


async def _charges(h: Hall) -> list[kiosks.KioskJob]:
    """PAIRS held bookings of this afternoon, each with its charge sent to the kiosk."""
    charges = []
    for n in range(PAIRS):
        patient = h.patient if n == 0 else await h.world.patient(f"病人{n}")
        booking_no = await h.book(h.today[n], patient)
        charge = await h.services.handle(
            kiosks.PayAtKiosk(kiosk_id=h.kiosk.kiosk_id, booking_no=booking_no)
        )
        await h.services.handle(kiosks.MarkJobSent(job_id=charge.job_id))
        charges.append(charge)
    return charges


def _ack(h: Hall, charge: kiosks.KioskJob, n: int) -> kiosks.RecordJobAck:
    detail = {"terminal_ref": f"10000000000{n}", "amount": FEE, "card": "6222****0123"}
    return kiosks.RecordJobAck(
        kiosk_id=h.kiosk.kiosk_id, job_id=charge.job_id, outcome="done", detail=detail
    )


async def _race(engines, h: Hall, charges) -> list[kiosks.JobAcked]:
    one_, two = engines
    tasks = []
    for n, charge in enumerate(charges):
        tasks += [one_.handle(_ack(h, charge, n)), two.handle(_ack(h, charge, n))]
    return await asyncio.gather(*tasks)


async def _acked_events(services) -> Counter[str]:
    return Counter(e.key for e in await events(services) if e.topic == "kiosk.job_acked")


async def test_two_engines_recording_one_approved_charge_pay_it_once(engines, clock):
    first_engine = engines[0]
    h = await hall(first_engine, prepay=True, places=1)
    charges = await _charges(h)

    answers = await _race(engines, h, charges)

    for n in range(PAIRS):
        pair = answers[2 * n : 2 * n + 2]
        assert sorted(a.first for a in pair) == [False, True]
        assert {a.job.result for a in pair} == {"paid"}
    assert sorted(await ledger(first_engine)) == sorted(
        ("payment", "card", -FEE, f"{h.kiosk.kiosk_id}:10000000000{n}") for n in range(PAIRS)
    )
    assert len(await jobs(first_engine, kind="print_ticket")) == PAIRS
    assert await jobs(first_engine, kind="reversal") == []
    assert set((await _acked_events(first_engine)).values()) == {1}


async def _expired_race(engines, clock) -> tuple[BookingServices, list[kiosks.JobAcked]]:
    first_engine = engines[0]
    h = await hall(first_engine, prepay=True, places=1)
    charges = await _charges(h)
    clock.advance(minutes=16)  # every hold ended between the charge and its ack
    return first_engine, await _race(engines, h, charges)


async def test_two_engines_recording_one_charge_too_late_reverse_it_once(engines, clock):
    first_engine, answers = await _expired_race(engines, clock)

    assert sum(a.first for a in answers) == PAIRS
    reversals = await jobs(first_engine, kind="reversal")
    assert sorted(Counter(r.of_job for r in reversals).values()) == [1] * PAIRS
    assert len(await jobs(first_engine, kind="show_message")) == PAIRS
    assert await ledger(first_engine) == []
    assert set((await _acked_events(first_engine)).values()) == {1}


@pytest.fixture
async def pg_engines(fresh_pg_dsn, clock, cipher):
    pair = await _engines(fresh_pg_dsn, clock, cipher)
    try:
        yield pair
    finally:
        for services in pair:
            await services.store.close()


@pytest.mark.postgres
async def test_control_without_the_job_lock_a_late_charge_is_reversed_twice(
    pg_engines, clock, monkeypatch
):
    from booking_core.kiosks import acks

    def unlocked_then_linger(job_id: str):
        row = yield one("SELECT * FROM kiosk_jobs WHERE job_id = ?", job_id)
        yield one(f"SELECT pg_sleep({RACE_WINDOW_SECONDS})")
        return row

    monkeypatch.setattr(acks, "locked_job", unlocked_then_linger)
    first_engine, answers = await _expired_race(pg_engines, clock)

    reversals = await jobs(first_engine, kind="reversal")
    twice = [n for n in Counter(r.of_job for r in reversals).values() if n > 1]
    assert twice, "the race cannot fail: it proves nothing"
    assert sum(a.first for a in answers) > PAIRS

    def acked_rows(tx):
        return (yield rows("SELECT job_id FROM kiosk_jobs WHERE kind = 'charge'"))

    assert len(await first_engine.store.read(acked_rows)) == PAIRS
