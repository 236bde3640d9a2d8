"""One example of every event type, with values as the engine makes them: ``docs/events.md``
shows each one's payload (:meth:`Event.payload`) beside its JSON Schema, and the tests
send each one through the outbox and back.

A booking of patient 7 at hospital H001 (department 101, doctor 00868) for 08:30 on
11 July 2026, booked by phone; money in fen (分); instants in UTC unless the field says
it carries the hospital's offset. Ciphertexts are real ones, of made-up numbers, under a
key thrown away.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ..kernel.actor import Channel
from .model import (
    AppealDecided,
    AppealFiled,
    BanLifted,
    BookingCancelled,
    BookingCheckedIn,
    BookingCompleted,
    BookingConfirmationResent,
    BookingConfirmed,
    BookingCreated,
    BookingLatePaymentRefunded,
    BookingMoved,
    BookingNoShow,
    BookingPaid,
    BookingReminderDue,
    CallbackClosed,
    CallBooked,
    CallCodeIssued,
    CallEnded,
    CallTransferred,
    ComplaintReceived,
    ComplaintReplied,
    CreditWarned,
    DrawRequestRefused,
    Event,
    ExtraPlacesAdded,
    KioskDisabled,
    KioskJobAcked,
    KioskJobQueued,
    KioskPasswordReset,
    KioskRegistered,
    KioskStatusChanged,
    PatientBlacklisted,
    PatientRegistered,
    RuleChanged,
    SessionCreated,
    SessionStopped,
    SlotChanged,
    TicketPrinted,
    WaitlistClosed,
    WaitlistJoined,
    WaitlistLeft,
    WaitlistOffered,
)

DAY = date(2026, 7, 11)
SHANGHAI = timezone(timedelta(hours=8))
BOOKING_NO = "482716396"  # 8 digits and a Damm check digit
CALL_SID = "CA5064438823ced1101edd83310aa5cadd"
KIOSK_ID = "k3f9c01a2"
JOB_ID = "J6d1e0c4b9a2f7385"
TRACKING_NO = "7304187"
CALLER_ENC = "ARd6PL7sfQBQY2KyKbU3eWO4UbiZZKnXm6DUqcbh7KuyignfwlLy6A=="
JOB_MADE = datetime(2026, 7, 11, 0, 31, 2, tzinfo=UTC)  # 08:31:02 in the hospital

_BOOKING: Mapping[str, Any] = {
    "hospital_id": 1,
    "booking_no": BOOKING_NO,
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


def booking(**changes: Any) -> dict[str, Any]:
    """The booking fields of the example booking, with ``changes``."""
    return {**_BOOKING, **changes}


EXAMPLES: Mapping[type[Event], Event] = {
    e.__class__: e
    for e in (
        BookingCreated(**booking(status="held", paid=0), held_for="payment"),
        BookingConfirmed(**booking(), method="balance"),
        BookingPaid(**booking(), method="cash"),
        BookingCancelled(
            **booking(status="cancelled"),
            reason="patient",
            refunded=5000,
            by_channel=Channel.SMS,
        ),
        BookingMoved(
            **booking(),
            from_slot_id=30,
            from_session_id=3,
            from_day=DAY - timedelta(days=1),
            reason="rescheduled",
            by_channel=Channel.AGENT,
        ),
        BookingCheckedIn(**booking(status="checked_in", queue_no=3)),
        BookingNoShow(**booking(status="no_show")),
        BookingCompleted(**booking(status="completed", queue_no=3)),
        BookingReminderDue(**booking()),
        BookingConfirmationResent(**booking(), by_channel=Channel.AGENT),
        BookingLatePaymentRefunded(**booking(status="cancelled"), amount=5000, method="card"),
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
        DrawRequestRefused(
            hospital_id=1,
            request_id=12,
            patient_id=7,
            session_id=4,
            slot_id=31,
            department="101",
            doctor="00868",
            department_name="心内科",
            doctor_name="张伟",
            day=DAY,
            start="08:30",
            refusal="slot_full",
            params={"slot_id": 31},
            phone_enc=CALLER_ENC,
        ),
        PatientRegistered(hospital_id=1, patient_id=7, card_no="3100528742"),
        PatientBlacklisted(
            hospital_id=1,
            entry_id=2,
            patient_id=7,
            until=datetime(2026, 9, 1, tzinfo=SHANGHAI),
            reason="3 no-shows within 90 days",
            source="no_show",
        ),
        BanLifted(hospital_id=1, entry_id=2, patient_id=7),
        CreditWarned(
            hospital_id=1, patient_id=7, strike=1, kind="no_show", next_ban_days=30, period_days=365
        ),
        AppealFiled(hospital_id=1, appeal_id=4, entry_id=2, patient_id=7, channel="sms"),
        AppealDecided(
            hospital_id=1,
            appeal_id=4,
            entry_id=2,
            patient_id=7,
            granted=False,
            answer="您未提供就医证明",
            until=datetime(2026, 9, 1, tzinfo=SHANGHAI),
        ),
        RuleChanged(
            hospital_id=None, key="max_active_per_patient", value=3, enabled=True, priority=0
        ),
        CallBooked(
            hospital_id=1,
            call_sid=CALL_SID,
            booking_no=BOOKING_NO,
            channel=Channel.IVR,
            caller_enc=CALLER_ENC,
            caller_masked="139****0001",
            lang="zh",
        ),
        CallCodeIssued(
            hospital_id=1,
            call_sid=CALL_SID,
            phone_enc="ASUSYI2odLCgQoW/vH/X197HK80E2+ZUkJzVUlj6KrRmzHmiKxTevg==",
            code_enc="AQRUi4tn1nUiJqqUt2zo43HWHL9U5R4lLhIbvT93Fo239iA=",
            minutes=5,
            lang="en",
        ),
        CallTransferred(
            hospital_id=1,
            call_sid=CALL_SID,
            caller_masked="139****0001",
            patient_id=None,
            context={"queue": "agents", "node": "book_dept", "typed": "**************1234"},
        ),
        CallEnded(hospital_id=1, call_sid=CALL_SID, result="booked", duration_seconds=95),
        CallbackClosed(
            hospital_id=1,
            call_sid=CALL_SID,
            phone_enc=CALLER_ENC,
            phone_masked="139****0001",
            reason="not_reached",
            attempts=2,
            lang="zh",
        ),
        WaitlistJoined(
            hospital_id=1,
            entry_id=12,
            session_id=4,
            patient_id=7,
            day=DAY,
            doctor="00868",
            position=3,
            channel=Channel.SMS,
        ),
        WaitlistLeft(
            hospital_id=1,
            entry_id=12,
            session_id=4,
            patient_id=7,
            day=DAY,
            doctor="00868",
            reason="patient",
        ),
        WaitlistClosed(
            hospital_id=1,
            entry_id=12,
            session_id=4,
            patient_id=7,
            day=DAY,
            doctor="00868",
            reason="stopped",
            phone_enc=CALLER_ENC,
        ),
        WaitlistOffered(
            **booking(status="held", paid=0),
            entry_id=12,
            deadline=datetime(2026, 7, 10, 3, 0, tzinfo=UTC),
            prepay=False,
        ),
        ExtraPlacesAdded(
            hospital_id=1,
            session_id=4,
            slot_id=31,
            places=2,
            added_total=2,
            booking_no=None,
            offered=2,
        ),
        ComplaintReceived(hospital_id=1, tracking_no=TRACKING_NO, call_sid=CALL_SID),
        ComplaintReplied(
            hospital_id=1,
            tracking_no=TRACKING_NO,
            status="resolved",
            reply="已联系科室，向您致歉。",
            caller_enc=CALLER_ENC,
            caller_masked="139****0001",
            patient_id=7,
        ),
        TicketPrinted(**booking(status="checked_in", queue_no=3), kiosk_id=KIOSK_ID, job_id=JOB_ID),
        KioskRegistered(
            hospital_id=1, kiosk_id=KIOSK_ID, name="门诊大厅1号机", location="门诊楼一层"
        ),
        KioskDisabled(hospital_id=1, kiosk_id=KIOSK_ID, name="门诊大厅1号机"),
        KioskPasswordReset(hospital_id=1, kiosk_id=KIOSK_ID),
        KioskStatusChanged(
            hospital_id=1,
            kiosk_id=KIOSK_ID,
            online=True,
            reason="",
            since=JOB_MADE - timedelta(hours=1),
            devices={
                "printer": {
                    "state": "paper_out",
                    "reason": "",
                    "since": JOB_MADE.isoformat(),
                    "pending_reversals": 0,
                },
                "card_reader": {
                    "state": "ok",
                    "reason": "",
                    "since": (JOB_MADE - timedelta(hours=1)).isoformat(),
                    "pending_reversals": 0,
                },
            },
        ),
        KioskJobQueued(
            hospital_id=1,
            kiosk_id=KIOSK_ID,
            job_id=JOB_ID,
            kind="charge",
            job_payload={"amount": 5000, "purpose": "booking", "booking_no": BOOKING_NO},
            created_at=JOB_MADE,
            expires_at=JOB_MADE + timedelta(minutes=15),
        ),
        KioskJobAcked(
            hospital_id=1,
            kiosk_id=KIOSK_ID,
            job_id=JOB_ID,
            kind="reversal",
            outcome="failed",
            reason="timeout",
            booking_no=BOOKING_NO,
            requeued=True,
        ),
    )
}
"""An example of every event type, by type."""
