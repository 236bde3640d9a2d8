"""The booking life cycle through the services, on both stores: book, pay, cancel,
reschedule, check in, doctor stops (停诊), sweeps — and for each state change its outbox
event and its audit record."""

from __future__ import annotations

import json
from datetime import date, time

import pytest

from booking_core import bookings, catalogue, payments
from booking_core.bookings import BookingStatus, repo
from booking_core.events import outbox
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import (
    CheckInClosed,
    CheckInNotOpen,
    Forbidden,
    InsufficientBalance,
    InvalidInput,
    InvalidState,
    NotFound,
    SessionUnavailable,
    SlotFull,
    SubstituteFull,
)
from booking_core.kernel.identity import new_booking_no
from booking_core.kernel.unit import rows
from booking_core.patients import get_patient
from booking_core.rules import RuleKey
from booking_core.schedule import Period
from tests.booking_core.helpers import audit_rows, book, booked, events, last_event_id, set_rule
from tests.support.world import local, slot_ids

DAY = date(2026, 7, 11)
FEE = 5000
AGENT = Actor("operator", "agent01", None, Channel.AGENT)


# --- helpers ---------------------------------------------------------------------------


async def booking(services, no: str):
    return (await services.read(bookings.get_booking, no, SYSTEM)).booking


async def ledger(services, patient_id: int) -> list[tuple[str, str, int]]:
    def q(tx):
        found = yield rows(
            "SELECT kind, method, amount FROM ledger WHERE patient_id = ? ORDER BY id", patient_id
        )
        return [(r["kind"], r["method"], r["amount"]) for r in found]

    return await services.store.read(q)


async def balance(services, patient_id: int) -> int:
    return (await services.read(get_patient, patient_id, SYSTEM)).balance


# --- booking ---------------------------------------------------------------------------


async def test_booking_records_its_events_and_audit(world, services):
    session = await world.basic(DAY)
    patient = await world.patient("张三")
    slot = (await slot_ids(services, session.id))[0]
    actor = Actor("operator", "agent01", None, Channel.AGENT)
    mark = await last_event_id(services)
    view = await book(services, slot, patient, actor=actor, channel=Channel.AGENT)
    b = view.booking
    assert (b.status, b.fee, b.paid, b.place_no, b.day) == ("confirmed", FEE, 0, 1, DAY)
    assert (view.start, view.end, view.doctor_work_no) == (time(8, 0), time(8, 30), "00868")
    new = await events(services, mark)
    assert [(e.topic, e.key) for e in new] == [
        ("booking.created", b.booking_no),
        ("slot.changed", str(slot)),
    ]
    assert new[0].payload["status"] == "confirmed"
    assert new[0].payload["channel"] == "agent"
    assert new[0].payload["start"] == "08:00"
    assert new[1].payload == {"slot_id": slot, "capacity": 2, "booked": 1, "free": 1}
    [row] = await audit_rows(services, b.booking_no)
    assert (row["actor"], row["action"], row["entity"]) == (
        "operator:agent01",
        "booking.created",
        "booking",
    )
    assert json.loads(row["after_state"])["booking_no"] == b.booking_no
    assert await booked(services, slot) == 1


async def test_booking_numbers_stay_unique_when_a_draw_collides(world, services, monkeypatch):
    session = await world.basic(DAY)
    slots = await slot_ids(services, session.id)
    first = await book(services, slots[0], await world.patient("张三"))
    draws = iter([first.booking.booking_no, first.booking.booking_no])
    monkeypatch.setattr(repo, "new_booking_no", lambda: next(draws, None) or new_booking_no())
    second = await book(services, slots[1], await world.patient("李四"))
    assert second.booking.booking_no != first.booking.booking_no
    assert await booking(services, second.booking.booking_no)


# --- pay -------------------------------------------------------------------------------


async def test_pay_from_the_prepaid_balance(world, services):
    session = await world.basic(DAY)
    patient = await world.patient()
    await services.handle(payments.TopUp(patient_id=patient.id, amount=6000))
    view = await book(services, (await slot_ids(services, session.id))[0], patient)
    no = view.booking.booking_no
    mark = await last_event_id(services)
    paid = await services.handle(bookings.PayBooking(booking_no=no, method="balance"))
    assert (paid.booking.status, paid.booking.paid) == ("confirmed", FEE)
    assert await balance(services, patient.id) == 1000
    assert await ledger(services, patient.id) == [
        ("top_up", "cash", 6000),
        ("payment", "balance", -FEE),
    ]
    new = await events(services, mark)
    assert [e.topic for e in new] == ["booking.paid"]
    assert new[0].payload["method"] == "balance"
    assert [r["action"] for r in await audit_rows(services, no)] == [
        "booking.created",
        "booking.paid",
    ]
    with pytest.raises(InvalidState) as err:
        await services.handle(bookings.PayBooking(booking_no=no, method="balance"))
    assert err.value.params == {"status": "paid", "action": "pay"}


