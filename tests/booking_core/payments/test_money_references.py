"""#9 item 8: a money movement with a reference moves money once, on SQLite and PostgreSQL.

A top-up, a booking payment or a refund sent again under its reference (sequentially, or
racing the first) credits or debits once, and the repeat answers as the first did. The
races run on a wide PostgreSQL pool (real parallel transactions) and on SQLite's group-commit
writer; the negative control switches the guard off (the look-up of the reference taken out
of the handler, the unique index dropped) and runs the same race: it must double-credit,
else the race could not have caught a broken guard.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from booking_core import bookings, payments
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import IdempotencyKeyReused, InvalidState
from booking_core.kernel.unit import execute, rows, val
from booking_core.payments import handlers as top_up_handler
from tests.support.fixtures import open_race_services
from tests.support.world import World, first_slot, slot_ids

DAY = date(2026, 7, 15)  # released at 2026-07-08 07:30; the clock stands at 2026-07-10 09:00
FEE = 5000  # the world's doctor 00868
RACERS = 20


async def balance(services, patient_id: int) -> int:
    def q(tx):
        return (yield val("SELECT balance FROM patients WHERE id = ?", patient_id))

    return await services.store.read(q)


async def ledger(services, kind: str) -> list[tuple[int, int, str | None]]:
    def q(tx):
        found = yield rows(
            "SELECT patient_id, amount, reference FROM ledger WHERE kind = ? ORDER BY id", kind
        )
        return [(r["patient_id"], r["amount"], r["reference"]) for r in found]

    return await services.store.read(q)


def top_up(patient_id: int, amount: int = 10000, reference: str | None = "POS-0001", **kw):
    return payments.TopUp(patient_id=patient_id, amount=amount, reference=reference, **kw)


async def _world(services) -> tuple[World, int]:
    """H001's doctor 00868 with a session on DAY (20 places a slot): the builder, the session."""
    world = World(services)
    session = await world.basic(DAY, places=20)
    return world, session.id


# --- top-ups ---------------------------------------------------------------------------------


async def test_a_top_up_sent_twice_credits_once_and_answers_alike(race_services):
    services = race_services
    world, _ = await _world(services)
    (patient,) = await world.patients(1)
    first = await services.handle(top_up(patient))
    again = await services.handle(top_up(patient))
    assert first == again
    assert first.balance == 10000
    assert await balance(services, patient) == 10000
    assert await ledger(services, "top_up") == [(patient, 10000, "POS-0001")]


async def test_a_reference_reused_for_another_top_up_is_refused(race_services):
    services = race_services
    world, _ = await _world(services)
    one, other = await world.patients(2)
    await services.handle(top_up(one))
    for different in (
        top_up(one, amount=20000),  # another amount
        top_up(one, method="card"),  # another method
        top_up(other),  # another patient of the hospital
    ):
        with pytest.raises(IdempotencyKeyReused) as err:
            await services.handle(different)
        assert err.value.key == "POS-0001"
    assert (await balance(services, one), await balance(services, other)) == (10000, 0)
    assert len(await ledger(services, "top_up")) == 1


async def test_top_ups_without_a_reference_each_credit(race_services):
    services = race_services
    world, _ = await _world(services)
    (patient,) = await world.patients(1)
    await services.handle(top_up(patient, reference=None))
    await services.handle(top_up(patient, reference=None))
    assert await balance(services, patient) == 20000


async def _race_one_top_up(services) -> tuple[int, list]:
    world, _ = await _world(services)
    (patient,) = await world.patients(1)
    results = await asyncio.gather(
        *(services.handle(top_up(patient)) for _ in range(RACERS)), return_exceptions=True
    )
    return patient, results


async def test_the_same_top_up_racing_itself_credits_once(race_services):
    services = race_services
    patient, results = await _race_one_top_up(services)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    assert {r.balance for r in results} == {10000}  # every answer is the first's
    assert await balance(services, patient) == 10000
    assert await ledger(services, "top_up") == [(patient, 10000, "POS-0001")]


async def test_control_the_same_top_up_race_double_credits_without_the_guard(
    race_services, monkeypatch
):
    def never_seen(hospital_id, kind, reference):
        return None
        yield  # a unit-of-work generator that finds nothing

    def drop_index(tx):
        yield execute("DROP INDEX ledger_reference")

    monkeypatch.setattr(top_up_handler, "movement_by_reference", never_seen)
    await race_services.store.write(drop_index)
    patient, _results = await _race_one_top_up(race_services)
    assert await balance(race_services, patient) > 10000, "the race cannot fail: it proves nothing"


