"""The audit log's vocabulary (审计日志的操作): every action ``tx.audit`` may record.

One vocabulary with the events: an act that is also an event (a booking made, a session
stopped, a patient blacklisted …) is recorded under the event's topic, so the audit log
and the outbox name it with the same word. The acts only the audit log records (a look
at a patient's clear ID number, an operator's log-in, a catalogue edit …) are named here
alone. The console's audit-log page shows these strings and filters by their prefix.
"""

from __future__ import annotations

from enum import StrEnum

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
    ComplaintReplied,
    CreditWarned,
    ExtraPlacesAdded,
    KioskDisabled,
    KioskPasswordReset,
    KioskRegistered,
    PatientBlacklisted,
    PatientRegistered,
    RuleChanged,
    SessionCreated,
    SessionStopped,
    WaitlistClosed,
    WaitlistJoined,
    WaitlistLeft,
    WaitlistOffered,
)


class AuditAction(StrEnum):
    """What an audit record says was done."""

    # acts that are events too: the event's topic
    BOOKING_CREATED = BookingCreated.topic
    BOOKING_CONFIRMED = BookingConfirmed.topic
    BOOKING_PAID = BookingPaid.topic
    BOOKING_CANCELLED = BookingCancelled.topic
    BOOKING_MOVED = BookingMoved.topic
    BOOKING_CHECKED_IN = BookingCheckedIn.topic
    BOOKING_NO_SHOW = BookingNoShow.topic
    BOOKING_COMPLETED = BookingCompleted.topic
    BOOKING_CONFIRMATION_RESENT = BookingConfirmationResent.topic
    BOOKING_LATE_PAYMENT_REFUNDED = BookingLatePaymentRefunded.topic
    SESSION_CREATED = SessionCreated.topic
    SESSION_STOPPED = SessionStopped.topic
    PATIENT_REGISTERED = PatientRegistered.topic
    PATIENT_BLACKLISTED = PatientBlacklisted.topic
    BAN_LIFTED = BanLifted.topic
    CREDIT_WARNED = CreditWarned.topic
    APPEAL_FILED = AppealFiled.topic
    APPEAL_DECIDED = AppealDecided.topic
    RULE_CHANGED = RuleChanged.topic
    COMPLAINT_REPLIED = ComplaintReplied.topic
    KIOSK_REGISTERED = KioskRegistered.topic
    KIOSK_DISABLED = KioskDisabled.topic
    KIOSK_PASSWORD_RESET = KioskPasswordReset.topic
    WAITLIST_JOINED = WaitlistJoined.topic
    WAITLIST_LEFT = WaitlistLeft.topic
    WAITLIST_CLOSED = WaitlistClosed.topic
    WAITLIST_OFFERED = WaitlistOffered.topic
    EXTRA_PLACES_ADDED = ExtraPlacesAdded.topic

    # acts only the audit log records
    PATIENT_REVEAL = "patient.reveal"  # clear ID number or phone shown to an operator
    PATIENT_TOP_UP = "patient.top_up"  # 预交金 paid in (the ledger has the movement)
    PATIENT_PHONE_CHANGE = "patient.phone_change"  # at the desk, with the reason (#14)
    CALL_CALLER_REVEAL = "call.caller_reveal"  # a caller's number read to pre-fill a form
    HOSPITAL_UPSERT = "hospital.upsert"
    DEPARTMENT_UPSERT = "department.upsert"
    DOCTOR_UPSERT = "doctor.upsert"
    TOKEN_CREATE = "token.create"  # an API token for a hospital system or a script
    TOKEN_REVOKE = "token.revoke"  # it stops working (within the API's token cache time)
    OPERATOR_ADD = "operator.add"
    OPERATOR_EDIT = "operator.edit"
    OPERATOR_ROLES = "operator.roles"
    OPERATOR_DISABLE = "operator.disable"
    OPERATOR_ENABLE = "operator.enable"
    OPERATOR_RESET_PASSWORD = "operator.reset_password"
    OPERATOR_CHANGE_PASSWORD = "operator.change_password"
    OPERATOR_TOTP_ENROL = "operator.totp_enrol"
    LOGOUT = "logout"
    CALL_TAKE = "call.take"  # an agent took a transferred call from the queue
    CALL_CALLBACK_ASK = "call.callback_ask"  # a waiting caller asked to be called back (回拨)
    CALL_CALLBACK_RESULT = "call.callback_result"  # a try to call them back: how it went
    CALL_HAND_OVER = "call.hand_over"  # … and handed it to another agent or the IVR menu
    AGENT_STATE = "agent.state"  # an agent's state changed (available, busy, wrap-up, break …)
    CALL_WRAP_UP = "call.wrap_up"  # an agent recorded a call's disposition and summary
    COMPLAINT_OPEN = "complaint.open"  # a caller began leaving a complaint (recording)
    COMPLAINT_STATUS = "complaint.status"
    COMPLAINT_ASSIGN = "complaint.assign"
    SMS_OPT_OUT = "sms.opt_out"
    SMS_OPT_IN = "sms.opt_in"
    FEED_SUBSCRIBE = "feed.subscribe"  # a webhook or HL7 subscription of a hospital was made
    FEED_EDIT = "feed.edit"  # its URL, topics, options or active switch changed
    FEED_ROTATE_SECRET = "feed.rotate_secret"  # a new signing secret (the old one overlaps)
    FEED_REDELIVER = "feed.redeliver"  # deliveries sent again on request
    CALENDAR_DAY_SET = "calendar.set"  # a day closed or opened in a hospital's own calendar
    CALENDAR_DAY_REMOVE = "calendar.remove"  # … its entry removed: the national calendar again
    LATE_PAYMENT_CONFIRMED = "payment.late_confirmed"  # a late payment re-took a free place
    DRAW_RUN = "draw.run"  # a release draw (公平放号) served its queued requests by lot
    WAITLIST_ACCEPTED = "waitlist.accepted"  # a place offered from the waitlist was taken
    WAITLIST_LAPSED = "waitlist.lapsed"  # … not taken in time (or declined): passed on

    # a console log-in attempt: "login." and its outcome (booking_core.operators.model)
    LOGIN_OK = "login.ok"
    LOGIN_TOTP_OK = "login.totp_ok"
    LOGIN_BAD_PASSWORD = "login.bad_password"
    LOGIN_BAD_TOTP = "login.bad_totp"
    LOGIN_DISABLED = "login.disabled"
    LOGIN_LOCKED = "login.locked"
    LOGIN_THROTTLED = "login.throttled"
    LOGIN_RESET = "login.reset"
    LOGIN_CURRENT_PASSWORD_OK = "login.current_password_ok"
    LOGIN_PENDING = "login.pending"
    LOGIN_PENDING_TOTP = "login.pending_totp"
