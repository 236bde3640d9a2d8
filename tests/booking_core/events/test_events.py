"""Typed events (#11 item 2): each type goes through the outbox and comes back equal, with
the payload JSON it always had; the topic table knows every type once; every type names its
key and documents every field (``docs/events.md`` is written from them: test_document.py);
the audit log names an act that is also an event with the event's topic (one vocabulary)."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import MISSING, fields
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from booking_core import blacklist, bookings, calls, complaints, rules
from booking_core.events import (
    EVENT_TYPES,
    AuditAction,
    BookingCreated,
    BookingMoved,
    Event,
    OutboxEvent,
    PatientBlacklisted,
    SlotChanged,
    decode,
    outbox,
)
from booking_core.events import model as event_model
from booking_core.events.document import render
from booking_core.events.examples import EXAMPLES
from booking_core.events.schema import json_schemas, payload_rows, payload_schema
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.unit import Tx, execute, rows, val
from booking_core.operators import model as operator_model
from booking_core.rules import Rule, RuleKey
from booking_core.schedule import Period
from booking_core.store import make_store
from booking_core.store.migrations import all_migrations
from tests.support.world import slot_ids

DAY = date(2026, 7, 11)
SHANGHAI = timezone(timedelta(hours=8))

# The payload keys each topic has always stored, in order (consumers and stored rows read
# them): a type must keep them.
BOOKING_KEYS = (
    "booking_no status patient_id slot_id session_id hospital department doctor day start "
    "channel fee paid queue_no"
)
STORED_KEYS = {
    "booking.created": BOOKING_KEYS + " held_for drawn",
    "booking.confirmed": BOOKING_KEYS + " method",
    "booking.paid": BOOKING_KEYS + " method",
    "booking.cancelled": BOOKING_KEYS + " reason refunded by_channel waitlist_offer",
    "booking.moved": BOOKING_KEYS + " from_slot_id from_session_id from_day reason by_channel",
    "booking.checked_in": BOOKING_KEYS,
    "booking.no_show": BOOKING_KEYS,
    "booking.completed": BOOKING_KEYS,
    "booking.reminder": BOOKING_KEYS,
    "booking.confirmation_resent": BOOKING_KEYS + " by_channel",
    "booking.late_payment_refunded": BOOKING_KEYS + " amount method",
    "slot.changed": "slot_id capacity booked free",
    "session.created": "session_id doctor day period slots places_per_slot",
    "session.stopped": "session_id mode target_session_id moved cancelled reason",
    "draw.refused": "request_id patient_id session_id slot_id department doctor department_name "
    "doctor_name day start refusal params phone_enc",
    "patient.registered": "patient_id card_no",
    "patient.blacklisted": "entry_id patient_id until reason source strike",
    "patient.ban_lifted": "entry_id patient_id",
    "patient.credit_warned": "patient_id strike kind next_ban_days period_days",
    "patient.appeal_filed": "appeal_id entry_id patient_id channel",
    "patient.appeal_decided": "appeal_id entry_id patient_id granted answer until",
    "rule.changed": "key value enabled priority",
    "call.booked": "call_sid booking_no channel caller_enc caller_masked lang",
    "call.code": "call_sid phone_enc code_enc minutes lang",
    "call.transferred": "call_sid caller_masked patient_id context",
    "call.ended": "call_sid result duration_seconds",
    "call.callback_closed": "call_sid phone_enc phone_masked reason attempts lang",
    "complaint.received": "tracking_no call_sid",
    "complaint.replied": "tracking_no status reply caller_enc caller_masked patient_id",
    "booking.ticket_printed": BOOKING_KEYS + " kiosk_id job_id",
    "kiosk.registered": "kiosk_id name location",
    "kiosk.disabled": "kiosk_id name",
    "kiosk.password_reset": "kiosk_id",
    "kiosk.status_changed": "kiosk_id online reason since devices",
    "kiosk.job_queued": "kiosk_id job_id kind job_payload created_at expires_at",
    "kiosk.job_acked": "kiosk_id job_id kind outcome reason booking_no requeued",
    "waitlist.joined": "entry_id session_id patient_id day doctor position channel",
    "waitlist.left": "entry_id session_id patient_id day doctor reason",
    "waitlist.closed": "entry_id session_id patient_id day doctor reason phone_enc",
    "waitlist.offered": BOOKING_KEYS + " entry_id deadline prepay",
    "session.extra_places": "session_id slot_id places added_total booking_no offered",
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


def test_every_event_type_names_its_key_and_documents_every_field():
    for event_type in EVENT_TYPES.values():
        assert event_type.key_field in event_model.payload_fields(event_type)
        assert event_type.__doc__, event_type.__name__
        for name, _kind, meaning in payload_rows(event_type):
            assert meaning.strip(), (event_type.__name__, name)


# --- the documented contract ------------------------------------------------------------


def test_every_audit_action_is_documented():
    text = render()  # its table is hand-written (document_prose.AUDIT)
    for action in AuditAction:
        assert f"`{action}`" in text, action


def test_each_payload_has_a_json_schema_of_its_fields():
    schemas = json_schemas()
    assert set(schemas) == set(EVENT_TYPES)
    for topic, schema in schemas.items():
        payload = EXAMPLES[EVENT_TYPES[topic]].payload()
        assert schema["x-topic"] == topic
        assert list(schema["properties"]) == list(payload)
        # a field added later has a default (what an event stored before it means) and is
        # not required of a payload; every other one is
        added = {f.name for f in fields(EVENT_TYPES[topic]) if f.default is not MISSING}
        assert schema["required"] == [k for k in payload if k not in added]
        assert all(p["description"] for p in schema["properties"].values())
    channel = payload_schema(BookingCreated)["$defs"]["Channel"]
    assert channel["enum"] == [str(c) for c in Channel]


# --- one vocabulary for the audit log and the events ------------------------------------


def test_an_audit_action_is_never_a_free_string():
    tx = Tx(now=datetime(2026, 7, 10, tzinfo=UTC), dialect="sqlite")
    with pytest.raises(TypeError, match="AuditAction"):
        tx.audit(SYSTEM, "booking.cancel", "booking", "123456786", hospital_id=1)
    tx.audit(SYSTEM, AuditAction.BOOKING_CANCELLED, "booking", "123456786", hospital_id=1)
    assert [a.action for a in tx.audits] == ["booking.cancelled"]
    assert type(tx.audits[0].action) is str  # the stores bind plain text


def test_every_log_in_outcome_has_its_audit_action():
    outcomes = tuple(operator_model.LoginOutcome)  # the pending ones too
    assert {AuditAction(f"login.{o}") for o in outcomes} == {
        a for a in AuditAction if a.startswith("login.")
    }


async def _book(services, slot_id: int, patient) -> str:
    view = await services.handle(
        bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, channel=Channel.API)
    )
    return view.booking.booking_no


async def test_an_act_audited_and_emitted_is_named_by_its_topic_in_both(world, services):
    """Every audited act that is also an event (a session published, a patient registered,
    a booking made, paid, moved, cancelled, a doctor stop, a rule set, a ban added and
    lifted, a complaint answered) has its audit row under the event's topic, and the other
    way round."""
    admin = Actor("operator", "admin01")
    morning = await world.basic(DAY)
    await world.doctor("00869")
    afternoon = await world.session(
        DAY, work_no="00869", period=Period.AFTERNOON, start=time(14, 0), end=time(16, 0)
    )
    slots = await slot_ids(services, morning.id)
    zhang, li, wang = [await world.patient(n) for n in ("张三", "李四", "王五")]
    first = await _book(services, slots[0], zhang)
    await services.handle(bookings.PayBooking(booking_no=first, method="cash"))
    await services.handle(bookings.RescheduleBooking(booking_no=first, slot_id=slots[1]))
    await services.handle(bookings.ResendConfirmation(booking_no=first))
    await services.handle(bookings.CancelBooking(booking_no=await _book(services, slots[2], li)))
    await _book(services, slots[3], wang)
    await services.handle(
        bookings.StopSession(session_id=morning.id, mode="move", target_session_id=afternoon.id)
    )
    hospital_id = morning.hospital_id
    rule = Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 3, hospital_id=hospital_id)
    await services.handle(rules.SetRule(rule=rule, actor=admin))
    ban = await services.handle(
        blacklist.AddToBlacklist(patient_id=li.id, until=date(2026, 8, 31), reason="倒号")
    )
    await services.handle(blacklist.LiftBan(entry_id=ban.id, actor=admin))
    again = await services.handle(
        blacklist.AddToBlacklist(patient_id=li.id, until=date(2026, 8, 31), reason="倒号")
    )
    appeal = await services.handle(blacklist.FileAppeal(patient_id=li.id, reason="误会"))
    await services.handle(blacklist.DecideAppeal(appeal_id=appeal.id, grant=False, answer="不符"))
    await services.handle(blacklist.LiftBan(entry_id=again.id, actor=admin))
    rule = Rule(RuleKey.BOOK_CANCEL_STRIKE, 1, hospital_id=hospital_id, period_type="days",
                period_value=30)  # fmt: skip
    await services.handle(rules.SetRule(rule=rule, actor=admin))  # a cancellation: a warning
    later = (await slot_ids(services, afternoon.id))[-1]
    await services.handle(bookings.CancelBooking(booking_no=await _book(services, later, li)))
    await services.handle(
        calls.StartCall(
            call_sid="CA9",
            hospital_code="H001",
            caller="13800000009",
            state="{}",
            digits="",
            response="<Response/>",
        )
    )
    tracking_no = await services.handle(complaints.OpenComplaint(call_sid="CA9"))
    await services.handle(complaints.AttachRecording(call_sid="CA9", recording_sid="RE1"))
    await services.handle(complaints.ReplyToComplaint(tracking_no=tracking_no, reply="已处理"))

    def audit(tx):
        return [dict(r) for r in (yield rows("SELECT action, entity_id FROM audit"))]

    audited = {(a["action"], a["entity_id"]) for a in await services.read(audit)}
    emitted = {(e.topic, e.key) for e in await services.read(outbox.events)}
    both = {str(a) for a in AuditAction} & set(EVENT_TYPES)
    topics = {topic for topic, _key in emitted}
    elsewhere = {  # test_lifecycle checks these acts' audit names against their events
        "booking.confirmed",
        "booking.paid",
        "booking.checked_in",
        "booking.no_show",
        "booking.completed",
        # tests/booking_core/kiosks checks the registry's audit names against its events
        "kiosk.registered",
        "kiosk.disabled",
        "kiosk.password_reset",
        # tests/booking_core/kiosks/test_late_payment.py: a late card charge sent back (#15)
        "booking.late_payment_refunded",
        # tests/booking_core/bookings/test_waitlist checks the waitlist's (候补、加号)
        "waitlist.joined",
        "waitlist.left",
        "waitlist.offered",
        "waitlist.closed",
        "session.extra_places",
    }
    assert topics >= both - elsewhere, "the scenario misses an act"
    assert topics & {"booking.confirmed", "booking.paid"}, "nothing was paid"
    vocabulary = {str(a) for a in AuditAction}
    for action, entity_id in audited:
        assert action in vocabulary, action
        if action in EVENT_TYPES:
            assert (action, entity_id) in emitted, f"audited {action} with no such event"
    for topic, key in emitted:
        if topic in both:
            assert (topic, key) in audited, f"emitted {topic} with no audit row of that name"


# --- stored audit rows get the new names ------------------------------------------------


RENAMED = [
    ("booking.create", None, "booking.created"),
    ("booking.pay", '{"status":"held","paid":0}', "booking.confirmed"),
    ("booking.pay", '{"status":"confirmed","paid":0}', "booking.paid"),
    ("booking.cancel", '{"status":"held"}', "booking.cancelled"),
    ("booking.move", None, "booking.moved"),
    ("booking.check_in", '{"status":"confirmed"}', "booking.checked_in"),
    ("booking.no_show", None, "booking.no_show"),
    ("session.create", None, "session.created"),
    ("session.stop", '{"status":"open"}', "session.stopped"),
    ("patient.register", None, "patient.registered"),
    ("blacklist.add", None, "patient.blacklisted"),
    ("blacklist.lift", None, "patient.ban_lifted"),
    ("rule.set", None, "rule.changed"),
    ("complaint.reply", '{"status":"received"}', "complaint.replied"),
    ("complaint.assign", None, "complaint.assign"),
    ("patient.reveal", None, "patient.reveal"),
    ("login.bad_password", None, "login.bad_password"),
]


async def test_the_migration_renames_stored_audit_actions_to_the_topics(db_url, clock):
    """Audit rows kept before version 11 (#11 item 2): the acts that are events take their
    topic's name, a payment by the status it paid from; the others keep theirs."""
    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:

        def before_the_rename(tx):
            for n, (action, before, _after) in enumerate(RENAMED):
                yield execute(
                    "INSERT INTO audit (at, actor, action, entity, entity_id, before_state) "
                    "VALUES (0, 'operator:admin01', ?, 'x', ?, ?)",
                    action,
                    str(n),
                    before,
                )
            yield execute("DELETE FROM schema_migrations WHERE version = 11")

        await store.write(before_the_rename)
    finally:
        await store.close()

    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:

        def read(tx):
            found = yield rows("SELECT action FROM audit ORDER BY id")
            version = yield val("SELECT max(version) FROM schema_migrations")
            return [r["action"] for r in found], version

        actions, version = await store.read(read)
    finally:
        await store.close()
    assert version == all_migrations()[-1].version
    assert actions == [after for _action, _before, after in RENAMED]
    assert set(actions) <= {str(a) for a in AuditAction}
