"""Typed events (#11 item 2): each type goes through the outbox and comes back equal, with
the payload JSON it always had; the topic table knows every type once."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from booking_core.events import (
    EVENT_TYPES,
    BanLifted,
    BookingCancelled,
    BookingCheckedIn,
    BookingCompleted,
    BookingConfirmed,
    BookingCreated,
    BookingMoved,
    BookingNoShow,
    BookingPaid,
    BookingReminderDue,
    CallBooked,
    CallCodeIssued,
    CallEnded,
    CallTransferred,
    ComplaintReceived,
    ComplaintReplied,
    Event,
    OutboxEvent,
    PatientBlacklisted,
    PatientRegistered,
    RuleChanged,
    SessionCreated,
    SessionStopped,
    SlotChanged,
    decode,
    outbox,
)
from booking_core.events import model as event_model
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import Tx

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
DAY = date(2026, 7, 11)
SHANGHAI = timezone(timedelta(hours=8))

BOOKING = {
    "hospital_id": 1,
    "booking_no": "123456786",
    "status": "confirmed",
    "patient_id": 7,
    "slot_id": 31,
    "session_id": 4,
    "hospital": "H001",
    "department": "101",
    "doctor": "00868",
    "day": DAY,
    "start": "08:30",
    "channel": Channel.IVR,
    "fee": 5000,
    "paid": 5000,
    "queue_no": None,
}

EXAMPLES: dict[type[Event], Event] = {
    e.__class__: e
    for e in (
        BookingCreated(**BOOKING | {"status": "held", "paid": 0}),
        BookingConfirmed(**BOOKING, method="balance"),
        BookingPaid(**BOOKING, method="cash"),
        BookingCancelled(
            **BOOKING | {"status": "cancelled"},
            reason="patient",
            refunded=5000,
            by_channel=Channel.SMS,
        ),
        BookingMoved(
            **BOOKING,
            from_slot_id=30,
            from_session_id=3,
            from_day=DAY - timedelta(days=1),
            reason="rescheduled",
            by_channel=Channel.AGENT,
        ),
        BookingCheckedIn(**BOOKING | {"status": "checked_in", "queue_no": 3}),
        BookingNoShow(**BOOKING | {"status": "no_show"}),
        BookingCompleted(**BOOKING | {"status": "completed", "queue_no": 3}),
        BookingReminderDue(**BOOKING),
        SlotChanged(hospital_id=1, slot_id=31, capacity=2, booked=1, free=1),
        SessionCreated(
            hospital_id=1,
            session_id=4,
            doctor="00868",
            day=DAY,
            period="morning",
            slots=8,
            places_per_slot=2,
        ),
        SessionStopped(
            hospital_id=1,
            session_id=4,
            mode="move",
            target_session_id=5,
            moved=3,
            cancelled=0,
            reason="医生出差",
        ),
        PatientRegistered(hospital_id=1, patient_id=7, card_no="1234567897"),
        PatientBlacklisted(
            hospital_id=1,
            entry_id=2,
            patient_id=7,
            until=datetime(2026, 9, 1, tzinfo=SHANGHAI),
            reason="3 no-shows within 90 days",
            source="no_show",
        ),
        BanLifted(hospital_id=1, entry_id=2, patient_id=7),
        RuleChanged(
            hospital_id=None, key="max_active_per_patient", value=3, enabled=True, priority=0
        ),
        CallBooked(
            hospital_id=1,
            call_sid="CA1",
            booking_no="123456786",
            channel=Channel.IVR,
            caller_enc="v1:abc",
            caller_masked="139****0001",
            lang="zh",
        ),
        CallCodeIssued(
            hospital_id=1,
            call_sid="CA1",
            phone_enc="v1:abc",
            code_enc="v1:def",
            minutes=5,
            lang="en",
        ),
        CallTransferred(
            hospital_id=1,
            call_sid="CA1",
            caller_masked="139****0001",
            patient_id=None,
            context={"queue": "agents", "node": "book_dept", "typed": "****1234"},
        ),
        CallEnded(hospital_id=1, call_sid="CA1", result="booked", duration_seconds=95),
        ComplaintReceived(hospital_id=1, tracking_no="1234565", call_sid="CA1"),
        ComplaintReplied(
            hospital_id=1,
            tracking_no="1234565",
            status="resolved",
            reply="已联系科室，向您致歉。",
            caller_enc=None,
            caller_masked="",
            patient_id=7,
        ),
    )
}

# The payload keys each topic has always stored, in order (consumers and stored rows read
# them): a type must keep them.
BOOKING_KEYS = (
    "booking_no status patient_id slot_id session_id hospital department doctor day start "
    "channel fee paid queue_no"
)
STORED_KEYS = {
    "booking.created": BOOKING_KEYS,
    "booking.confirmed": BOOKING_KEYS + " method",
    "booking.paid": BOOKING_KEYS + " method",
    "booking.cancelled": BOOKING_KEYS + " reason refunded by_channel",
    "booking.moved": BOOKING_KEYS + " from_slot_id from_session_id from_day reason by_channel",
    "booking.checked_in": BOOKING_KEYS,
    "booking.no_show": BOOKING_KEYS,
    "booking.completed": BOOKING_KEYS,
    "booking.reminder": BOOKING_KEYS,
    "slot.changed": "slot_id capacity booked free",
    "session.created": "session_id doctor day period slots places_per_slot",
    "session.stopped": "session_id mode target_session_id moved cancelled reason",
    "patient.registered": "patient_id card_no",
    "patient.blacklisted": "entry_id patient_id until reason source",
    "patient.ban_lifted": "entry_id patient_id",
    "rule.changed": "key value enabled priority",
    "call.booked": "call_sid booking_no channel caller_enc caller_masked lang",
    "call.code": "call_sid phone_enc code_enc minutes lang",
    "call.transferred": "call_sid caller_masked patient_id context",
    "call.ended": "call_sid result duration_seconds",
    "complaint.received": "tracking_no call_sid",
    "complaint.replied": "tracking_no status reply caller_enc caller_masked patient_id",
}

EVENT_TYPE_IDS = [t.__name__ for t in EVENT_TYPES.values()]


def _emit(tx: Tx, event: Event):
    tx.emit(event)
    yield from ()


# --- each type through the outbox -------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES.values(), ids=EVENT_TYPE_IDS)
async def test_an_event_comes_back_from_the_outbox_as_it_was_emitted(store, event_type):
    event = EXAMPLES[event_type]
    await store.write(_emit, event)
    [row] = await store.read(lambda tx: outbox.events(tx, key=event.key))
    assert (row.topic, row.key, row.hospital_id) == (event_type.topic, event.key, event.hospital_id)
    assert row.payload == event.payload()
    assert decode(row) == event
    assert type(decode(row)) is event_type


@pytest.mark.parametrize("event_type", EVENT_TYPES.values(), ids=EVENT_TYPE_IDS)
def test_a_payload_keeps_the_keys_its_topic_always_stored(event_type):
    payload = EXAMPLES[event_type].payload()
    assert tuple(payload) == tuple(STORED_KEYS[event_type.topic].split())
    assert json.loads(json.dumps(payload)) == payload  # plain JSON values


def test_dates_and_channels_are_stored_as_they_always_were():
    moved = EXAMPLES[BookingMoved].payload()
    assert (moved["day"], moved["from_day"]) == ("2026-07-11", "2026-07-10")
    assert (moved["channel"], moved["by_channel"]) == ("ivr", "agent")
    until = EXAMPLES[PatientBlacklisted].payload()["until"]
    assert until == datetime(2026, 9, 1, tzinfo=SHANGHAI).isoformat() == "2026-09-01T00:00:00+08:00"


def _row(topic: str, payload: dict, hospital_id: int | None = 1) -> OutboxEvent:
    return OutboxEvent(
        id=1, topic=topic, hospital_id=hospital_id, key="k", payload=payload, created_at=None
    )


def test_a_topic_this_engine_does_not_know_is_no_event():
    assert decode(_row("his.appointment_booked", {"booking_no": "123456786"})) is None


def test_a_payload_that_does_not_fit_its_type_is_no_event_and_is_logged(caplog):
    payload = EXAMPLES[SlotChanged].payload()
    del payload["free"]
    with caplog.at_level(logging.WARNING, logger="booking_core.events.model"):
        assert decode(_row("slot.changed", payload)) is None
    assert "slot.changed" in caplog.text
    assert "free" in caplog.text


def test_fields_a_newer_engine_added_are_ignored():
    payload = EXAMPLES[SlotChanged].payload() | {"waitlist": 4}
    assert decode(_row("slot.changed", payload)) == EXAMPLES[SlotChanged]


def test_a_decoded_event_has_typed_fields():
    moved = decode(_row("booking.moved", EXAMPLES[BookingMoved].payload()))
    assert isinstance(moved, BookingMoved)
    assert moved.from_day == date(2026, 7, 10)
    assert moved.by_channel is Channel.AGENT
    banned = decode(_row("patient.blacklisted", EXAMPLES[PatientBlacklisted].payload()))
    assert banned.until == datetime(2026, 9, 1, tzinfo=SHANGHAI)


# --- the topic table --------------------------------------------------------------------


def _subclasses(cls: type) -> list[type]:
    """Subtypes as their modules name them (``slots=True`` leaves the class it replaced
    among the subclasses until it is collected)."""
    out = []
    for sub in cls.__subclasses__():
        if getattr(sys.modules[sub.__module__], sub.__qualname__, None) is sub:
            out.append(sub)
        out += _subclasses(sub)
    return out


def test_every_event_type_of_the_core_is_in_the_topic_table_once():
    core = [c for c in _subclasses(Event) if c.__module__.startswith("booking_core.")]
    concrete = [c for c in core if "topic" in vars(c)]
    assert sorted(c.__name__ for c in concrete) == sorted(EVENT_TYPE_IDS)
    topics = [c.topic for c in concrete]
    assert len(topics) == len(set(topics)), "two event types share a topic"
    assert all(EVENT_TYPES[c.topic] is c for c in concrete)
    for abstract in set(core) - set(concrete):  # a shared part, e.g. BookingEvent
        assert abstract.__subclasses__(), f"{abstract.__name__} has no topic and no subtype"


def test_two_types_with_one_topic_are_refused():
    class Again(SlotChanged):
        pass

    with pytest.raises(RuntimeError, match=r"share slot\.changed"):
        event_model._by_topic(SlotChanged, Again)
