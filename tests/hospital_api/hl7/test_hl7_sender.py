"""The HL7 sender end to end: bookings made with the real core on a SQLite file (and on
PostgreSQL when there is one), their outbox events sent as SIU messages to a real local
MLLP listener; the HIS's failures retried under the same control id, nothing lost or
doubled."""

from __future__ import annotations

from collections import Counter
from datetime import date

import hl7
import pytest

from booking_core import bookings, feeds
from booking_core.events import outbox
from booking_core.kernel.actor import Channel
from hospital_api.hl7.sender import Hl7Sender, control_id
from tests.booking_core.helpers import audit_rows, hospital_id
from tests.hospital_api.hl7.fake_his import FakeHis
from tests.support.world import local, resident_id, slot_ids

DAY = date(2026, 7, 11)  # the clock stands at 2026-07-10 09:00 in Beijing
TIMEOUT = 1.0  # seconds: a local ACK, even on a busy machine; one silent answer waits it out


def subscription(his: FakeHis, hid: int, **options) -> feeds.Subscription:
    now = local(2026, 7, 10, 9, 0)
    return feeds.Subscription(
        id=1,
        hospital_id=hid,
        hospital_code="H001",
        kind=feeds.FeedKind.HL7,
        name="HIS",
        url=his.url,
        topics=(),
        active=True,
        options=options,
        created_at=now,
        updated_at=now,
    )


def delivery(event, n: int | None = None) -> feeds.Delivery:
    return feeds.Delivery(
        id=event.id if n is None else n,
        subscription_id=1,
        event=event,
        status=feeds.DeliveryStatus.PENDING,
        attempts=1,
        due_at=event.created_at,
        first_due_at=event.created_at,
    )


@pytest.fixture
async def sender(services):
    made = Hl7Sender(services, timeout_seconds=TIMEOUT, allow_private=True)
    try:
        yield made
    finally:
        await made.close()


async def booking_events(services, after: int = 0):
    """The outbox's booking events after ``after``, in order."""
    found = await services.read(outbox.events, after_id=after)
    return [e for e in found if e.topic.startswith("booking.")]


async def life(world, services, clock):
    """Three bookings' lives: 张三 books, moves, cancels; 李四 books and never comes; 王五
    books and checks in. The outbox's booking events, in order, and 张三."""
    session = await world.basic(DAY)
    slots = await slot_ids(services, session.id)
    zhang = await world.patient("张三", id_number=resident_id(13, birth="19800101"))
    li = await world.patient("李四")
    wang = await world.patient("王五")
    a = await world.book(slots[0], zhang.id, Channel.SMS)
    await services.handle(
        bookings.RescheduleBooking(booking_no=a.booking.booking_no, slot_id=slots[3])
    )
    await services.handle(bookings.CancelBooking(booking_no=a.booking.booking_no))
    await world.book(slots[2], li.id, Channel.IVR)
    c = await world.book(slots[0], wang.id)
    clock.set(local(2026, 7, 11, 8, 5))
    await services.handle(bookings.CheckIn(booking_no=c.booking.booking_no))
    clock.set(local(2026, 7, 11, 12, 0))
    await services.handle(bookings.SweepNoShows())
    return await booking_events(services), zhang


async def send_all(sender, sub, rows):
    results = []
    for row in rows:
        results.append(await sender.send(sub, delivery(row)))
    return results


def parse(text: str):
    return hl7.parse(text)


def f(m, segment, field, component=1, repeat=1):
    return str(m.extract_field(segment, 1, field, repeat, component))