async def test_insufficient_balance_changes_nothing(world, services):
    session = await world.basic(DAY)
    patient = await world.patient()
    await services.handle(payments.TopUp(patient_id=patient.id, amount=4999))
    view = await book(services, (await slot_ids(services, session.id))[0], patient)
    mark = await last_event_id(services)
    with pytest.raises(InsufficientBalance) as err:
        await services.handle(
            bookings.PayBooking(booking_no=view.booking.booking_no, method="balance")
        )
    assert err.value.params == {"balance": 4999, "needed": FEE}
    assert await balance(services, patient.id) == 4999
    assert (await booking(services, view.booking.booking_no)).paid == 0
    assert await events(services, mark) == []


async def test_agent_desk_debits_the_balance_only_when_the_hospital_allows(world, services):
    session = await world.basic(DAY)
    patient = await world.patient()
    await services.handle(payments.TopUp(patient_id=patient.id, amount=FEE))
    view = await book(services, (await slot_ids(services, session.id))[0], patient)
    no = view.booking.booking_no
    with pytest.raises(Forbidden) as err:
        await services.handle(bookings.PayBooking(booking_no=no, method="balance", actor=AGENT))
    assert err.value.action == "agent_direct_debit"
    await set_rule(services, RuleKey.AGENT_DIRECT_DEBIT, True)
    await services.handle(bookings.PayBooking(booking_no=no, method="balance", actor=AGENT))
    assert await balance(services, patient.id) == 0


async def test_unknown_payment_method_is_refused(world, services):
    session = await world.basic(DAY)
    view = await book(services, (await slot_ids(services, session.id))[0], await world.patient())
    with pytest.raises(InvalidInput) as err:
        await services.handle(
            bookings.PayBooking(booking_no=view.booking.booking_no, method="bitcoin")
        )
    assert err.value.field == "method"


async def test_paying_a_hold_confirms_it(world, services):
    session = await world.basic(DAY)
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    patient = await world.patient()
    view = await book(services, (await slot_ids(services, session.id))[0], patient)
    assert view.booking.status is BookingStatus.HELD
    with pytest.raises(InvalidState) as err:  # a hold is not a place to check in with
        await services.handle(bookings.CheckIn(booking_no=view.booking.booking_no))
    assert err.value.status == "held"
    mark = await last_event_id(services)
    paid = await services.handle(
        bookings.PayBooking(booking_no=view.booking.booking_no, method="card", reference="T123")
    )
    assert paid.booking.status is BookingStatus.CONFIRMED
    assert paid.booking.hold_expires_at is None
    assert [e.topic for e in await events(services, mark)] == ["booking.confirmed"]
    assert await ledger(services, patient.id) == [("payment", "card", -FEE)]
    assert await balance(services, patient.id) == 0  # a card payment leaves the balance alone


# --- cancel ----------------------------------------------------------------------------


