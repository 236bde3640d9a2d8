"""The hand-written words of ``docs/events.md``: the sections before the event types, how
the types are grouped, and for each type when it is emitted and what follows it.
:mod:`booking_core.events.document` puts them together with what the code declares (each
type's docstring, fields, JSON Schema and example); edit these, then run
``python -m booking_core.events.document --write``.

The text is Markdown. ``{channels}`` stands for the channels' values, ``{webhook_example}``
for the example request the envelope functions make.
"""

# ruff: noqa: E501 (a Markdown table's row is one line, however long)

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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

TITLE = "Events: what the booking engine tells other systems"

INTRODUCTION = """\
Everything that happens in the booking core and that another system may need to hear of
is recorded as a typed **event** in the outbox, in the same database transaction as the
change itself: an event is never sent for a change that was rolled back, and a change
never commits without its event. Outbox consumers (the engine's SMS notifier, the kiosk
publisher, the hospital feeds: webhooks, HL7) each receive every event, at least once,
oldest first (an event whose delivery failed is retried later, after newer ones).
The engine's kiosk publisher is the consumer `kiosk`: it publishes each
[KioskJobQueued](#kioskjobqueued) to its kiosk (docs/kiosk-protocol.md).

This page is the contract: every event type, its topic, when it is emitted, what its
payload holds (a table, a JSON Schema and an example). The types are declared in
`booking_core/events/model.py`, their examples in `booking_core/events/examples.py` and
the words around them in `booking_core/events/document_prose.py`; this page is written
from them by `python -m booking_core.events.document --write`, and a test
(`tests/booking_core/events/test_document.py`) fails when it is not what that command
writes.
"""

ENVELOPE = """\
## The envelope

Each event is one outbox row:

| Field | Type | Meaning |
|---|---|---|
| `id` | integer | The event's number, increasing in the order events were recorded; a receiver that has seen it before ignores it (delivery is at least once) |
| `topic` | string | What happened, e.g. `booking.created`: names the event type below |
| `hospital_id` | integer or null | The hospital the event belongs to (null: platform-wide, e.g. a rule for every hospital) |
| `key` | string | The thing it is about (the aggregate): a booking number, a slot id … which payload field it is is given for each type |
| `created_at` | date-time | When it was recorded (UTC) |
| `payload` | object | The fields listed for the type |

Types: `integer`, `string`, `boolean`, `object` and `any` are JSON's; `date` is a
`YYYY-MM-DD` string, `date-time` an ISO 8601 string with its UTC offset; `channel` is one
of {channels}. Money is in integer fen (分).
Days and times of day are the hospital's local ones.

## Compatibility

* A topic never changes meaning or name. A type that is no longer emitted stays listed.
* A payload only gains fields, with a default, so events recorded before still read; a
  receiver must ignore fields it does not know. A field is never removed or retyped.
* The engine reads back a row of a topic it does not know as no event at all (a consumer
  marks it done), so an older engine never chokes on a newer one's events.

Each payload's JSON Schema (draft 2020-12) is given with its type below, and printed by
`python -m booking_core.events.schema`, keyed by topic.
"""