async def test_a_bookings_whole_life_reaches_the_his(world, services, clock, sender, his):
    rows, zhang = await life(world, services, clock)
    sub = subscription(his, await hospital_id(services))
    results = await send_all(sender, sub, rows)
    assert all(r.outcome is feeds.Outcome.DELIVERED for r in results)
    sent = [(row.topic, row.key) for row, r in zip(rows, results, strict=True) if not r.error]
    assert len(his.received) == len(sent)  # completed: no message, nothing sent
    by_booking: dict[str, list[str]] = {}
    for got in his.received:
        m = parse(got.text)
        by_booking.setdefault(f(m, "SCH", 1), []).append(f(m, "MSH", 9, 2))
    li_no = next(r.key for r in rows if r.topic == "booking.no_show")
    wang_no = next(r.key for r in rows if r.topic == "booking.checked_in")
    assert by_booking == {
        rows[0].key: ["S12", "S13", "S15"],
        li_no: ["S12", "S26"],
        wang_no: ["S12", "S14"],
    }
    skipped = [r.error for r in results if r.error]
    assert skipped == ["booking.completed: no HL7 message, nothing sent"]

    created, moved, cancelled = (parse(r.text) for r in his.received[:3])
    # PID-3: the card number, then the masked resident ID; the masked phone
    assert [f(created, "PID", 3, c) for c in (1, 4, 5)] == [zhang.card_no, "H001", "PI"]
    assert f(created, "PID", 3, repeat=2) == "**************" + resident_id(13, "19800101")[-4:]
    assert f(created, "PID", 3, 5, repeat=2) == "NNCHN"
    assert f(created, "PID", 5) == "张三"
    assert f(created, "PID", 7) == ""  # the birth date is not in a masked ID
    assert f(created, "PID", 13).startswith("139****")
    # the doctor, the department, the time in Beijing
    assert (f(created, "AIP", 3), f(created, "AIP", 3, 2)) == ("00868", "医生00868")
    assert f(created, "AIP", 4, 2) == "主任医师"
    assert (f(created, "AIS", 3), f(created, "AIS", 3, 2)) == ("101", "心内科")
    assert (f(created, "AIL", 3, 1), f(created, "AIL", 3, 2)) == ("101", "301")
    assert f(created, "SCH", 11, 4) == "20260711080000+0800"
    assert f(created, "SCH", 11, 5) == "20260711083000+0800"
    assert f(created, "SCH", 9) == "30"
    assert f(created, "MSH", 7) == "20260710090000+0800"  # when it was booked, local
    assert f(moved, "SCH", 11, 4) == "20260711093000+0800"  # slot 4: 09:30
    assert f(moved, "SCH", 6) == "rescheduled"
    assert f(moved, "NTE", 3).startswith("moved (rescheduled) from 2026-07-11 slot")
    checked_in = parse(next(r.text for r in his.received if "S14" in r.text))
    assert (f(checked_in, "SCH", 6), f(checked_in, "SCH", 25)) == ("checked_in", "Booked")
    assert f(checked_in, "NTE", 3).startswith("checked in, queue number 1")
    assert f(cancelled, "SCH", 25) == "Cancelled"
    # the control ids: GH<delivery id>, one message each
    assert [r.control_id for r in his.received] == [
        control_id(delivery(row)) for row, r in zip(rows, results, strict=True) if not r.error
    ]


async def test_the_full_id_number_when_configured_and_its_reveal_audited(
    world, services, clock, sender, his
):
    session = await world.basic(DAY)
    slots = await slot_ids(services, session.id)
    patient = await world.patient("张三", "13900000001", id_number=resident_id(13, "19800101"))
    await world.book(slots[0], patient.id)
    (row,) = await booking_events(services)
    sub = subscription(his, await hospital_id(services), id_number="full", phone="full")
    assert (await sender.send(sub, delivery(row))).outcome is feeds.Outcome.DELIVERED
    m = parse(his.received[0].text)
    assert f(m, "PID", 3, repeat=2) == resident_id(13, "19800101")
    assert f(m, "PID", 7) == "19800101"
    assert f(m, "PID", 8) == "M"
    assert f(m, "PID", 13) == "13900000001"
    reveals = [
        a for a in await audit_rows(services, str(patient.id)) if a["action"] == "patient.reveal"
    ]
    assert [(a["actor"]) for a in reveals] == ["system:hl7"]


async def test_a_no_show_is_s17_when_the_hospital_says_so(world, services, clock, sender, his):
    session = await world.basic(DAY)
    slots = await slot_ids(services, session.id)
    await world.book(slots[0], (await world.patient()).id)
    clock.set(local(2026, 7, 11, 12, 0))
    await services.handle(bookings.SweepNoShows())
    rows = await booking_events(services)
    assert [r.topic for r in rows] == ["booking.created", "booking.no_show"]
    sub = subscription(his, await hospital_id(services), no_show="S17")
    await send_all(sender, sub, rows)
    assert [f(parse(r.text), "MSH", 9, 2) for r in his.received] == ["S12", "S17"]
    assert f(parse(his.received[1].text), "SCH", 25) == "Noshow"