async def test_cancel_frees_the_place_and_refunds_the_way_it_came(world, services):
    session = await world.basic(DAY)
    slot = (await slot_ids(services, session.id))[0]
    by_balance, by_card = await world.patient("张三"), await world.patient("李四")
    await services.handle(payments.TopUp(patient_id=by_balance.id, amount=FEE))
    a = await book(services, slot, by_balance)
    b = await book(services, slot, by_card)
    await services.handle(bookings.PayBooking(booking_no=a.booking.booking_no, method="balance"))
    await services.handle(bookings.PayBooking(booking_no=b.booking.booking_no, method="card"))
    assert await booked(services, slot) == 2

    mark = await last_event_id(services)
    cancelled = await services.handle(bookings.CancelBooking(booking_no=a.booking.booking_no))
    assert cancelled.booking.status is BookingStatus.CANCELLED
    assert cancelled.booking.cancel_reason == "patient"
    assert await balance(services, by_balance.id) == FEE
    assert await ledger(services, by_balance.id) == [
        ("top_up", "cash", FEE),
        ("payment", "balance", -FEE),
        ("refund", "balance", FEE),
    ]
    new = await events(services, mark)
    assert [e.topic for e in new] == ["booking.cancelled", "slot.changed"]
    assert new[0].payload["refunded"] == FEE
    assert new[0].payload["reason"] == "patient"
    assert new[1].payload["free"] == 1
    assert await booked(services, slot) == 1
    audit = (await audit_rows(services, a.booking.booking_no))[-1]
    assert audit["action"] == "booking.cancelled"
    assert json.loads(audit["before_state"]) == {"status": "confirmed"}
    assert json.loads(audit["after_state"]) == {"status": "cancelled", "reason": "patient"}

    await services.handle(bookings.CancelBooking(booking_no=b.booking.booking_no))
    assert await balance(services, by_card.id) == 0  # the terminal refunds a card payment
    assert await ledger(services, by_card.id) == [
        ("payment", "card", -FEE),
        ("refund", "card", FEE),
    ]
    assert await booked(services, slot) == 0

    with pytest.raises(InvalidState) as err:
        await services.handle(bookings.CancelBooking(booking_no=a.booking.booking_no))
    assert err.value.params == {"status": "cancelled", "action": "cancel"}


async def test_scoped_actor_cannot_touch_another_hospitals_booking(world, services):
    session = await world.basic(DAY)
    view = await book(services, (await slot_ids(services, session.id))[0], await world.patient())
    await world.at("H002").hospital(name="另一家医院")
    other = Actor("token", "h2", (await services.read(catalogue.hospital, "H002")).id)
    no = view.booking.booking_no
    for command in (
        bookings.CancelBooking(booking_no=no, actor=other),
        bookings.PayBooking(booking_no=no, method="card", actor=other),
        bookings.CheckIn(booking_no=no, actor=other),
        bookings.RescheduleBooking(booking_no=no, slot_id=view.booking.slot_id + 1, actor=other),
    ):
        with pytest.raises(NotFound):
            await services.handle(command)
    with pytest.raises(NotFound):
        await services.read(bookings.get_booking, no, other)
    assert (await booking(services, no)).status is BookingStatus.CONFIRMED


# --- reschedule ------------------------------------------------------------------------


async def test_reschedule_moves_the_booking_and_both_slots_tell(world, services):
    session = await world.basic(DAY, places=1)
    slots = await slot_ids(services, session.id)
    patient = await world.patient()
    view = await book(services, slots[0], patient)
    no = view.booking.booking_no
    mark = await last_event_id(services)
    moved = await services.handle(bookings.RescheduleBooking(booking_no=no, slot_id=slots[3]))
    assert moved.booking.booking_no == no
    assert (moved.booking.slot_id, moved.start) == (slots[3], time(9, 30))
    assert moved.booking.status is BookingStatus.CONFIRMED
    assert (await booked(services, slots[0]), await booked(services, slots[3])) == (0, 1)
    new = await events(services, mark)
    assert [(e.topic, e.key) for e in new] == [
        ("booking.moved", no),
        ("slot.changed", str(slots[0])),
        ("slot.changed", str(slots[3])),
    ]
    assert new[0].payload["from_slot_id"] == slots[0]
    assert new[0].payload["reason"] == "rescheduled"
    assert (await audit_rows(services, no))[-1]["action"] == "booking.moved"

    with pytest.raises(InvalidInput):
        await services.handle(bookings.RescheduleBooking(booking_no=no, slot_id=slots[3]))
    taken = await book(services, slots[4], await world.patient("李四"))
    with pytest.raises(SlotFull):
        await services.handle(bookings.RescheduleBooking(booking_no=no, slot_id=slots[4]))
    assert (await booking(services, no)).slot_id == slots[3]
    assert await booked(services, slots[3]) == 1
    assert (await booking(services, taken.booking.booking_no)).slot_id == slots[4]


async def test_reschedule_to_another_day(world, services):
    session = await world.basic(DAY)
    later = await world.session(date(2026, 7, 13))
    view = await book(services, (await slot_ids(services, session.id))[0], await world.patient())
    target = (await slot_ids(services, later.id))[2]
    moved = await services.handle(
        bookings.RescheduleBooking(booking_no=view.booking.booking_no, slot_id=target)
    )
    assert moved.booking.day == date(2026, 7, 13)
    assert moved.booking.session_id == later.id