WEBHOOKS = """\
## Webhooks

A hospital's system that subscribes to events (a URL and the topics it wants) is sent each
of them as an HTTPS `POST`, signed as the [Standard Webhooks](https://www.standardwebhooks.com/)
specification says, so any Standard Webhooks library verifies it. Delivery is at least
once: an answer other than 2xx within 10 seconds (an error, a timeout, a refused
connection) is retried later, with a growing delay, for up to 3 days; then the delivery
waits, dead-lettered, for someone to redeliver it. The events of one aggregate (one
booking) reach a subscriber in the order they happened.

The body is one JSON object, compact, UTF-8 (Chinese is not escaped):

| Field | Type | Meaning |
|---|---|---|
| `id` | string | `msg_` and the event's `id`: the same on every attempt and every redelivery, so a receiver that has seen it ignores it |
| `type` | string | The event's topic, e.g. `booking.created` |
| `timestamp` | date-time | When the event was recorded, ISO 8601 in UTC (`Z`); not when it was sent |
| `hospital` | string or null | The hospital's code (null: a platform-wide event) |
| `key` | string | The aggregate the event is about (a booking number, a slot id …) |
| `data` | object | The event's payload: the fields of its type below |

And its headers:

| Header | Value |
|---|---|
| `webhook-id` | The body's `id` |
| `webhook-timestamp` | When this attempt was made, in Unix seconds: a receiver refuses one too far from its own clock (the libraries allow 5 minutes), so an old request cannot be replayed |
| `webhook-signature` | `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the secret's bytes (the base64 after `whsec_`). While a rotated secret overlaps with the new one, one signature per secret, separated by a space: a receiver accepts the request if any of them is right |

The engine makes each subscription's secret (`whsec_…`) and shows it once. A receiver
checks the signature over the body exactly as it arrived, before parsing it, e.g. in
Python with the `standardwebhooks` package:

```python
from standardwebhooks import Webhook

event = Webhook(secret).verify(body, headers)  # raises WebhookVerificationError
```

The engine builds the body and the headers with `webhook_body` and `webhook_headers` in
`booking_core/events/envelope.py`. This request, made by them, is signed with the
specification's example secret {secret}
(its timestamp is long past, so a library refuses it as too old unless told not to check):

{webhook_example}
"""

AUDIT = """\
## The audit log uses the same words

The audit log (the console's 审计日志 page) records who did what. An act that is both
audited and an event is audited under the event's topic (`booking.created`,
`session.stopped`, `patient.blacklisted` …), so both records name it with the same word.
Acts that only the audit log records keep their own names:

| Action | What was done |
|---|---|
| `patient.reveal` | An operator was shown a patient's clear ID number or phone |
| `patient.top_up` | Money was paid into a patient's prepaid balance (预交金) |
| `patient.phone_change` | A patient's phone was changed at the desk, with the reason (before and after masked) |
| `call.caller_reveal` | A transferred caller's number was read in clear to pre-fill the desk's registration form |
| `hospital.upsert`, `department.upsert`, `doctor.upsert` | The catalogue was added to or changed |
| `token.create` | An API token was made for a hospital system or a script |
| `token.revoke` | An API token was revoked (by the API or `guahao token revoke`) |
| `operator.add` | An operator account was made (records older than #11 may say `operator.create`: the command that skipped the checks, now gone) |
| `operator.edit`, `operator.roles` | An operator's name or roles were changed |
| `operator.disable`, `operator.enable` | An operator was disabled (停用) or enabled again |
| `operator.reset_password`, `operator.change_password`, `operator.totp_enrol` | An operator's password was reset or changed, or their one-time codes set up |
| `login.` + outcome | A console log-in attempt: `login.ok`, `login.totp_ok`, `login.bad_password`, `login.bad_totp`, `login.disabled`, `login.locked`, `login.throttled`, `login.reset`, `login.current_password_ok`, `login.pending`, `login.pending_totp` |
| `logout` | An operator logged out |
| `call.take` | An agent took a transferred call from the queue |
| `call.callback_ask` | A caller waiting for an agent pressed 1 to be called back (回拨), keeping their place |
| `call.callback_result` | A try to call a caller back ended: `reached`, `retry` (back in the queue, a try counted) or `closed` (out of tries, the caller texted) |
| `call.hand_over` | An agent handed a call they had taken to another agent (it is offered to them) or back to the IVR menu |
| `agent.state` | An agent's state changed: available, busy (on a call), wrap-up (话后处理), break (小休), offline |
| `call.wrap_up` | An agent recorded how a call ended (its disposition) and its summary (来电小结; the summary itself is not in the audit row) |
| `complaint.open` | A caller began leaving a complaint (see [ComplaintReceived](#complaintreceived) for when it arrives) |
| `complaint.status`, `complaint.assign` | A complaint's status or assignee was set |
| `sms.opt_out`, `sms.opt_in` | A phone opted out of the hospital's notices, or back in |
| `feed.subscribe`, `feed.edit` | A webhook or HL7 subscription of a hospital was made, or its address, topics, options or active switch changed |
| `feed.rotate_secret` | A webhook subscription got a new signing secret (the old one still signs during the overlap) |
| `feed.redeliver` | Deliveries to a subscription were sent again on request (one, or every dead one) |
| `calendar.set`, `calendar.remove` | A day was closed or opened in a hospital's own calendar (节假日表), or its entry removed so the national calendar decides it again |
| `payment.late_confirmed` | A payment arrived after its booking's hold had expired (超时支付) and the hospital confirms late payments while the place is free: the place was taken again for the booking, which the payment then confirmed |
| `draw.run` | A release draw (公平放号) was run: its session, how many requests it served, how many were booked |
| `waitlist.accepted` | A place offered from the waitlist (候补) was confirmed or paid in time |
| `waitlist.lapsed` | A place offered from the waitlist was not taken: its hold ran out (`lapsed`), it was cancelled or left (`declined`), or its session was stopped (`closed`); it passed to the next in line |

The vocabulary is `AuditAction` in `booking_core/events/audit.py`. Records written before
version 11 of the schema were renamed to these words when it was applied (`booking.create`
→ `booking.created`, `blacklist.add` → `patient.blacklisted`, `rule.set` → `rule.changed` …).
"""


