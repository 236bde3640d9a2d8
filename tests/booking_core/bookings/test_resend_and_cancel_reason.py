"""Resending a booking's confirmation (#14): at most ``RESENDS_PER_HOUR`` per booking in
any hour, however many agents press the button at once (the booking's row lock; a
negative control takes it out), each audited; not for a booking no longer active. A
cancellation's reason and note go to its audit row, bounded. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest

from booking_core import bookings
from booking_core.bookings import RESENDS_PER_HOUR, ResendConfirmation
from booking_core.bus import BookingServices
from booking_core.events import BookingConfirmationResent
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import InvalidInput, InvalidState, LimitReached
from booking_core.kernel.unit import one, rows
from tests.support.world import World, first_slot

DAY = date(2026, 7, 11)  # tomorrow (the clock: 2026-07-10 09:00 in Beijing)
AGENTS = 12
RACE_WINDOW_SECONDS = 0.1  # far longer than a count; the units start well within it


async def _booking(services: BookingServices) -> tuple[str, int]:
    world = World(services)
    session = await world.basic(DAY)
    patient = await world.patient()
    view = await world.book(await first_slot(services, session.id), patient.id, Channel.IVR)
    return view.booking.booking_no, view.booking.hospital_id


def _agent(hospital_id: int, n: int = 0) -> Actor:
    return Actor("operator", f"agent{n}", hospital_id, Channel.AGENT)


async def _audit(services: BookingServices, action: str, number: str) -> list[dict]:
    def read(tx):
        found = yield rows(
            "SELECT actor, after_state FROM audit WHERE action = ? AND entity_id = ? ORDER BY id",
            action,
            number,
        )
        return [dict(r) for r in found]

    return await services.read(read)


async def _resend_race(services: BookingServices) -> tuple[str, list]:
    number, hospital_id = await _booking(services)
    results = await asyncio.gather(
        *(
            services.handle(ResendConfirmation(booking_no=number, actor=_agent(hospital_id, n)))
            for n in range(AGENTS)
        ),
        return_exceptions=True,
    )
    return number, results


async def test_agents_resending_at_once_send_at_most_the_limit(race_services):
    number, results = await _resend_race(race_services)
    sent = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(sent) == RESENDS_PER_HOUR
    assert all(isinstance(r, LimitReached) for r in refused), refused
    assert refused[0].params == {"rule": "confirmation_resends_per_hour", "limit": RESENDS_PER_HOUR}
    audit = await _audit(race_services, "booking.confirmation_resent", number)
    assert len(audit) == RESENDS_PER_HOUR
    assert [json.loads(a["after_state"])["resend"] for a in audit] == [1, 2, 3]

    def events(tx):
        found = yield rows(
            "SELECT topic, payload FROM outbox WHERE aggregate = ? AND topic = ?",
            number,
            BookingConfirmationResent.topic,
        )
        return [json.loads(r["payload"]) for r in found]

    emitted = await race_services.read(events)
    assert len(emitted) == RESENDS_PER_HOUR
    assert {(e["by_channel"], e["channel"]) for e in emitted} == {("agent", "ivr")}


@pytest.mark.postgres
async def test_control_without_the_booking_lock_the_limit_breaks(pg_race_services, monkeypatch):
    """The control takes the row lock out of the handler and holds the gap between the
    count and the audit open: more than the limit go. (SQLite's one writer is serial.)"""
    from booking_core.bookings import resend as handler
    from booking_core.bookings.repo import booking_by_no, view_by_id

    def unlocked(booking_no: str, *, lock: bool = False):
        return booking_by_no(booking_no, lock=False)

    def linger_then_view(booking_id: int):
        yield one(f"SELECT pg_sleep({RACE_WINDOW_SECONDS})")
        return (yield from view_by_id(booking_id))

    monkeypatch.setattr(handler, "booking_by_no", unlocked)
    monkeypatch.setattr(handler, "view_by_id", linger_then_view)
    _number, results = await _resend_race(pg_race_services)
    sent = [r for r in results if not isinstance(r, BaseException)]
    assert len(sent) > RESENDS_PER_HOUR, "the race cannot fail: it proves nothing"


async def test_a_booking_no_longer_active_is_not_resent(services):
    number, hospital_id = await _booking(services)
    await services.handle(bookings.CancelBooking(booking_no=number))
    with pytest.raises(InvalidState) as refused:
        await services.handle(ResendConfirmation(booking_no=number, actor=_agent(hospital_id)))
    assert refused.value.params == {"status": "cancelled", "action": "resend_confirmation"}
    assert await _audit(services, "booking.confirmation_resent", number) == []


async def test_a_cancellations_reason_and_note_are_audited_and_bounded(services):
    number, hospital_id = await _booking(services)
    who = _agent(hospital_id)
    for why, note, field in (
        ("x" * 33, "", "why"),
        ("not a code", "", "why"),
        ("other", "长" * 201, "note"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await services.handle(
                bookings.CancelBooking(booking_no=number, why=why, note=note, actor=who)
            )
        assert refused.value.params["field"] == field
    await services.handle(
        bookings.CancelBooking(
            booking_no=number, why="time_conflict", note=" 下周 \n再约 ", actor=who
        )
    )
    [audit] = await _audit(services, "booking.cancelled", number)
    assert json.loads(audit["after_state"]) == {
        "status": "cancelled",
        "reason": "patient",
        "why": "time_conflict",
        "note": "下周 再约",
    }

    def payload(tx):
        found = yield one(
            "SELECT payload FROM outbox WHERE aggregate = ? AND topic = 'booking.cancelled'", number
        )
        return json.loads(found["payload"])

    assert "下周" not in json.dumps(await services.read(payload), ensure_ascii=False)