# --- check in (取号) ------------------------------------------------------------------


async def test_check_in_gives_queue_numbers_from_the_day_to_the_session_end(world, services, clock):
    session = await world.basic(DAY)
    slots = await slot_ids(services, session.id)
    first = await book(services, slots[1], await world.patient("张三"))
    second = await book(services, slots[0], await world.patient("李四"))
    late = await book(services, slots[2], await world.patient("王五"))

    clock.set(local(2026, 7, 10, 23, 59, 59))
    with pytest.raises(CheckInNotOpen) as err:
        await services.handle(bookings.CheckIn(booking_no=first.booking.booking_no))
    assert err.value.opens_at == local(2026, 7, 11)

    clock.set(local(2026, 7, 11))
    mark = await last_event_id(services)
    one = await services.handle(bookings.CheckIn(booking_no=first.booking.booking_no))
    two = await services.handle(bookings.CheckIn(booking_no=second.booking.booking_no))
    assert (one.booking.queue_no, two.booking.queue_no) == (1, 2)  # in the order they came
    assert one.booking.status is BookingStatus.CHECKED_IN
    new = await events(services, mark)
    assert [e.topic for e in new] == ["booking.checked_in", "booking.checked_in"]
    assert new[0].payload["queue_no"] == 1
    assert (await audit_rows(services, first.booking.booking_no))[-1]["action"] == (
        "booking.checked_in"
    )

    with pytest.raises(InvalidState):
        await services.handle(bookings.CheckIn(booking_no=first.booking.booking_no))
    with pytest.raises(InvalidState):
        await services.handle(bookings.CancelBooking(booking_no=first.booking.booking_no))

    clock.set(local(2026, 7, 11, 11, 59, 59))
    await services.handle(bookings.CheckIn(booking_no=late.booking.booking_no))
    clock.set(local(2026, 7, 11, 12, 0))
    fourth = await book_in_past(services, world, clock, slots[3])
    with pytest.raises(CheckInClosed) as closed:
        await services.handle(bookings.CheckIn(booking_no=fourth))
    assert closed.value.closed_at == local(2026, 7, 11, 12, 0)


async def book_in_past(services, world, clock, slot_id: int) -> str:
    """A booking made while the session was still open, read back after it ended."""
    now = clock.now()
    clock.set(local(2026, 7, 10, 9, 0))
    view = await book(services, slot_id, await world.patient("赵六"))
    clock.set(now)
    return view.booking.booking_no


# --- doctor stop (停诊) ----------------------------------------------------------------


async def _stopped_world(world, services, places_in_target: int = 2):
    session = await world.basic(DAY)
    await world.doctor("00869", department="101")
    target = await world.session(
        DAY,
        work_no="00869",
        period=Period.AFTERNOON,
        start=time(14, 0),
        end=time(16, 0),
        places=places_in_target,
    )
    slots = await slot_ids(services, session.id)
    patients = [await world.patient(n) for n in ("张三", "李四", "王五")]
    views = [
        await book(services, slots[0], patients[0]),
        await book(services, slots[0], patients[1]),
        await book(services, slots[3], patients[2]),
    ]
    await services.handle(payments.TopUp(patient_id=patients[0].id, amount=FEE))
    await services.handle(
        bookings.PayBooking(booking_no=views[0].booking.booking_no, method="balance")
    )
    return session, target, patients, views


async def test_stop_session_moves_every_booking_one_event_each(world, services):
    session, target, _patients, views = await _stopped_world(world, services)
    target_slots = await slot_ids(services, target.id)
    mark = await last_event_id(services)
    summary = await services.handle(
        bookings.StopSession(
            session_id=session.id, mode="move", target_session_id=target.id, reason="病假"
        )
    )
    assert (summary["moved"], summary["cancelled"]) == (3, 0)
    for view in views:
        b = await booking(services, view.booking.booking_no)
        assert b.session_id == target.id
        assert b.status is BookingStatus.CONFIRMED
        assert b.slot_id in target_slots
    assert (await booking(services, views[0].booking.booking_no)).paid == FEE  # money stays
    assert sum([await booked(services, s) for s in target_slots]) == 3
    assert sum([await booked(services, s) for s in await slot_ids(services, session.id)]) == 0
    new = await events(services, mark)
    moved = [e for e in new if e.topic == "booking.moved"]
    assert sorted(e.key for e in moved) == sorted(v.booking.booking_no for v in views)
    assert {e.payload["reason"] for e in moved} == {"session_stopped"}
    assert new[-1].topic == "session.stopped"
    assert new[-1].payload["moved"] == 3
    assert {e.topic for e in new} == {"booking.moved", "slot.changed", "session.stopped"}

    with pytest.raises(SessionUnavailable) as err:
        await book(services, (await slot_ids(services, session.id))[1], await world.patient())
    assert err.value.status == "stopped"
    with pytest.raises(SessionUnavailable):
        await services.handle(bookings.StopSession(session_id=session.id, mode="cancel"))


