"""The SIU messages, pure: which topic makes which trigger, every segment's fields as the
field map in docs/hl7.md says, and free text that cannot break the message."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import hl7
import pytest

from booking_core import events
from booking_core.kernel.actor import Channel
from booking_core.kernel.identity import sex_of
from hospital_api.hl7.inbound_messages import Action, WindowRequest, read_header, read_request
from hospital_api.hl7.messages import (
    Hl7OptionError,
    Hl7Options,
    SiuContext,
    birth_date_of,
    build_siu,
    escape,
    siu_trigger,
)

BASE = {
    "hospital_id": 1,
    "booking_no": "123456785",
    "status": "confirmed",
    "patient_id": 7,
    "slot_id": 11,
    "session_id": 3,
    "hospital": "H001",
    "department": "101",
    "doctor": "00868",
    "day": date(2026, 7, 11),
    "start": "08:30",
    "channel": Channel.SMS,
    "fee": 5000,
    "paid": 0,
    "queue_no": None,
}
CONTEXT = SiuContext(
    timezone="Asia/Shanghai",
    hospital_name="协和医院",
    department_name="心内科",
    doctor_name="王医生",
    doctor_title="主任医师",
    room="301",
    slot_minutes=30,
    patient_name="张三",
    card_no="88001234",
    id_number="**************0013",
    phone="139****0001",
    sex="M",
    birth_date=None,
)
SENT = datetime(2026, 7, 10, 1, 2, 3, tzinfo=UTC)  # 09:02:03 in Beijing


def build(event, context=CONTEXT, **options):
    trigger = siu_trigger(event.topic, options)
    assert trigger is not None
    text = build_siu(
        trigger, event, context, control_id="GH42", sent_at=SENT, options=Hl7Options.of(options)
    )
    return hl7.parse(text)


def f(message, segment, field, component=1, repeat=1):
    return message.extract_field(segment, 1, field, repeat, component)


@pytest.mark.parametrize(
    ("topic", "options", "trigger"),
    [
        ("booking.created", {}, "S12"),
        ("booking.moved", {}, "S13"),
        ("booking.checked_in", {}, "S14"),
        ("booking.confirmed", {}, "S14"),
        ("booking.paid", {}, "S14"),
        ("booking.cancelled", {}, "S15"),
        ("booking.no_show", {}, "S26"),
        ("booking.no_show", {"no_show": "S17"}, "S17"),
        ("booking.no_show", {"no_show": "S26"}, "S26"),
        ("booking.completed", {}, None),
        ("booking.reminder", {}, None),
        ("slot.changed", {}, None),
        ("patient.registered", {}, None),
    ],
)
def test_the_trigger_of_each_topic(topic, options, trigger):
    assert siu_trigger(topic, options) == trigger


def test_a_new_booking_is_an_s12_with_every_segment():
    m = build(events.BookingCreated(**BASE))
    assert [str(s[0]) for s in m] == [
        "MSH", "SCH", "TQ1", "NTE", "PID", "RGS", "AIS", "AIL", "AIP"
    ]  # fmt: skip
    # MSH: GUAHAO to the HIS, local time, the type, the control id, P, 2.5.1, UTF-8
    assert str(f(m, "MSH", 3)) == "GUAHAO"
    assert str(f(m, "MSH", 4)) == "H001"
    assert (str(f(m, "MSH", 5)), str(f(m, "MSH", 6))) == ("HIS", "H001")
    assert str(f(m, "MSH", 7)) == "20260710090203+0800"
    assert [str(f(m, "MSH", 9, c)) for c in (1, 2, 3)] == ["SIU", "S12", "SIU_S12"]
    assert str(f(m, "MSH", 10)) == "GH42"
    assert str(f(m, "MSH", 11)) == "P"
    assert str(f(m, "MSH", 12)) == "2.5.1"
    assert str(f(m, "MSH", 18)) == "UNICODE UTF-8"
    # SCH: the booking number, session, what happened, timing, status
    assert (str(f(m, "SCH", 1)), str(f(m, "SCH", 1, 2))) == ("123456785", "GUAHAO")
    assert str(f(m, "SCH", 2)) == "123456785"
    assert str(f(m, "SCH", 5)) == "3"
    assert (str(f(m, "SCH", 6)), str(f(m, "SCH", 6, 2))) == ("booked", "预约")
    assert str(f(m, "SCH", 7)) == "ROUTINE"
    assert str(f(m, "SCH", 8)) == "Normal"
    assert (str(f(m, "SCH", 9)), str(f(m, "SCH", 10))) == ("30", "min")
    assert str(f(m, "SCH", 11, 3)) == "30"
    assert str(f(m, "SCH", 11, 4)) == "20260711083000+0800"  # 08:30 local, not UTC
    assert str(f(m, "SCH", 11, 5)) == "20260711090000+0800"
    assert (str(f(m, "SCH", 25)), str(f(m, "SCH", 25, 3))) == ("Booked", "HL70278")
    assert str(f(m, "TQ1", 7)) == "20260711083000+0800"
    assert str(f(m, "TQ1", 8)) == "20260711090000+0800"
    assert str(f(m, "NTE", 3)) == "booked by sms (短信); fee 5000 fen, paid 0 fen"
    # PID: card number (PI), the masked ID (NNCHN), name, sex, phone
    assert [str(f(m, "PID", 3, c)) for c in (1, 4, 5)] == ["88001234", "H001", "PI"]
    assert [str(f(m, "PID", 3, c, repeat=2)) for c in (1, 4, 5)] == [
        "**************0013",
        "CHN",
        "NNCHN",
    ]
    assert (str(f(m, "PID", 5)), str(f(m, "PID", 5, 7))) == ("张三", "L")
    assert str(f(m, "PID", 7)) == ""
    assert str(f(m, "PID", 8)) == "M"
    assert (str(f(m, "PID", 13)), str(f(m, "PID", 13, 3))) == ("139****0001", "CP")
    # the resources: department, room, doctor
    assert (str(f(m, "AIS", 3)), str(f(m, "AIS", 3, 2))) == ("101", "心内科")
    assert str(f(m, "AIS", 4)) == "20260711083000+0800"
    assert [str(f(m, "AIL", 3, c)) for c in (1, 2, 4, 6)] == ["101", "301", "H001", "C"]
    assert str(f(m, "AIL", 3, 9)) == "协和医院 心内科 301"
    assert (str(f(m, "AIP", 3)), str(f(m, "AIP", 3, 2))) == ("00868", "王医生")
    assert str(f(m, "AIP", 4, 2)) == "主任医师"
    assert str(f(m, "AIP", 6)) == "20260711083000+0800"
    assert str(f(m, "AIP", 12)) == "Booked"


def test_each_change_says_what_changed():
    moved = build(
        events.BookingMoved(
            **BASE,
            from_slot_id=10,
            from_session_id=3,
            from_day=date(2026, 7, 11),
            reason="rescheduled",
            by_channel=Channel.IVR,
        )
    )
    assert str(f(moved, "MSH", 9, 2)) == "S13"
    assert str(f(moved, "SCH", 6)) == "rescheduled"
    assert "moved (rescheduled) from 2026-07-11 slot 10 by ivr" in str(f(moved, "NTE", 3))
    cancelled = build(
        events.BookingCancelled(
            **BASE | {"status": "cancelled", "paid": 5000},
            reason="session_stopped",
            refunded=5000,
            by_channel=Channel.AGENT,
        )
    )
    assert str(f(cancelled, "MSH", 9, 2)) == "S15"
    assert (str(f(cancelled, "SCH", 6)), str(f(cancelled, "SCH", 6, 2))) == (
        "session_stopped",
        "停诊取消",
    )
    assert str(f(cancelled, "SCH", 25)) == "Cancelled"
    assert "refunded 5000 fen" in str(f(cancelled, "NTE", 3))
    checked_in = build(events.BookingCheckedIn(**BASE | {"status": "checked_in", "queue_no": 5}))
    assert str(f(checked_in, "MSH", 9, 2)) == "S14"
    assert str(f(checked_in, "SCH", 6)) == "checked_in"
    assert str(f(checked_in, "NTE", 3)).startswith("checked in, queue number 5")
    paid = build(events.BookingPaid(**BASE | {"paid": 5000}, method="balance"))
    assert (str(f(paid, "MSH", 9, 2)), str(f(paid, "SCH", 6))) == ("S14", "paid")
    assert str(f(paid, "NTE", 3)) == "paid by balance; fee 5000 fen, paid 5000 fen"
    no_show = build(events.BookingNoShow(**BASE | {"status": "no_show"}), no_show="S17")
    assert [str(f(no_show, "MSH", 9, c)) for c in (1, 2, 3)] == ["SIU", "S17", "SIU_S12"]
    assert str(f(no_show, "SCH", 25)) == "Noshow"


def test_a_held_booking_is_tentative_and_pending():
    m = build(events.BookingCreated(**BASE | {"status": "held"}))
    assert str(f(m, "SCH", 8)) == "Tentative"
    assert str(f(m, "SCH", 25)) == "Pending"


def test_delimiters_in_free_text_do_not_break_the_message():
    nasty = "张|三^李~四\\王&五\r\x0b\x1c"
    context = SiuContext(
        **{
            **{k: getattr(CONTEXT, k) for k in CONTEXT.__dataclass_fields__},
            "patient_name": nasty,
            "doctor_name": "A^B|C",
            "room": "3&1~",
        }
    )
    text = build_siu(
        "S12",
        events.BookingCreated(**BASE),
        context,
        control_id="GH42",
        sent_at=SENT,
        options=Hl7Options(),
    )
    assert "\x0b" not in text
    assert "\x1c" not in text
    m = hl7.parse(text)
    assert len(m) == 9  # no segment split by a CR in a name
    assert len(m.segment("PID")) == 14  # no field split by a |
    assert str(f(m, "PID", 5)) == "张|三^李~四\\王&五   "
    assert str(f(m, "AIP", 3, 2)) == "A^B|C"
    assert str(f(m, "AIP", 3, 3)) == ""  # the ^ did not make a component
    assert str(f(m, "AIL", 3, 2)) == "3&1~"
    assert str(f(m, "AIL", 3, 4)) == "H001"  # nor the & or ~ a subcomponent or repetition


def test_escape_uses_the_hl7_sequences_and_keeps_chinese():
    assert escape("a|b^c~d\\e&f") == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f"
    assert escape("心内科") == "心内科"


def test_the_id_number_and_phone_in_full_when_configured():
    clear = SiuContext(
        **{
            **{k: getattr(CONTEXT, k) for k in CONTEXT.__dataclass_fields__},
            "id_number": "110105198001010013",
            "phone": "13900000001",
            "sex": sex_of("110105198001010013"),
            "birth_date": birth_date_of("110105198001010013"),
        }
    )
    m = build(events.BookingCreated(**BASE), clear, id_number="full", phone="full")
    assert str(f(m, "PID", 3, repeat=2)) == "110105198001010013"
    assert str(f(m, "PID", 7)) == "19800101"
    assert str(f(m, "PID", 13)) == "13900000001"


def test_sex_and_birth_date_from_the_resident_id():
    assert sex_of("110105198001010013") == "M"  # 17th digit 1: odd
    assert sex_of("**************0023") == "F"  # the masked ID keeps it
    assert sex_of("") == "U"
    assert birth_date_of("110105198001010013") == date(1980, 1, 1)
    assert birth_date_of("**************0013") is None


def test_the_receiving_end_and_processing_id_from_the_options():
    m = build(
        events.BookingCreated(**BASE),
        receiving_application="HIS-A",
        receiving_facility="XIEHE",
        processing_id="T",
    )
    assert (str(f(m, "MSH", 5)), str(f(m, "MSH", 6)), str(f(m, "MSH", 11))) == (
        "HIS-A",
        "XIEHE",
        "T",
    )


@pytest.mark.parametrize(
    "options",
    [{"no_show": "S99"}, {"id_number": "clear"}, {"phone": "yes"}, {"processing_id": "X"}],
)
def test_an_unknown_option_value_is_refused_by_name(options):
    with pytest.raises(Hl7OptionError) as err:
        Hl7Options.of(options)
    assert next(iter(options)) in str(err.value)


def test_the_example_in_the_docs_is_what_is_sent():
    doc = (Path(__file__).parents[3] / "docs" / "hl7.md").read_text(encoding="utf-8")
    example = doc.split("```hl7\n", 1)[1].split("```", 1)[0]
    text = build_siu(
        "S12",
        events.BookingCreated(**BASE),
        CONTEXT,
        control_id="GH42",
        sent_at=SENT,
        options=Hl7Options(),
    )
    assert example == text.replace("\r", "\n")


def test_a_payment_reads_the_same_both_ways():
    """The engine's own S14 for a payment, read as the HIS's S14 would be: the same act."""
    event = events.BookingConfirmed(
        **BASE | {"booking_no": "123456786", "paid": 5000}, method="cash"
    )
    sent = build(event)
    assert str(sent.segments("NTE")[1]) == "NTE|2|L|method=cash;amount=5000"
    message, header = read_header(str(sent))
    assert read_request(message, header) == WindowRequest(
        Action.PAY, "123456786", "cash", 5000, "GH42"
    )
    unpaid = build(events.BookingConfirmed(**BASE, method="none"))  # a $book: nothing paid
    assert len(unpaid.segments("NTE")) == 1