async def test_the_his_failures_are_retried_under_one_control_id_nothing_lost_or_doubled(
    world, services, clock, sender, his
):
    rows, _ = await life(world, services, clock)
    rows = [r for r in rows if r.topic != "booking.completed"]
    sub = subscription(his, await hospital_id(services))
    his.answer("AE", "AA", ("AR", "207"), "drop", "silent", "AA", ("AE", "206"), "other")
    attempts: Counter[str] = Counter()
    outcomes: list[list[feeds.Outcome]] = []
    for row in rows:  # as the delivery worker does: again until it is not a retry
        tried = []
        for _ in range(5):
            result = await sender.send(sub, delivery(row))
            attempts[control_id(delivery(row))] += 1
            tried.append(result.outcome)
            if result.outcome is not feeds.Outcome.RETRY:
                break
        outcomes.append(tried)
    retry, done = feeds.Outcome.RETRY, feeds.Outcome.DELIVERED
    assert outcomes[:4] == [[retry, done], [retry, retry, retry, done], [retry, done], [done]]
    assert all(o[-1] is done for o in outcomes)
    ids = [control_id(delivery(row)) for row in rows]
    assert sorted(his.accepted()) == sorted(ids)  # each accepted exactly once: none lost
    assert Counter(r.control_id for r in his.received) == attempts
    texts: dict[str, set[str]] = {}
    for got in his.received:  # a resend is the same message, byte for byte
        texts.setdefault(got.control_id, set()).add(got.text)
    assert all(len(t) == 1 for t in texts.values())


async def test_an_unsupported_message_is_rejected_at_once(world, services, clock, sender, his):
    session = await world.basic(DAY)
    await world.book((await slot_ids(services, session.id))[0], (await world.patient()).id)
    (row,) = await booking_events(services)
    his.answer(("AR", "200"))
    result = await sender.send(subscription(his, await hospital_id(services)), delivery(row))
    assert result.outcome is feeds.Outcome.REJECTED
    assert result.error.startswith("AR 200")


async def test_what_can_never_be_sent_is_rejected_without_sending(
    world, services, clock, sender, his
):
    session = await world.basic(DAY)
    await world.book((await slot_ids(services, session.id))[0], (await world.patient()).id)
    (row,) = await booking_events(services)
    hid = await hospital_id(services)
    other = subscription(his, hid + 1)  # another hospital's HIS never sees this patient
    result = await sender.send(other, delivery(row))
    assert result.outcome is feeds.Outcome.REJECTED
    assert "hospital" in result.error
    bad_url = subscription(his, hid)
    bad_url = feeds.Subscription(**{**_fields(bad_url), "url": "http://his.example/hl7"})
    assert (await sender.send(bad_url, delivery(row))).outcome is feeds.Outcome.REJECTED
    bad_option = subscription(his, hid, id_number="clear")
    result = await sender.send(bad_option, delivery(row))
    assert (result.outcome, "id_number" in result.error) == (feeds.Outcome.REJECTED, True)
    assert his.received == []


def _fields(sub: feeds.Subscription) -> dict:
    return {k: getattr(sub, k) for k in sub.__dataclass_fields__}


async def test_a_his_that_is_down_is_a_retry(world, services, clock, sender, his):
    session = await world.basic(DAY)
    await world.book((await slot_ids(services, session.id))[0], (await world.patient()).id)
    (row,) = await booking_events(services)
    sub = subscription(his, await hospital_id(services))
    await his.stop()
    result = await sender.send(sub, delivery(row))
    assert result.outcome is feeds.Outcome.RETRY
    assert "failed while connecting" in result.error


async def test_a_name_with_hl7_delimiters_arrives_whole(world, services, clock, sender, his):
    session = await world.basic(DAY, doctor={"name": "李^四|"})
    patient = await world.patient("欧阳|娜娜^~\\&")
    await world.book((await slot_ids(services, session.id))[0], patient.id)
    (row,) = await booking_events(services)
    result = await sender.send(subscription(his, await hospital_id(services)), delivery(row))
    assert result.outcome is feeds.Outcome.DELIVERED
    m = parse(his.received[0].text)
    assert f(m, "PID", 5) == "欧阳|娜娜^~\\&"
    assert f(m, "PID", 5, 7) == "L"  # the name type still in its place
    assert (f(m, "AIP", 3), f(m, "AIP", 3, 2)) == ("00868", "李^四|")


async def test_an_endpoint_on_loopback_is_refused_unless_private_addresses_are_allowed(
    world, services, clock, his
):
    rows, _ = await life(world, services, clock)
    sub = subscription(his, await hospital_id(services))
    guarded = Hl7Sender(services, timeout_seconds=TIMEOUT)
    try:
        result = await guarded.send(sub, delivery(rows[0]))
    finally:
        await guarded.close()
    assert result.outcome is feeds.Outcome.RETRY
    assert result.error == "address refused: resolves to a loopback address (127.0.0.1)"
    assert his.received == []