async def test_one_reference_racing_for_many_patients_credits_one(race_services):
    """No lock is shared here (each patient's row is its own): the unique index decides."""
    services = race_services
    world, _ = await _world(services)
    patients = await world.patients(RACERS)
    results = await asyncio.gather(
        *(services.handle(top_up(p)) for p in patients), return_exceptions=True
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1
    assert all(isinstance(r, IdempotencyKeyReused) for r in refused), refused[:3]
    assert [await balance(services, p) for p in patients].count(10000) == 1
    assert len(await ledger(services, "top_up")) == 1


# --- payments and refunds ----------------------------------------------------------------------


async def _booked(services, others: int = 0) -> tuple[int, str, list[int]]:
    """A patient with three fees on the card and a booking (and ``others`` more patients)."""
    world, session = await _world(services)
    patient, *rest = await world.patients(1 + others)
    await services.handle(top_up(patient, amount=3 * FEE, reference=None))
    view = await world.book(await first_slot(services, session), patient)
    return patient, view.booking.booking_no, rest


def _first_session(tx):
    return (yield val("SELECT min(id) FROM sessions"))


@pytest.mark.parametrize("method", ["balance", "card"])
async def test_a_payment_sent_twice_or_racing_itself_moves_money_once(race_services, method):
    services = race_services
    patient, booking_no, _ = await _booked(services)
    pay = bookings.PayBooking(booking_no=booking_no, method=method, reference="TXN-77")
    first = await services.handle(pay)
    results = await asyncio.gather(
        *(services.handle(pay) for _ in range(RACERS)), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    assert {(r.booking.booking_no, r.booking.paid) for r in results} == {(booking_no, FEE)}
    assert first.booking.paid == FEE
    assert await ledger(services, "payment") == [(patient, -FEE, "TXN-77")]
    expected = 2 * FEE if method == "balance" else 3 * FEE
    assert await balance(services, patient) == expected

    # without its reference a second payment is still refused as paid
    with pytest.raises(InvalidState):
        await services.handle(bookings.PayBooking(booking_no=booking_no, method=method))


async def test_a_payment_reference_reused_for_another_booking_is_refused(race_services):
    services = race_services
    _patient, booking_no, (other,) = await _booked(services, others=1)
    await services.handle(
        bookings.PayBooking(booking_no=booking_no, method="card", reference="TXN-1")
    )
    session = await services.read(_first_session)
    other_slot = (await slot_ids(services, session))[1]
    view = await services.handle(
        bookings.BookSlot(slot_id=other_slot, patient_id=other, channel=Channel.API)
    )
    with pytest.raises(IdempotencyKeyReused):
        await services.handle(
            bookings.PayBooking(
                booking_no=view.booking.booking_no, method="card", reference="TXN-1"
            )
        )
    assert len(await ledger(services, "payment")) == 1


async def test_a_cancellation_racing_itself_refunds_once(race_services):
    services = race_services
    patient, booking_no, _ = await _booked(services)
    await services.handle(
        bookings.PayBooking(booking_no=booking_no, method="balance", reference="T")
    )
    assert await balance(services, patient) == 2 * FEE
    results = await asyncio.gather(
        *(services.handle(bookings.CancelBooking(booking_no=booking_no)) for _ in range(RACERS)),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1
    assert all(isinstance(r, InvalidState) for r in results if isinstance(r, BaseException))
    assert await ledger(services, "refund") == [(patient, FEE, booking_no)]
    assert await balance(services, patient) == 3 * FEE


# --- the migration -------------------------------------------------------------------------------


async def test_the_migration_keeps_old_duplicates_and_marks_them(db_url, clock, cipher):
    """A ledger that already holds a reference twice (the bug) still migrates: the money rows
    stay, the later ones are marked so the unique index holds and reconciliation finds them."""
    services = await open_race_services(db_url, clock, cipher)
    try:
        world, _ = await _world(services)
        (patient,) = await world.patients(1)

        def before_the_fix(tx):
            yield execute("DROP INDEX ledger_reference")
            for _ in range(3):
                yield execute(
                    "INSERT INTO ledger (hospital_id, patient_id, booking_id, kind, method, "
                    "amount, reference, actor, created_at) "
                    "VALUES (1, ?, NULL, 'top_up', 'cash', 100, 'R-1', 'test', 0)",
                    patient,
                )
            yield execute("DELETE FROM schema_migrations WHERE version = 6")

        await services.store.write(before_the_fix)
    finally:
        await services.store.close()

    services = await open_race_services(db_url, clock, cipher)
    try:
        found = await ledger(services, "top_up")
        assert [amount for _p, amount, _r in found] == [100, 100, 100]
        first, *later = [ref for _p, _a, ref in found]
        assert first == "R-1"
        assert all(ref.startswith("R-1#duplicate-") for ref in later)
        assert len(set(later)) == 2
        with pytest.raises(IdempotencyKeyReused):  # the index holds from now on
            await services.handle(top_up(patient, amount=5, reference="R-1"))
    finally:
        await services.store.close()