async def test_stop_session_move_needs_room_and_changes_nothing_without_it(world, services):
    # the target has 4 slots of 1 place, 2 of them taken; the stopped session has 3
    # bookings: refused whole, nothing half-moved
    session, target, _patients, views = await _stopped_world(world, services, places_in_target=1)
    await book(services, (await slot_ids(services, target.id))[0], await world.patient("孙七"))
    await book(services, (await slot_ids(services, target.id))[1], await world.patient("周八"))
    mark = await last_event_id(services)
    with pytest.raises(SubstituteFull) as err:
        await services.handle(
            bookings.StopSession(session_id=session.id, mode="move", target_session_id=target.id)
        )
    assert err.value.params == {"needed": 3, "available": 2}
    assert await events(services, mark) == []
    for view in views:
        assert (await booking(services, view.booking.booking_no)).session_id == session.id
    await book(services, (await slot_ids(services, session.id))[5], await world.patient("吴九"))


async def test_stop_session_move_skips_a_slot_the_patient_already_holds(world, services):
    session = await world.basic(DAY)
    await world.department("102", "外科")
    await world.doctor("00901", department="102")
    target = await world.session(
        DAY, work_no="00901", period=Period.AFTERNOON, start=time(14, 0), end=time(15, 0)
    )
    patient = await world.patient()
    stopped = await book(services, (await slot_ids(services, session.id))[0], patient)
    target_slots = await slot_ids(services, target.id)
    kept = await book(services, target_slots[0], patient)
    await services.handle(
        bookings.StopSession(session_id=session.id, mode="move", target_session_id=target.id)
    )
    moved = await booking(services, stopped.booking.booking_no)
    assert moved.slot_id == target_slots[1]
    assert (await booking(services, kept.booking.booking_no)).slot_id == target_slots[0]


async def test_stop_session_cancels_every_booking_and_refunds(world, services):
    session, _target, patients, views = await _stopped_world(world, services)
    mark = await last_event_id(services)
    summary = await services.handle(
        bookings.StopSession(session_id=session.id, mode="cancel", reason="停诊")
    )
    assert (summary["moved"], summary["cancelled"]) == (0, 3)
    for view in views:
        b = await booking(services, view.booking.booking_no)
        assert (b.status, b.cancel_reason) == ("cancelled", "session_stopped")
    assert await balance(services, patients[0].id) == FEE
    new = await events(services, mark)
    cancelled = [e for e in new if e.topic == "booking.cancelled"]
    assert len(cancelled) == 3
    assert {e.payload["reason"] for e in cancelled} == {"session_stopped"}
    assert [e.payload["refunded"] for e in cancelled if e.payload["paid"]] == [FEE]
    assert new[-1].topic == "session.stopped"
    assert sum([await booked(services, s) for s in await slot_ids(services, session.id)]) == 0
    [stop_audit] = [
        r for r in await audit_rows(services, str(session.id)) if r["action"] == "session.stopped"
    ]
    assert json.loads(stop_audit["after_state"])["cancelled"] == 3


async def test_stop_session_refuses_bad_requests(world, services):
    session = await world.basic(DAY)
    with pytest.raises(InvalidInput):
        await services.handle(bookings.StopSession(session_id=session.id, mode="pause"))
    with pytest.raises(InvalidInput):
        await services.handle(bookings.StopSession(session_id=session.id, mode="move"))
    with pytest.raises(NotFound):
        await services.handle(
            bookings.StopSession(session_id=session.id, mode="move", target_session_id=session.id)
        )


# --- sweeps ----------------------------------------------------------------------------