@dataclass(frozen=True, slots=True)
class Group:
    """A section of event types (``## title``), with what is said of them all first."""

    title: str
    types: tuple[type[Event], ...]
    introduction: str = ""
    booking_fields: bool = False  # the fields every booking event carries are listed first


GROUPS = (
    Group(
        "Bookings (预约)",
        (
            BookingCreated,
            BookingConfirmed,
            BookingPaid,
            BookingCancelled,
            BookingMoved,
            BookingCheckedIn,
            BookingNoShow,
            BookingCompleted,
            BookingReminderDue,
            BookingConfirmationResent,
            BookingLatePaymentRefunded,
        ),
        "Every booking event carries the booking as it stands after the change, so a "
        "receiver\nneeds no lookup:",
        booking_fields=True,
    ),
    Group("Slots and sessions (号源、排班)", (SlotChanged, SessionCreated, SessionStopped)),
    Group("Release draws (公平放号)", (DrawRequestRefused,)),
    Group(
        "Patients and the blacklist (患者、黑名单)",
        (
            PatientRegistered,
            PatientBlacklisted,
            BanLifted,
            CreditWarned,
            AppealFiled,
            AppealDecided,
        ),
    ),
    Group("Rules (规则)", (RuleChanged,)),
    Group("Calls (来电)", (CallBooked, CallCodeIssued, CallTransferred, CallEnded, CallbackClosed)),
    Group(
        "The waitlist and extra places (候补、加号)",
        (WaitlistJoined, WaitlistLeft, WaitlistOffered, WaitlistClosed, ExtraPlacesAdded),
        """\
A patient may wait for a full session (候补, [docs/rules.md](rules.md)). A place that frees
is offered to the first in line as a `held` booking: its own
[BookingCreated](#bookingcreated) (`held_for` `waitlist`) and a
[WaitlistOffered](#waitlistoffered); confirmed or paid, it is a
[BookingConfirmed](#bookingconfirmed); not in time, a
[BookingCancelled](#bookingcancelled) (`hold_expired`) and the next offer.""",
    ),
    Group("Complaints (投诉)", (ComplaintReceived, ComplaintReplied)),
    Group(
        "Kiosks (自助机)",
        (
            TicketPrinted,
            KioskRegistered,
            KioskDisabled,
            KioskPasswordReset,
            KioskStatusChanged,
            KioskJobQueued,
            KioskJobAcked,
        ),
        """\
A kiosk in the hospital hall speaks MQTT to the engine ([the kiosk protocol](kiosk-protocol.md)).
What it does through the core (a check-in, a payment, a booking) is recorded by the booking
events above, channel `kiosk`; the events below are the kiosks' own. Work for a kiosk's
devices (a ticket to print, a charge, a reversal …) is a job, made in the same transaction
as the change it belongs to and published by the engine's `kiosk` consumer from its
[KioskJobQueued](#kioskjobqueued). The registry's acts are audited under their topics.""",
    ),
)
"""The sections of event types, in the page's order: every type in one of them."""


