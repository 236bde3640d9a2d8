"""Appeals and strikes under concurrency, on both stores: twenty appeals of one ban at once
file exactly one (the others: ``appeal_pending``); five no-show sweeps at once count one
strike. The PostgreSQL controls take the guards out one by one: without the patient row
lock the partial unique index still keeps one open appeal per ban; without both, the same
race files several (so the race could have caught a broken guard)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from booking_core import blacklist, bookings
from booking_core.bus import BookingServices
from booking_core.kernel.actor import SYSTEM, Channel
from booking_core.kernel.errors import AppealPending
from booking_core.kernel.unit import execute, one, val
from tests.support.world import World, first_slot, local

RACE_WINDOW_SECONDS = 0.1  # far longer than a check and an insert; 20 units start within it
RACERS = 20


async def _banned_patient(services: BookingServices) -> int:
    world = World(services)
    await world.basic(date(2026, 7, 11))
    patient = await world.patient()
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 8, 31), reason="爽约")
    )
    return patient.id


async def _appeal_race(services: BookingServices) -> tuple[int, list]:
    patient_id = await _banned_patient(services)
    results = await asyncio.gather(
        *(
            services.handle(blacklist.FileAppeal(patient_id=patient_id, reason=f"理由{i}"))
            for i in range(RACERS)
        ),
        return_exceptions=True,
    )
    return patient_id, results


async def _open_appeals(services: BookingServices) -> int:
    def read(tx):
        return (yield val("SELECT count(*) FROM appeals WHERE status = 'open'"))

    return await services.read(read)


async def test_twenty_appeals_of_one_ban_at_once_file_one(race_services):
    _, results = await _appeal_race(race_services)
    filed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(filed) == 1
    assert all(isinstance(r, AppealPending) for r in refused), refused
    assert await _open_appeals(race_services) == 1


async def test_sweeps_at_once_count_a_no_show_once(race_services, clock):
    world = World(race_services)
    await world.basic(date(2026, 7, 1))
    patient = await world.patient()
    session = await world.session(date(2026, 7, 11))
    await race_services.handle(
        bookings.BookSlot(
            slot_id=await first_slot(race_services, session.id),
            patient_id=patient.id,
            channel=Channel.AGENT,
        )
    )
    clock.set(local(2026, 7, 11, 12, 0) + timedelta(minutes=1))
    results = await asyncio.gather(
        *(race_services.handle(bookings.SweepNoShows()) for _ in range(5)),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r[0] for r in results) == 1
    strikes = await race_services.read(blacklist.credit_strikes, SYSTEM, patient.id)
    assert [(s["step"], s["action"]) for s in strikes] == [(1, "warning")]


def _without_the_lock_and_lingering(monkeypatch) -> None:
    """The patient row lock out of the appeal handler, and the gap between the check for an
    open appeal and the insert held open, so every racer passes the check."""
    from booking_core.blacklist import appeals as handler
    from booking_core.patients.repo import patient_by_id

    def unlocked(patient_id: int, *, lock: bool = False):
        return patient_by_id(patient_id, lock=False)

    check = handler._no_open_appeal

    def check_then_linger(*args, **kwargs):
        yield from check(*args, **kwargs)
        yield one(f"SELECT pg_sleep({RACE_WINDOW_SECONDS})")

    monkeypatch.setattr(handler, "patient_by_id", unlocked)
    monkeypatch.setattr(handler, "_no_open_appeal", check_then_linger)


@pytest.mark.postgres
async def test_control_without_the_lock_the_index_keeps_one_open_appeal(
    pg_race_services, monkeypatch
):
    _without_the_lock_and_lingering(monkeypatch)
    _, results = await _appeal_race(pg_race_services)
    assert len([r for r in results if not isinstance(r, BaseException)]) == 1
    assert all(isinstance(r, AppealPending) for r in results if isinstance(r, BaseException))
    assert await _open_appeals(pg_race_services) == 1


@pytest.mark.postgres
async def test_control_without_the_lock_and_the_index_the_race_files_several(
    pg_race_services, monkeypatch
):
    _without_the_lock_and_lingering(monkeypatch)

    def drop(tx):
        yield execute("DROP INDEX appeals_open_ban")

    await pg_race_services.store.write(drop)
    await _appeal_race(pg_race_services)
    assert await _open_appeals(pg_race_services) > 1, "the race cannot fail: it proves nothing"