async def test_no_show_sweep_after_the_session_ends(world, services, clock):
    session = await world.basic(DAY)
    slots = await slot_ids(services, session.id)
    came = await book(services, slots[0], await world.patient("张三"))
    absent = await book(services, slots[1], await world.patient("李四"))
    clock.set(local(2026, 7, 11, 8, 5))
    await services.handle(bookings.CheckIn(booking_no=came.booking.booking_no))
    clock.set(local(2026, 7, 11, 11, 59, 59))
    assert await services.handle(bookings.SweepNoShows()) == (0, 0, 0)
    clock.set(local(2026, 7, 11, 12, 0))
    mark = await last_event_id(services)
    assert await services.handle(bookings.SweepNoShows()) == (1, 1, 0)
    assert (await booking(services, came.booking.booking_no)).status is BookingStatus.COMPLETED
    assert (await booking(services, absent.booking.booking_no)).status is BookingStatus.NO_SHOW
    assert sorted((e.topic, e.key) for e in await events(services, mark)) == sorted(
        [
            ("booking.completed", came.booking.booking_no),
            ("booking.no_show", absent.booking.booking_no),
            ("patient.credit_warned", str(absent.booking.patient_id)),  # the ladder's 1st step
        ]
    )
    assert (await audit_rows(services, absent.booking.booking_no))[-1]["action"] == (
        "booking.no_show"
    )
    assert await services.handle(bookings.SweepNoShows()) == (0, 0, 0)  # nothing twice
    # the places stay counted for the record; neither counts as active any more
    with pytest.raises(InvalidState):
        await services.handle(bookings.CancelBooking(booking_no=absent.booking.booking_no))


async def test_finished_bookings_do_not_count_as_active(world, services, clock):
    session = await world.basic(DAY)
    await set_rule(services, RuleKey.MAX_ACTIVE_PER_PATIENT, 1)
    patient = await world.patient()
    await book(services, (await slot_ids(services, session.id))[0], patient)
    later = await world.session(date(2026, 7, 12))
    clock.set(local(2026, 7, 11, 12, 0))
    await services.handle(bookings.SweepNoShows())
    await book(services, (await slot_ids(services, later.id))[0], patient)


async def test_expired_holds_each_emit_their_events(world, services, clock):
    session = await world.basic(DAY)
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    slots = await slot_ids(services, session.id)
    views = [await book(services, slots[i], await world.patient(f"患者{i}")) for i in range(3)]
    clock.advance(minutes=15)
    mark = await last_event_id(services)
    assert await services.handle(bookings.ExpireHolds(limit=2)) == 2
    assert await services.handle(bookings.ExpireHolds(limit=2)) == 1
    new = await events(services, mark)
    assert sorted(e.key for e in new if e.topic == "booking.cancelled") == sorted(
        v.booking.booking_no for v in views
    )
    assert len([e for e in new if e.topic == "slot.changed"]) == 3
    for view in views:
        rows_ = await audit_rows(services, view.booking.booking_no)
        assert rows_[-1]["actor"] == "system:engine"
        assert json.loads(rows_[-1]["after_state"])["reason"] == "hold_expired"


# --- every state change has its event --------------------------------------------------


async def test_every_state_change_of_a_booking_has_its_event(world, services, clock):
    session = await world.basic(DAY)
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    slots = await slot_ids(services, session.id)
    view = await book(services, slots[0], await world.patient())
    no = view.booking.booking_no
    await services.handle(bookings.PayBooking(booking_no=no, method="cash"))
    await services.handle(bookings.RescheduleBooking(booking_no=no, slot_id=slots[1]))
    clock.set(local(2026, 7, 11, 8, 0))
    await services.handle(bookings.CheckIn(booking_no=no))
    clock.set(local(2026, 7, 11, 12, 0))
    await services.handle(bookings.SweepNoShows())
    booking_topics = [e.topic for e in await services.read(outbox.events, key=no)]
    assert booking_topics == [
        "booking.created",
        "booking.confirmed",
        "booking.moved",
        "booking.checked_in",
        "booking.completed",
    ]
    statuses = [e.payload["status"] for e in await services.read(outbox.events, key=no)]
    assert statuses == ["held", "confirmed", "confirmed", "checked_in", "completed"]
    actions = [r["action"] for r in await audit_rows(services, no)]
    assert actions == booking_topics  # one vocabulary: the audit log names each act as its event
    assert actions == [
        "booking.created",
        "booking.confirmed",
        "booking.moved",
        "booking.checked_in",
        "booking.completed",
    ]