WHEN: Mapping[type[Event], str] = {
    BookingCreated: """\
When a place is booked (`BookSlot`, from any door: a phone call, a text, the console,
`/api/v1`, FHIR). The booking is `held` when the hospital's rules ask for payment first (it
is cancelled with reason `hold_expired` if not paid in time), or when a hospital system
holds it through FHIR's `$hold` (confirmed by `$book`, else cancelled the same way), else
`confirmed`. A [SlotChanged](#slotchanged) follows. The SMS notifier texts the patient a
confirmation (a FHIR hold: once booked).""",
    BookingConfirmed: """\
When a `held` booking is paid (`PayBooking`), or a FHIR hold is booked with nothing due
first (`ConfirmBooking`, `method` `none`): it is `confirmed` now. The SMS notifier texts a
confirmation that says it was paid (a FHIR hold: that it is booked, and what is due).""",
    BookingPaid: """\
When a booking that was already `confirmed` (booked without paying first) is paid
(`PayBooking`). Nobody is texted.""",
    BookingCancelled: """\
When a booking is cancelled: by the patient or for them (`CancelBooking`, reason
`patient`; `hospital` when an operator cancels on the hospital's behalf), by the hold
sweep (`hold_expired`), or by a doctor stop (`session_stopped`, before the
[SessionStopped](#sessionstopped) event). The place is freed (a
[SlotChanged](#slotchanged) follows) and what was paid refunded. The SMS notifier texts
the patient (a doctor stop is worded as one).""",
    BookingMoved: """\
When a booking is moved to another slot: rescheduled (`RescheduleBooking`, reason
`rescheduled`) or moved to a substitute session by a doctor stop (`session_stopped`). The
payload describes the booking in its new slot; the `from_` fields say where it was. Two
[SlotChanged](#slotchanged) events follow, the old slot's and the new one's. The SMS
notifier texts the patient.""",
    BookingCheckedIn: """\
When the patient checks in on the day of the visit (`CheckIn`, 取号): `queue_no` is
set.""",
    BookingNoShow: """\
When the no-show sweep finds a `confirmed` booking whose session has ended (爽约). Too
many of them in the rule's period put the patient on the blacklist
([PatientBlacklisted](#patientblacklisted)).""",
    BookingCompleted: """\
When the no-show sweep finds a `checked_in` booking whose session has ended. The SMS
notifier texts the satisfaction survey.""",
    BookingReminderDue: """\
Once per booking, when the reminder sweep (`QueueReminders`, from `reminder_hour`
hospital-local) finds it `held` or `confirmed` for tomorrow. The SMS notifier texts the
reminder (not to a phone that opted out).""",
    BookingConfirmationResent: """\
When an agent asks for a booking's confirmation to be texted again (`ResendConfirmation`,
at most a few times per booking in an hour, each audited). The SMS notifier texts the
confirmation again, as it did for [BookingCreated](#bookingcreated).""",
    BookingLatePaymentRefunded: """\
When a payment arrives after the booking's hold expired (超时支付: a kiosk's card charge
acked late) and cannot confirm it: the hospital refunds late payments (rule `late_payment`
`refund`), or its place was taken meanwhile. The money goes back the way it came (the
kiosk's terminal reverses the charge) and the ledger keeps nothing of it; the booking stays
`cancelled`. The SMS notifier texts the patient that the money is on its way back.""",
    SlotChanged: """\
With every change of the number of places taken in a slot: after each
[BookingCreated](#bookingcreated) and [BookingCancelled](#bookingcancelled), and twice
after a [BookingMoved](#bookingmoved) (the old slot, then the new one). A board or a
kiosk showing free places needs only this event.""",
    SessionCreated: """\
When a session and its slots are published (`CreateSession`, `CreateSessions`: 放号).""",
    SessionStopped: """\
When a session is stopped (`StopSession`: 停诊), after the [BookingMoved](#bookingmoved)
or [BookingCancelled](#bookingcancelled) event of each of its active bookings.""",
    DrawRequestRefused: """\
When a release draw (`RunDraws`, the engine's draw worker; 公平放号) decides a request
queued in the first seconds after a release and it is not booked: no place was left when
its lot came up (`slot_full`), or a rule refused it then. A request that won is a
[BookingCreated](#bookingcreated) with `drawn` true. The SMS notifier texts the booker the
outcome either way.""",
    PatientRegistered: """\
When a patient is registered (`RegisterPatient`: at the desk, by text with `ZC`, through
`/api/v1`). The payload carries no name, ID number or phone.""",
    PatientBlacklisted: """\
When a ban is added: by an operator (`AddToBlacklist`), for each line of an imported file
(`ImportBlacklist`), by the fixed no-show rule (source `no_show`), or by the credit
ladder (信用, source `credit`: a no-show found by the sweep, or a patient's cancellation
that made a strike; `strike` says which). The SMS notifier texts the patient of a
`credit` ban when it starts.""",
    CreditWarned: """\
When a strike on the credit ladder (信用) is a warning step (by default the first of the
rolling year), in the unit that found the strike (the no-show sweep, or the patient's
cancellation). The SMS notifier texts the patient the warning.""",
    AppealFiled: """\
When a patient appeals against a ban in force (`FileAppeal`: a text `SS 理由`, or an agent
at the desk). One open appeal per ban.""",
    AppealDecided: """\
When an administrator decides an appeal (`DecideAppeal` on the console's appeals page):
granted, after the [BanLifted](#banlifted) of its ban, or rejected. The SMS notifier texts
the patient the decision and the answer.""",
    BanLifted: """\
When an operator lifts a ban before its end (`LiftBan`). Lifting an entry already lifted
records nothing.""",
    RuleChanged: """\
When a booking rule is set (`SetRule`: the console's rules page, `PUT /api/v1/rules/…`).
`hospital_id` is null for a rule that applies to every hospital.""",
    CallBooked: """\
When a phone call books a place (`BookForCall`), after the
[BookingCreated](#bookingcreated) of the same booking. The SMS notifier texts the
confirmation to the number that called as well as to the patient's phone (once when they
are the same).""",
    CallCodeIssued: """\
When a caller asks to hear or cancel a patient's bookings from a number that is not the
patient's (`SendCallCode`). The SMS notifier texts the code to the patient's own phone;
only it can read `code_enc`.""",
    CallTransferred: """\
When a call is handed to the agents' queue (`TransferCall`). The agents' desk shows the
same context.""",
    CallEnded: """\
Once per call, when the carrier reports that it ended (`EndCall`). A call answered only
by the database-free fallback has no record and no event.""",
    CallbackClosed: """\
When a call-back (a waiting caller pressed 1 to be called back) was not reached in the
attempts allowed (`CallbackDialed`, `SweepCallbacks`; settings `callback_attempts`,
`callback_answer_within_minutes`). The SMS notifier texts the number to call again.""",
    WaitlistJoined: """\
When a patient joins the waitlist of a full session (`JoinWaitlist`: IVR, SMS `HB`, the
console, `/api/v1`). `position` is their place in the line then (arrival order).""",
    WaitlistLeft: """\
When a patient leaves a line: they asked (`LeaveWaitlist`, reason `patient`; SMS `QH`), or
they booked a place of the session themselves (`booked`).""",
    WaitlistOffered: """\
When a freed place (a cancellation, an expired hold, a reschedule away, 加号) is offered to
the first patient waiting: a `held` booking is theirs until `deadline` (the offer time, or
the session's booking cut-off if sooner). The SMS notifier texts them the deadline in local
time and how to confirm (`QR` and the booking number).""",
    WaitlistClosed: """\
When a session's line is closed with the patient still waiting: the session was stopped
(`stopped`, 停诊) or its booking closed (`closed`, by the waitlist sweep). The SMS notifier
texts them.""",
    ExtraPlacesAdded: """\
When a doctor or admin adds places to a session (加号, `AddExtraPlaces`): for a named
patient (`booking_no`, booked at once) or for the waitlist (`offered` of them at once). A
[SlotChanged](#slotchanged) follows.""",
    ComplaintReceived: """\
When the recording of a complaint left on a call arrives (`AttachRecording`): the
complaint is in the office's inbox.""",
    ComplaintReplied: """\
When the hospital answers a complaint (`ReplyToComplaint`). The SMS notifier texts the
answer to the number that complained (or the patient's phone).""",
    TicketPrinted: """\
When a kiosk acks a print job of a booking `done` (`RecordJobAck`): the ticket
(取号凭条) is in the patient's hand, and the booking's `ticket_printed_at` says when. Each
printed copy (a reprint too) is one event; a failed print (paper out) records none and
leaves the ticket to be printed again.""",
    KioskRegistered: """\
When a kiosk is registered (`RegisterKiosk`: the console's devices screen, `guahao kiosk
register`). The engine adds it to the broker's password file (`broker_accounts`).""",
    KioskDisabled: """\
When a kiosk is disabled (`DisableKiosk`, 停用). The engine takes it out of the broker's
password file; its jobs never published are failed (`kiosk_disabled`). Disabling it
again records nothing.""",
    KioskPasswordReset: """\
When a kiosk is given a new broker password (`ResetKioskPassword`): the engine rewrites
the broker's password file. The payload carries no password and no hash.""",
    KioskStatusChanged: """\
When a kiosk's status (`RecordKioskStatus`: its retained status, or its last will) says
something new: online or offline, a device's state, reason or pending reversals. A status
that says the same thing again (the kiosk repeats it every minute) records nothing. The
console's devices screen needs only this.""",
    KioskJobQueued: """\
When a job for a kiosk's devices is made, in the same transaction as what it belongs to:
a ticket to print after a check-in (`CheckInAtKiosk`, `BookAtKiosk`, `ReprintTicket`, or
a payment acked at the kiosk), a `charge` (`PayAtKiosk`, `TopUpAtKiosk`), a `reversal`
and a `show_message` for a charge that could not be applied, a `refund`
(`RefundAtKiosk`). The engine publishes it to `guahao/v1/kiosk/<kiosk_id>/jobs` and
records that with `MarkJobSent`; a job not acknowledged within 30 s, or still waiting
when its kiosk comes back online, is published again under the same id
(`jobs_to_send`).""",
    KioskJobAcked: """\
When a kiosk's acknowledgement of a job is recorded (`RecordJobAck`): once per job, the
first ack (a repeat records nothing). A `charge` acked done has paid its booking (a
[BookingConfirmed](#bookingconfirmed) before it) or credited the prepaid balance, or, if
it could no longer be applied, a reversal was queued; a reversal or refund failed with an
unknown outcome is put back to be sent again (`requeued`), and its next ack is recorded
too.""",
}
"""When each type is emitted, by what, and what follows it (Markdown)."""
