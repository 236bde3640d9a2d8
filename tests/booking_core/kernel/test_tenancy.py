"""The one tenancy rule (院区隔离, issue #11 item 4), on both stores.

Every command on the bus and every query a domain exports is run by an actor of hospital
B against hospital A's rows: each is refused as if the row were missing (``NotFound``, or
the answer the command gives for a missing row; ``Forbidden`` where a hospital's actor
touches a platform row, as the code has always said) and no row of any table changes. A
list shows nothing of A's — and the same query by A's own actor does show A's rows, so
each case really aims at them. A command or query with no hospital to scope is in
``EXEMPT`` with its reason; one in neither table fails the test.

The control switches the rule off in its one place (:mod:`booking_core.kernel.tenancy`)
and every case gets through: each of them depends on the rule, none is refused for
another reason."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest

import booking_core
from booking_core import (
    blacklist,
    bookings,
    calls,
    catalogue,
    complaints,
    events,
    feeds,
    kiosks,
    messages,
    operators,
    patients,
    payments,
    reports,
    rules,
    schedule,
)
from booking_core.bus import COMMAND_HANDLERS
from booking_core.kernel import tenancy
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import BookingError, Forbidden, NotFound
from booking_core.kernel.unit import execute, rows
from booking_core.schedule import Period
from tests.support.world import World, resident_id, slot_ids

DAY = date(2026, 7, 11)  # tomorrow (the clock is 2026-07-10 09:00 Beijing)
A_PHONE = "13911110001"
B_PHONE = "13922220002"
CALLER = "13800000009"  # a caller ID that is not the patient's phone: codes are texted

A_HAS_ROWS_IN = (
    *("hospitals", "departments", "doctors", "sessions", "slots", "patients", "bookings"),
    *("blacklist", "appeals", "rules", "ledger", "outbox", "audit", "api_tokens", "operators"),
    *("console_sessions", "calls", "call_steps", "call_codes", "call_lookups", "complaints"),
    *("agent_states", "agent_state_changes"),
    *("messages", "surveys", "sms_registrations"),
    *("kiosks", "kiosk_devices", "kiosk_jobs"),
    *("feed_subscriptions", "feed_deliveries", "feed_attempts"),
    *("waitlist",),
)
"""Tables the world puts A's rows in (the snapshots compare every table, these included)."""

MARKERS = ("甲", "HA01", "CA-A", "a-agent", "A0001")
"""What A's rows carry wherever a list could show them (B's carry 乙, HB02, b-agent …)."""


# --- the two hospitals ---------------------------------------------------------------


@dataclass
class Two:
    """Hospital A with rows in every table of a hospital's (``A_HAS_ROWS_IN``); hospital B
    with a patient, a booking, an operator and a platform-wide ban of its own."""

    a: Actor
    b: Actor
    cipher: Any
    hospital_a: int
    session: int
    slot: int
    other_slot: int
    patient: int
    card_no: str
    booking_no: str
    ban: int
    appeal: int  # A's patient's, against A's ban
    operator: int
    call_sid: str
    patients_call: str  # from the patient's own phone: it may act for the patient
    tracking_no: str
    message_id: int
    b_patient: int
    b_slot: int
    b_operator: int
    platform_ban: int
    kiosk: str  # A's
    b_kiosk: str
    kiosk_job: str  # A's kiosk's: a top-up charge of A's patient
    id_number: str  # A's patient's
    subscription: int  # A's webhook subscription
    delivery: int  # an event of A's on its way to it, with a failed attempt
    department: int  # A's
    doctor: int  # A's
    token: int  # A's HIS token
    full_session: int  # A's, full, with A's patient waiting for a place (候补)


def _feed_latest_event_of(hospital_id: int):
    """The outbox row for the consumer ``feeds`` of hospital ``hospital_id``'s latest event
    (this store's consumer is ``test``): a delivery for A's subscription to be made of."""

    def unit(tx):
        yield execute(
            "INSERT INTO outbox_deliveries (consumer, event_id, available_at) "
            "SELECT ?, max(id), 0 FROM outbox WHERE hospital_id = ?",
            feeds.OUTBOX_CONSUMER,
            hospital_id,
        )

    return unit


async def _two_hospitals(services, cipher) -> Two:
    handle = services.handle
    a = World(services)
    await a.hospital("HA01", "甲医院")
    await a.department("101", "甲科")
    await a.doctor("A0001")
    session = await a.session(DAY, "A0001")
    a_id_number = resident_id()
    patient = await a.patient("甲患者", A_PHONE, id_number=a_id_number)
    b = World(services)
    await b.hospital("HB02", "乙医院")
    await b.department("201", "乙科")
    await b.doctor("B0001", department="201")
    b_session = await b.session(DAY, "B0001")
    b_patient = await b.patient("乙患者", B_PHONE)
    slots = await slot_ids(services, session.id)
    b_slots = await slot_ids(services, b_session.id)
    a_id = session.hospital_id

    await handle(payments.TopUp(patient_id=patient.id, amount=20_000))
    booked = await a.book(slots[0], patient.id, Channel.AGENT)
    full = await a.session(  # 候补: one place, taken; A's patient waits for it
        DAY + timedelta(days=1), "A0001", start=time(8, 0), end=time(8, 30), places=1
    )
    other = await a.patient("甲患者二", "13911110003")
    await a.book((await slot_ids(services, full.id))[0], other.id, Channel.AGENT)
    await handle(
        bookings.JoinWaitlist(session_id=full.id, patient_id=patient.id, channel=Channel.AGENT)
    )
    await b.book(b_slots[0], b_patient.id, Channel.AGENT)
    ban = await handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 8, 1), reason="甲 爽约")
    )
    appeal = await handle(blacklist.FileAppeal(patient_id=patient.id, reason="甲 申诉"))
    platform_ban = await handle(
        blacklist.AddToBlacklist(
            patient_id=b_patient.id, until=date(2026, 8, 1), reason="乙", platform_wide=True
        )
    )
    await handle(
        rules.SetRule(
            rule=rules.Rule(key=rules.RuleKey.CANCEL_DEADLINE_MINUTES, value=30, hospital_id=a_id)
        )
    )
    operator = await handle(_add_operator("a-agent", "HA01"))
    b_operator = await handle(_add_operator("b-agent", "HB02"))
    a_agent = Actor("operator", "a-agent", a_id, Channel.AGENT)
    await handle(calls.SetAgentState(actor=a_agent, state=calls.AgentState.AVAILABLE))
    await handle(
        operators.OpenConsoleSession(
            token_hash="甲-session",
            operator_id=operator,
            csrf_token="c",
            stage="ready",
            source="127.0.0.1",
            expires_at=int(services.clock.now().timestamp()) + 3600,
        )
    )
    token = await handle(
        operators.CreateToken(name="甲 HIS", role="his", hospital_code="HA01", token_hash="甲-t")
    )
    call_sid = "CA-A-1"
    await handle(
        calls.StartCall(
            call_sid=call_sid,
            hospital_code="HA01",
            caller=CALLER,
            state="{}",
            digits="",
            response="甲",
        )
    )
    await handle(
        calls.StartCall(
            call_sid="CA-A-2",
            hospital_code="HA01",
            caller=A_PHONE,
            state="{}",
            digits="",
            response="甲",
        )
    )
    await handle(calls.CountCallLookup(call_sid=call_sid))
    await handle(calls.SendCallCode(call_sid=call_sid, patient_id=patient.id))
    tracking_no = await handle(complaints.OpenComplaint(call_sid=call_sid))
    await handle(
        complaints.AttachRecording(
            call_sid=call_sid, recording_sid="RE-A", recording_url="https://example.org/甲.mp3"
        )
    )
    await handle(complaints.AssignComplaint(tracking_no=tracking_no, assignee="a-agent"))
    await handle(calls.TransferCall(call_sid=call_sid, queue="desk", context={"said": "甲"}))
    inbound = await handle(
        messages.ReceiveMessage(
            gateway="twilio", provider_id="SM-A-1", hospital_code="HA01", phone=A_PHONE, body="甲"
        )
    )
    survey = messages.OutgoingMessage(
        key="survey:甲",
        gateway="twilio",
        phone=A_PHONE,
        body="甲 请回复1-5",
        kind=messages.MessageKind.SURVEY,
        hospital_id=a_id,
        booking_no=booked.booking.booking_no,
    )
    await handle(messages.QueueMessages(consumer="test", event_ids=(), messages=(survey,)))
    await handle(messages.CountRegistration(hospital_code="HA01", phone=A_PHONE))
    kiosk = await handle(
        kiosks.RegisterKiosk(hospital_code="HA01", name="甲1号机", password_hash="$7$a-hash")
    )
    b_kiosk = await handle(
        kiosks.RegisterKiosk(hospital_code="HB02", name="乙1号机", password_hash="$7$b-hash")
    )
    await handle(
        kiosks.RecordKioskStatus(
            kiosk_id=kiosk.kiosk_id, online=True, devices={"printer": {"state": "ok"}}
        )
    )
    kiosk_job = await handle(
        kiosks.TopUpAtKiosk(kiosk_id=kiosk.kiosk_id, card_no=patient.card_no, amount=100)
    )
    subscription = await handle(
        feeds.CreateSubscription(
            hospital_code="HA01", kind=feeds.FeedKind.WEBHOOK, name="甲HIS",
            url="https://his.a.example.cn/hook",
        )
    )  # fmt: skip
    await services.store.write(_feed_latest_event_of(a_id))
    await handle(feeds.FanOutEvents())
    [delivery] = await handle(feeds.ClaimDeliveries(subscription_id=subscription.subscription.id))
    await handle(
        feeds.RecordAttempts(
            results=((delivery.id, feeds.AttemptResult(feeds.Outcome.RETRY, 5, 500, "HTTP 500")),)
        )
    )
    return Two(
        a=Actor("operator", "a-admin", a_id, Channel.AGENT),
        b=Actor("operator", "b-admin", b_session.hospital_id, Channel.AGENT),
        cipher=cipher,
        hospital_a=a_id,
        session=session.id,
        slot=slots[0],
        other_slot=slots[1],
        patient=patient.id,
        card_no=patient.card_no,
        booking_no=booked.booking.booking_no,
        ban=ban.id,
        appeal=appeal.id,
        operator=operator,
        call_sid=call_sid,
        patients_call="CA-A-2",
        tracking_no=tracking_no,
        message_id=inbound.message_id,
        b_patient=b_patient.id,
        b_slot=b_slots[1],
        b_operator=b_operator,
        platform_ban=platform_ban.id,
        kiosk=kiosk.kiosk_id,
        b_kiosk=b_kiosk.kiosk_id,
        kiosk_job=kiosk_job.job_id,
        id_number=a_id_number,
        subscription=subscription.subscription.id,
        delivery=delivery.id,
        department=session.department_id,
        doctor=session.doctor_id,
        token=token,
        full_session=full.id,
    )


def _add_operator(username: str, hospital_code: str | None, actor: Actor = SYSTEM):
    return operators.AddOperator(
        actor=actor,
        username=username,
        display_name=username,
        password_hash="x",
        roles=(operators.Role.AGENT,),
        hospital_code=hospital_code,
    )


# --- what each command and query is expected to say to hospital B ----------------------


@dataclass(frozen=True)
class Refused:
    """Raises this error (and changes nothing)."""

    error: type[BookingError]


@dataclass(frozen=True)
class Answers:
    """Answers as it does for a row that does not exist (and changes nothing)."""

    value: Any


NOT_FOUND = Refused(NotFound)
FORBIDDEN = Refused(Forbidden)  # a platform row: refused in so many words, as it always was
NONE_OF_A = "lists none of A's rows"
UNKNOWN_STEP = calls.StepAnswer(won=False, response=None, known=False)


ZONE = "Asia/Shanghai"


def _command_cases(t: Two) -> list[tuple[Any, Refused | Answers]]:
    """Each command aimed at A's rows by B's actor, with what it must say."""
    b, a_line = t.b, blacklist.BanLine(1, t.card_no, "2026-09-01", "x")
    b_agent = Actor("operator", "b-agent", b.hospital_id, Channel.AGENT)
    not_found_line = blacklist.LineRefused(1, "not_found", {"entity": "patient", "key": t.card_no})
    session = schedule.CreateSession(
        actor=b,
        hospital_code="HA01",
        doctor_work_no="A0001",
        day=DAY,
        period=Period.AFTERNOON,
        start=time(14, 0),
        end=time(17, 0),
        slot_minutes=30,
        places_per_slot=2,
    )
    rule = rules.Rule(key=rules.RuleKey.CANCEL_DEADLINE_MINUTES, value=60, hospital_id=t.hospital_a)
    call, booking_no, patient, operator = t.call_sid, t.booking_no, t.patient, t.operator
    to_a = {"actor": b, "hospital_code": "HA01"}
    start = {"caller": CALLER, "state": "{}", "digits": "", "response": "x"}
    new_operator = {"display_name": "x", "password_hash": "x", "roles": (operators.Role.AGENT,)}
    return [
        (catalogue.UpsertHospital(actor=b, code="HA01", name="甲医院", timezone=ZONE), NOT_FOUND),
        (catalogue.UpsertHospital(actor=b, code="HC03", name="丙医院", timezone=ZONE), FORBIDDEN),
        (catalogue.UpsertDepartment(**to_a, code="109", name="x"), NOT_FOUND),
        (
            catalogue.UpsertDoctor(
                **to_a,
                work_no="A0009",
                department_code="101",
                name="x",
                title="",
                specialty="",
                fee=0,
            ),
            NOT_FOUND,
        ),
        (rules.SetRule(actor=b, rule=rule), FORBIDDEN),
        (rules.SetCalendarDay(**to_a, day=DAY, is_open=False, note="x"), NOT_FOUND),
        (rules.RemoveCalendarDay(**to_a, day=DAY), NOT_FOUND),
        (
            patients.RegisterPatient(
                **to_a, name="丙", id_number=resident_id(), phone="13933330003"
            ),
            NOT_FOUND,
        ),
        (patients.RevealPatient(actor=b, patient_id=patient), NOT_FOUND),
        (session, NOT_FOUND),
        (schedule.CreateSessions(actor=b, sessions=(session,)), NOT_FOUND),
        (
            schedule.ImportSchedule(
                **to_a, departments=(schedule.DepartmentLine(0, "109", "x"),), check_only=True
            ),
            NOT_FOUND,
        ),
        (
            schedule.ImportSchedule(**to_a, departments=(schedule.DepartmentLine(0, "109", "x"),)),
            NOT_FOUND,
        ),
        (payments.TopUp(actor=b, patient_id=patient, amount=100), NOT_FOUND),
        (
            blacklist.AddToBlacklist(actor=b, patient_id=patient, until=DAY, reason="x"),
            NOT_FOUND,
        ),
        (
            blacklist.AddToBlacklist(
                actor=b, patient_id=t.b_patient, until=DAY, reason="x", platform_wide=True
            ),
            FORBIDDEN,
        ),
        (blacklist.LiftBan(actor=b, entry_id=t.ban), NOT_FOUND),
        (blacklist.LiftBan(actor=b, entry_id=t.platform_ban), FORBIDDEN),
        (blacklist.FileAppeal(actor=b, patient_id=t.patient, reason="x"), NOT_FOUND),
        (blacklist.DecideAppeal(actor=b, appeal_id=t.appeal, grant=True), NOT_FOUND),
        (
            blacklist.ImportBlacklist(actor=b, hospital_code=None, lines=(a_line,)),
            Answers(blacklist.BlacklistImport(added=(), skipped=(), refused=(not_found_line,))),
        ),
        (
            blacklist.ReplaceHisBlacklist(
                **to_a, entries=(blacklist.HisBan(card_no=t.card_no, until=DAY, reason="x"),)
            ),
            NOT_FOUND,
        ),
        (
            bookings.BookSlot(
                actor=b, slot_id=t.other_slot, patient_id=patient, channel=Channel.AGENT
            ),
            NOT_FOUND,
        ),
        (bookings.PayBooking(actor=b, booking_no=booking_no, method="cash"), NOT_FOUND),
        (bookings.CancelBooking(actor=b, booking_no=booking_no), NOT_FOUND),
        (bookings.ConfirmBooking(actor=b, booking_no=booking_no), NOT_FOUND),
        (
            bookings.RescheduleBooking(actor=b, booking_no=booking_no, slot_id=t.other_slot),
            NOT_FOUND,
        ),
        (bookings.CheckIn(actor=b, booking_no=booking_no), NOT_FOUND),
        (bookings.ResendConfirmation(actor=b, booking_no=booking_no), NOT_FOUND),
        (
            bookings.CancelBooking(actor=b, booking_no=booking_no, why="other", note="x"),
            NOT_FOUND,
        ),
        (bookings.StopSession(actor=b, session_id=t.session, mode="cancel"), NOT_FOUND),
        (
            bookings.JoinWaitlist(
                actor=b, session_id=t.full_session, patient_id=t.patient, channel=Channel.AGENT
            ),
            NOT_FOUND,
        ),
        (
            bookings.LeaveWaitlist(actor=b, session_id=t.full_session, patient_id=t.patient),
            NOT_FOUND,
        ),
        (bookings.AddExtraPlaces(actor=b, session_id=t.full_session), NOT_FOUND),
        (calls.StartCall(**to_a, call_sid="CA-A-9", **start), NOT_FOUND),
        # A's call started again through B's number: its stored answer is not B's to hear
        (calls.StartCall(actor=b, hospital_code="HB02", call_sid=call, **start), NOT_FOUND),
        (
            calls.RecordCallStep(
                actor=b, call_sid=call, step=1, digits="1", state="{}", response="x"
            ),
            Answers(UNKNOWN_STEP),
        ),
        (calls.ClaimCallStep(actor=b, call_sid=call, step=1, digits="1"), Answers(UNKNOWN_STEP)),
        (
            calls.FinishCallStep(
                actor=b, call_sid=call, step=0, digits="", state="{}", response="x"
            ),
            Answers(calls.StepAnswer(won=True, response="x", known=True)),
        ),
        (
            # B's own patient and slot, on A's call: the call is not B's to count or text from
            calls.BookForCall(actor=b, call_sid=call, slot_id=t.b_slot, patient_id=t.b_patient),
            NOT_FOUND,
        ),
        (
            calls.ClaimStepAndBook(
                actor=b,
                call_sid=call,
                step=1,
                digits="1",
                slot_id=t.other_slot,
                patient_id=patient,
            ),
            Answers(calls.ClaimedBooking(claim=UNKNOWN_STEP)),
        ),
        (calls.CancelForCall(actor=b, call_sid=t.patients_call, booking_no=booking_no), NOT_FOUND),
        (calls.TransferCall(actor=b, call_sid=call, queue="q"), NOT_FOUND),
        # A's waiting caller cannot be made a call-back from B (nor taken, nor its call-back
        # moved: without the rule, B's take and dial report would reach that call-back)
        (
            calls.RequestCallback(actor=b, call_sid=call),
            Answers(calls.CallbackAsked(calls.CallbackStatus.NOT_WAITING)),
        ),
        (calls.EndCall(actor=b, call_sid=call, status="completed"), Answers(None)),
        (calls.HandOverCall(actor=b, call_sid=call, to=None), NOT_FOUND),
        (calls.TakeCall(actor=b_agent, call_sid=call), NOT_FOUND),  # an agent of B's
        (
            calls.CallbackDialed(actor=b, call_sid=call, operator_id=1, dial_status="busy"),
            NOT_FOUND,
        ),
        (calls.CountCallLookup(actor=b, call_sid=call), NOT_FOUND),
        (calls.SendCallCode(actor=b, call_sid=call, patient_id=t.b_patient), NOT_FOUND),
        (
            calls.CheckCallCode(actor=b, call_sid=call, patient_id=patient, code="000000"),
            Answers(calls.CodeCheck.SPENT),
        ),
        (complaints.OpenComplaint(actor=b, call_sid=call), NOT_FOUND),
        (complaints.AttachRecording(actor=b, call_sid=call, recording_sid="RE-A"), Answers(None)),
        (
            complaints.SetComplaintStatus(actor=b, tracking_no=t.tracking_no, status="resolved"),
            NOT_FOUND,
        ),
        (
            complaints.AssignComplaint(actor=b, tracking_no=t.tracking_no, assignee="a-agent"),
            NOT_FOUND,
        ),
        (complaints.ReplyToComplaint(actor=b, tracking_no=t.tracking_no, reply="x"), NOT_FOUND),
        (
            messages.ReceiveMessage(
                **to_a, gateway="twilio", provider_id="SM-A-2", phone=A_PHONE, body="x"
            ),
            NOT_FOUND,
        ),
        (
            messages.AnswerMessage(actor=b, message_id=t.message_id, reply="x", send=True),
            NOT_FOUND,
        ),
        (messages.CountRegistration(**to_a, phone=A_PHONE), NOT_FOUND),
        (messages.AnswerSurvey(actor=b, phone=A_PHONE, score=5), NOT_FOUND),
        (operators.AddOperator(**to_a, username="b-in-a", **new_operator), NOT_FOUND),
        (operators.AddOperator(actor=b, username="b-platform", **new_operator), FORBIDDEN),
        (operators.EditOperator(actor=b, operator_id=operator, display_name="x"), NOT_FOUND),
        (
            operators.AssignRoles(
                actor=b, operator_id=operator, roles=(operators.Role.HOSPITAL_ADMIN,)
            ),
            NOT_FOUND,
        ),
        (
            operators.AssignRoles(
                actor=b, operator_id=t.b_operator, roles=(operators.Role.PLATFORM_ADMIN,)
            ),
            FORBIDDEN,
        ),
        (operators.SetOperatorDisabled(actor=b, operator_id=operator, disabled=True), NOT_FOUND),
        (operators.ResetPassword(actor=b, operator_id=operator, password_hash="y"), NOT_FOUND),
        (operators.ChangePassword(actor=b, operator_id=operator, password_hash="y"), NOT_FOUND),
        (operators.EnrolTotp(actor=b, operator_id=operator, secret_enc="s", step=1), NOT_FOUND),
        (operators.UseTotpStep(actor=b, operator_id=operator, step=99), Answers(False)),
        (
            operators.CreateToken(**to_a, name="x", role="his", token_hash="b-in-a"),
            NOT_FOUND,
        ),
        (operators.RevokeToken(actor=b, token_id=t.token), NOT_FOUND),
        (
            operators.CreateToken(
                actor=b, name="x", role="admin", hospital_code=None, token_hash="b-platform"
            ),
            FORBIDDEN,
        ),
        (kiosks.RegisterKiosk(**to_a, name="x", password_hash="x"), NOT_FOUND),
        (kiosks.DisableKiosk(actor=b, kiosk_id=t.kiosk), NOT_FOUND),
        (kiosks.ResetKioskPassword(actor=b, kiosk_id=t.kiosk, password_hash="y"), NOT_FOUND),
        (kiosks.RecordKioskStatus(actor=b, kiosk_id=t.kiosk, online=False), NOT_FOUND),
        (kiosks.MarkJobSent(actor=b, job_id=t.kiosk_job), NOT_FOUND),
        (
            kiosks.RecordJobAck(
                actor=b, kiosk_id=t.kiosk, job_id=t.kiosk_job, outcome="failed", reason="x"
            ),
            NOT_FOUND,
        ),
        (kiosks.CheckInAtKiosk(actor=b, kiosk_id=t.kiosk, booking_no=booking_no), NOT_FOUND),
        # B's own kiosk, at A's booking, card, slot: the kiosk acts for its hospital only
        (kiosks.CheckInAtKiosk(actor=b, kiosk_id=t.b_kiosk, booking_no=booking_no), NOT_FOUND),
        (kiosks.PayAtKiosk(actor=b, kiosk_id=t.b_kiosk, booking_no=booking_no), NOT_FOUND),
        (
            kiosks.BookAtKiosk(
                actor=b,
                kiosk_id=t.b_kiosk,
                slot_id=t.other_slot,
                name="甲患者",
                id_number=t.id_number,
            ),
            NOT_FOUND,
        ),
        (
            kiosks.TopUpAtKiosk(actor=b, kiosk_id=t.b_kiosk, card_no=t.card_no, amount=100),
            NOT_FOUND,
        ),
        (
            kiosks.ReprintTicket(actor=b, booking_no=booking_no, kiosk_id=t.b_kiosk),
            NOT_FOUND,
        ),
        (kiosks.RefundAtKiosk(actor=b, booking_no=booking_no), NOT_FOUND),
        (
            feeds.CreateSubscription(
                **to_a, kind=feeds.FeedKind.WEBHOOK, name="x", url="https://x.example.cn/h"
            ),
            NOT_FOUND,
        ),
        (
            feeds.UpdateSubscription(actor=b, subscription_id=t.subscription, active=False),
            NOT_FOUND,
        ),
        (feeds.RotateSecret(actor=b, subscription_id=t.subscription), NOT_FOUND),
        (feeds.Redeliver(actor=b, subscription_id=t.subscription), NOT_FOUND),
        # last: with the rule off (the control) it changes A's patient's phone
        (patients.RevealCaller(actor=b, call_sid=call), NOT_FOUND),
        (
            patients.ChangePatientPhone(
                actor=b, patient_id=patient, phone="13933330009", reason="x"
            ),
            NOT_FOUND,
        ),
    ]


def q(*args: Any, **kwargs: Any) -> tuple[tuple, dict]:
    return args, kwargs


def _query_cases(t: Two, who: Actor) -> list[tuple[Callable, tuple[tuple, dict], Any]]:
    """Each query aimed at A's rows, run by ``who``, with what it must say to B."""
    days = {"day_from": DAY, "day_to": DAY}
    return [
        (catalogue.catalogue, q(who, None), NONE_OF_A),
        (catalogue.catalogue, q(who, "HA01"), NOT_FOUND),
        (catalogue.departments, q("HA01", who), NOT_FOUND),
        (catalogue.doctors, q("HA01", "101", who), NOT_FOUND),
        (catalogue.doctor, q("HA01", "A0001", who), NOT_FOUND),
        (catalogue.doctor_cards, q("HA01", who), NOT_FOUND),
        (catalogue.find_doctors, q("HA01", "医生", who), NOT_FOUND),
        (rules.booking_window_of, q("HA01", who), NOT_FOUND),
        (rules.effective_rules, q("HA01", who), NOT_FOUND),
        (rules.calendar_of, q("HA01", 2026, who), NOT_FOUND),
        (patients.find_patients, q(who, t.cipher, phone=A_PHONE), NONE_OF_A),
        (patients.find_patients, q(who, t.cipher, card_no=t.card_no), NONE_OF_A),
        (patients.find_patients, q(who, t.cipher, hospital_code="HA01", phone=A_PHONE), NOT_FOUND),
        (patients.find_patients_page, q(who, t.cipher, phone=A_PHONE), NONE_OF_A),
        (patients.find_patients_page, q(who, t.cipher, card_no=t.card_no), NONE_OF_A),
        (patients.get_patient, q(t.patient, who), NOT_FOUND),
        (patients.patient_by_card, q(who, None, t.card_no), NOT_FOUND),
        (patients.patient_by_card, q(who, "HA01", t.card_no), NOT_FOUND),
        (patients.patient_hospital, q(t.patient, who), NOT_FOUND),
        (patients.reveal_patient, q(t.patient, who, t.cipher), NOT_FOUND),
        (patients.search_patients, q(who, t.cipher, "甲患者"), NONE_OF_A),
        (patients.search_patients, q(who, t.cipher, t.card_no), NONE_OF_A),
        (patients.search_patients, q(who, t.cipher, A_PHONE), NONE_OF_A),
        (schedule.list_sessions, q(who, hospital_code=None, **days), NONE_OF_A),
        (schedule.list_sessions, q(who, hospital_code="HA01", **days), NOT_FOUND),
        (schedule.search_slots, q(schedule.SlotSearch(hospital_code="HA01"), who), NOT_FOUND),
        (schedule.count_slots, q(schedule.SlotSearch(hospital_code="HA01"), who), NOT_FOUND),
        (
            schedule.week_grid,
            q(schedule.WeekQuery(hospital_code="HA01", doctor_work_no="A0001"), who),
            NOT_FOUND,
        ),
        (schedule.session_detail, q(t.session, who), NOT_FOUND),
        (schedule.feed_sessions, q(schedule.FeedQuery(), who), NONE_OF_A),
        (schedule.feed_sessions, q(schedule.FeedQuery(hospital_id=t.hospital_a), who), NOT_FOUND),
        (schedule.feed_slots, q(schedule.FeedQuery(ids=(t.slot,)), who), NONE_OF_A),
        (schedule.feed_slots, q(schedule.FeedQuery(hospital_id=t.hospital_a), who), NOT_FOUND),
        (catalogue.visible_hospitals, q(who), NONE_OF_A),
        (catalogue.department_with_id, q(t.department, who), NOT_FOUND),
        (catalogue.doctor_with_id, q(t.doctor, who), NOT_FOUND),
        (bookings.export_bookings, q(bookings.BookingQuery(), who), NONE_OF_A),
        (bookings.export_bookings, q(bookings.BookingQuery(hospital_code="HA01"), who), NOT_FOUND),
        (bookings.query_bookings, q(bookings.BookingQuery(patient="甲患者"), who), NONE_OF_A),
        (bookings.query_bookings, q(bookings.BookingQuery(hospital_code="HA01"), who), NOT_FOUND),
        (bookings.get_booking, q(t.booking_no, who), NOT_FOUND),
        (bookings.list_bookings, q(who), NONE_OF_A),
        (bookings.list_bookings, q(who, patient_id=t.patient), NONE_OF_A),
        (bookings.list_bookings, q(who, session_id=t.session), NONE_OF_A),
        (bookings.list_bookings, q(who, hospital_code="HA01"), NONE_OF_A),
        (bookings.stop_preview, q(t.session, who), NOT_FOUND),
        (bookings.waitlist_line, q(t.full_session, who), NOT_FOUND),
        (bookings.waitlist_of_patient, q(t.patient, who), NOT_FOUND),
        (blacklist.blacklist_rows, q(who), NONE_OF_A),
        (blacklist.list_blacklist, q(who), NONE_OF_A),
        (blacklist.list_blacklist, q(who, patient_id=t.patient), NONE_OF_A),
        (blacklist.list_appeals, q(who), NONE_OF_A),
        (blacklist.list_appeals, q(who, patient_id=t.patient), NONE_OF_A),
        (blacklist.credit_strikes, q(who, t.patient), NOT_FOUND),
        (
            blacklist.patients_with_bans,
            q(who, t.cipher, hospital_code="HA01", phone=A_PHONE),
            NOT_FOUND,
        ),
        (calls.call_queue, q(who), NONE_OF_A),
        (calls.queued_call, q(t.call_sid, who), NOT_FOUND),
        (calls.agent_states, q(who), NONE_OF_A),
        (complaints.complaint, q(t.tracking_no, who), NOT_FOUND),
        (complaints.complaints, q(who), NONE_OF_A),
        (messages.messages, q(who), NONE_OF_A),
        (operators.get_operator, q(t.operator, who), NOT_FOUND),
        (operators.list_operators, q(who), NONE_OF_A),
        (operators.list_tokens, q(who), NONE_OF_A),
        (operators.list_tokens, q(who, include_revoked=True), NONE_OF_A),
        (operators.list_tokens, q(who, hospital_code="HA01"), NOT_FOUND),
        (reports.audit_log, q(who), NONE_OF_A),
        (reports.report, q(who, hospital_code=None, **days), NONE_OF_A),
        (reports.report, q(who, hospital_code="HA01", **days), NOT_FOUND),
        (reports.call_dispositions, q(who, hospital_code="HA01", **days), NOT_FOUND),
        (reports.agent_workload, q(who, hospital_code="HA01", **days), NOT_FOUND),
        (reports.wallboard, q(who, t.hospital_a), NOT_FOUND),
        (kiosks.kiosk, q(t.kiosk, who), NOT_FOUND),
        (feeds.subscriptions, q(who), NONE_OF_A),
        (feeds.subscriptions, q(who, "HA01"), NOT_FOUND),
        (feeds.subscription, q(who, t.subscription), NOT_FOUND),
        (feeds.deliveries, q(who, t.subscription), NOT_FOUND),
        (feeds.delivery_counts, q(who, t.subscription), NOT_FOUND),
        (feeds.delivery, q(who, t.delivery), NOT_FOUND),
        (feeds.attempts, q(who, t.delivery), NOT_FOUND),
        (kiosks.kiosk_job, q(t.kiosk_job, who), NOT_FOUND),
        (kiosks.kiosks, q(who), NONE_OF_A),
        (kiosks.kiosks, q(who, hospital_code="HA01"), NOT_FOUND),
        (kiosks.broker_accounts, q(who), NONE_OF_A),
        (kiosks.jobs_to_send, q(who, older_than_seconds=0), NONE_OF_A),
        (kiosks.jobs_to_send, q(who, kiosk_id=t.kiosk, older_than_seconds=0), NOT_FOUND),
        (kiosks.swipe, q(t.kiosk, kiosks.PatientCard(t.card_no), who, t.cipher), NOT_FOUND),
        (kiosks.kiosk_slots, q(t.kiosk, "101", DAY, who), NOT_FOUND),
    ]


EXEMPT: dict[Any, str] = {
    # the engine's own work over every hospital, run by the system actor
    bookings.ExpireHolds: "the engine's hold-expiry sweep over every hospital",
    bookings.RunDraws: "the engine's release-draw worker over every hospital (no door sends "
    "it); each request is booked as the actor that queued it, who passed the tenancy check then",
    bookings.SweepNoShows: "the engine's no-show sweep over every hospital",
    bookings.SweepWaitlists: "the engine's waitlist sweep (lines closed, places offered)",
    calls.SweepCallbacks: "the engine's call-back sweep over every hospital",
    calls.SignOffAbsentAgents: "the engine's sweep of agents whose session ran out, every hospital",
    messages.QueueReminders: "the engine's reminder sweep, each hospital in its own zone",
    events.PurgeAudit: "the engine's retention sweep of the audit log and log-in attempts",
    patients.FillPatientKeys: "the engine's backfill of pinyin keys over every hospital's "
    "patients from before schema 18",
    feeds.FanOutEvents: "the feeds' fan-out of every hospital's events to their subscriptions",
    feeds.ClaimDeliveries: "a feed lane leasing its subscription's due deliveries",
    feeds.RecordAttempts: "a feed lane recording what its batch of attempts came to",
    feeds.PurgeFeedLog: "the engine's retention sweep of the delivery log",
    feeds.active_subscriptions: "no actor: the dispatcher's lanes, one per subscription",
    feeds.signing_secrets: "no actor: the webhook sender's secrets of the lane it runs",
    # the SMS notifier's and senders' bookkeeping, run by the system actor
    messages.QueueMessages: "the notifier turning outbox events into messages",
    messages.ClaimOutgoing: "a sender leasing its gateway's due messages",
    messages.MarkSent: "a sender recording its gateway took a message",
    messages.MarkFailed: "a sender recording a failed send",
    messages.UpdateDelivery: "a gateway's delivery report, keyed by the gateway's message id",
    messages.KeepUndecodable: "a modem's undecodable PDU, kept encrypted; no hospital known",
    messages.SetOptOut: "an opt-out is the phone's own, across hospitals (no hospital column)",
    # the console's log-in, before anyone is logged in
    operators.RecordLoginAttempt: "log-in attempt bookkeeping, before an actor exists",
    operators.ReserveLoginAttempt: "log-in attempt bookkeeping, before an actor exists",
    operators.SettleLoginAttempt: "log-in attempt bookkeeping, before an actor exists",
    operators.OpenConsoleSession: "a session opened by the log-in for the operator it checked",
    operators.SetSessionStage: "keyed by the hash of the session's secret cookie",
    operators.TouchConsoleSession: "keyed by the hash of the session's secret cookie",
    operators.CloseConsoleSession: "keyed by the hash of the session's secret cookie",
    # queries that take no actor
    catalogue.hospital: "no actor: the door resolves the hospital it serves (a number, a token)",
    catalogue.hospital_with_id: "no actor: the notifier's hospital of an event it sends",
    catalogue.hospital_timezone: "no actor: the zone a screen shows times in",
    catalogue.hospital_doctors: "no actor: the doctors of the hospital the desk already holds",
    catalogue.hospital_departments: "no actor: the departments of a hospital the door already "
    "checked the caller may see (FHIR's searches)",
    calls.call_step: "no actor: the voice door's own call, keyed by the carrier's CallSid",
    calls.step_response: "no actor: the voice door's own call, keyed by the carrier's CallSid",
    calls.call_may_act_for: "no actor: the voice door's own call proves who it may act for",
    calls.verified_patients: "no actor: a step inside the call's units (call_may_act_for)",
    calls.queue_place: "no actor: the voice door's own waiting caller, keyed by its CallSid",
    calls.agent_leg: "no actor: the agent's softphone leg; only the operator who took the call "
    "(TakeCall checks the hospital) is bridged to it",
    calls.agent_status: "the acting operator's own state: their own row, no other's",
    calls.SetAgentState: "the acting operator's own state: their own row, no other's",
    calls.FinishAgentCall: "the acting operator's own state, and only the call they are busy "
    "on (which TakeCall let them take in their own hospital)",
    calls.WrapUpCall: "only the agent who answered the call (calls.agent_id, set by TakeCall "
    "in their own hospital) may wrap it up: another hospital's never answered it",
    complaints.complaint_history: "no actor: read by the console after complaint() let it see",
    messages.inbound_reply: "no actor: the SMS door's own stored reply, by its message id",
    operators.credentials: "the log-in itself: no actor yet",
    operators.credentials_by_id: "the log-in and the account page: the operator's own row",
    operators.console_session: "the log-in: the session behind a secret cookie's hash",
    operators.login_history: "the lockout's counts, before an actor exists",
    operators.token_by_hash: "the API's authentication: the token behind a secret's hash",
    operators.token_with_hospital: "the API's authentication: the token behind a secret's hash",
    reports.agents_by_state: "no actor: a step inside the wallboard's read, which checks the "
    "hospital (reports.wallboard)",
}


# --- running them ----------------------------------------------------------------------


def _tables(tx):
    """Every row of every table, in an order that does not depend on the store."""
    if tx.dialect == "postgres":
        names = yield rows(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        )
    else:
        names = yield rows("SELECT name FROM sqlite_master WHERE type = 'table'")
    snapshot = {}
    for name in sorted(r["name"] for r in names):
        found = yield rows(f"SELECT * FROM {name}")
        snapshot[name] = sorted(repr(sorted(dict(r).items())) for r in found)
    return snapshot


def _changed(before: dict, after: dict) -> list[str]:
    return [
        name for name in sorted(before.keys() | after.keys()) if before.get(name) != after.get(name)
    ]


async def _outcome(run) -> tuple[str, Any]:
    try:
        return "answered", await run
    except BookingError as err:
        return "raised", err


def _named(things: list) -> list[str]:
    """``bookings.BookSlot[0]``: the module, the command or query and the case's number."""
    seen: dict[Any, int] = {}
    names = []
    for thing in things:
        n = seen[thing] = seen.get(thing, -1) + 1
        names.append(f"{thing.__module__.removeprefix('booking_core.')}.{thing.__qualname__}[{n}]")
    return names


def _shows_a(value: Any, t: Two) -> bool:
    text = repr(value)
    return any(marker in text for marker in (*MARKERS, t.kiosk))


async def _commands(services, t: Two) -> dict[str, str | None]:
    """Each command case: None when B was refused as expected and nothing changed, else
    what happened instead."""
    cases = _command_cases(t)
    found: dict[str, str | None] = {}
    before = await services.store.read(_tables)
    for name, (command, expect) in zip(_named([type(c) for c, _ in cases]), cases, strict=True):
        kind, value = await _outcome(services.handle(command))
        after = await services.store.read(_tables)
        changed, before = _changed(before, after), after
        if isinstance(expect, Refused):
            refused = kind == "raised" and type(value) is expect.error
        else:
            refused = kind == "answered" and value == expect.value
        found[name] = None if refused and not changed else f"{kind} {value!r}, changed {changed}"
    return found


async def _queries(services, t: Two, who: Actor) -> dict[str, str | None]:
    """Each query case run by ``who``: None when refused as B must be, else what it did."""
    cases = _query_cases(t, who)
    found: dict[str, str | None] = {}
    for name, (query, (args, kwargs), expect) in zip(
        _named([query for query, _, _ in cases]), cases, strict=True
    ):
        kind, value = await _outcome(services.read(query, *args, **kwargs))
        if expect == NONE_OF_A:
            refused = kind == "answered" and not _shows_a(value, t)
        else:
            refused = kind == "raised" and type(value) is expect.error
        found[name] = None if refused else f"{kind} {value!r}"
    return found


# --- the tests ---------------------------------------------------------------------------


async def test_hospital_a_is_missing_to_every_command_and_query_of_hospital_b(services, cipher):
    t = await _two_hospitals(services, cipher)
    tables = await services.store.read(_tables)
    assert [name for name in A_HAS_ROWS_IN if not tables.get(name)] == []
    queried = await _queries(services, t, t.b)
    assert {name: what for name, what in queried.items() if what} == {}
    # the same reads by A's own actor answer, and lists show A's rows: each case aims at them
    own = await _queries(services, t, t.a)
    assert [name for name, what in own.items() if not (what or "").startswith("answered")] == []
    commanded = await _commands(services, t)
    assert {name: what for name, what in commanded.items() if what} == {}


async def test_control_without_the_rule_every_case_gets_through(services, cipher, monkeypatch):
    """The rule switched off in its one place: every case now reaches A's rows, so each
    depends on the rule (and the test above would catch a check gone missing)."""
    t = await _two_hospitals(services, cipher)

    def unscoped(actor, column, hospital_id=None):
        return ([f"{column} = ?"], [hospital_id]) if hospital_id is not None else ([], [])

    monkeypatch.setattr(tenancy, "check", lambda *args, **kwargs: None)
    monkeypatch.setattr(tenancy, "scope", unscoped)
    queried = await _queries(services, t, t.b)
    commanded = await _commands(services, t)
    assert [name for name, what in {**queried, **commanded}.items() if what is None] == []


SOMEONE = Actor("operator", "x", 1, Channel.AGENT)
ANY_WORLD = Two(**{f.name: 1 for f in fields(Two)} | {"a": SOMEONE, "b": SOMEONE})
"""Enough to build every case without a store (to see which ones there are)."""


def _exported_queries() -> set[Callable]:
    """Every unit-of-work read a domain package exports, or defines in its queries module."""
    found: set[Callable] = set()
    for info in pkgutil.iter_modules(booking_core.__path__):
        if not info.ispkg or info.name in ("kernel", "store"):
            continue
        package = importlib.import_module(f"booking_core.{info.name}")
        candidates = [getattr(package, name) for name in package.__all__]
        try:
            module = importlib.import_module(f"booking_core.{info.name}.queries")
        except ModuleNotFoundError:
            module = None
        if module is not None:
            candidates += [
                value
                for name, value in vars(module).items()
                if not name.startswith("_") and getattr(value, "__module__", "") == module.__name__
            ]
        found |= {c for c in candidates if inspect.isgeneratorfunction(c)}
    return found


def test_every_command_and_query_is_covered_or_exempt():
    """A new command or query must say how hospital B is kept from A's rows (a case above)
    or why it has no hospital to keep apart (EXEMPT); a removed one leaves no entry behind."""
    everything = set(COMMAND_HANDLERS) | _exported_queries()
    covered = {type(command) for command, _ in _command_cases(ANY_WORLD)}
    covered |= {query for query, _, _ in _query_cases(ANY_WORLD, SOMEONE)}
    assert covered & set(EXEMPT) == set()
    neither = sorted(f"{x.__module__}.{x.__qualname__}" for x in everything - covered - set(EXEMPT))
    assert neither == [], "add a case to _command_cases/_query_cases or a reason to EXEMPT"
    stale = sorted(f"{x.__module__}.{x.__qualname__}" for x in (covered | set(EXEMPT)) - everything)
    assert stale == []
    assert all(reason.strip() for reason in EXEMPT.values())
    assert len(_exported_queries()) >= 40  # the enumeration finds them


def _hand_written_checks(source: str) -> list[int]:
    """Lines that compare (or test the truth of) ``….actor.hospital_id``/``actor.hospital_id``."""

    def actors_hospital(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "hospital_id"
            and (
                (isinstance(node.value, ast.Name) and node.value.id == "actor")
                or (isinstance(node.value, ast.Attribute) and node.value.attr == "actor")
            )
        )

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            tested = [node.left, *node.comparators]
        elif isinstance(node, ast.If | ast.IfExp | ast.While | ast.Assert):
            tested = [node.test]
        elif isinstance(node, ast.BoolOp):
            tested = list(node.values)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            tested = [node.operand]
        else:
            tested = []
        if any(actors_hospital(n) for n in tested) or (
            isinstance(node, ast.Attribute) and node.attr == "may_access"
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_tenancy_helpers_compare_an_actors_hospital():
    root = Path(booking_core.__file__).parent
    found = {
        str(path.relative_to(root)): lines
        for path in sorted(root.rglob("*.py"))
        if path != root / "kernel" / "tenancy.py"
        and (lines := _hand_written_checks(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "use booking_core.kernel.tenancy.check / scope"
    assert _hand_written_checks("if cmd.actor.hospital_id is not None:\n    pass\n") == [1]
    assert _hand_written_checks("x = not actor.may_access(h)\n") == [1]
    assert _hand_written_checks("tx.audit(hospital_id=cmd.actor.hospital_id)\n") == []


# --- the two helpers on their own --------------------------------------------------------

PLATFORM = Actor("operator", "root", None, Channel.AGENT)
OF_ONE = Actor("operator", "one", 1, Channel.AGENT)


def test_a_hospitals_actor_sees_its_own_rows_only():
    tenancy.check(OF_ONE, 1, "booking", "1")
    tenancy.check(PLATFORM, 2, "booking", "1")
    tenancy.check(PLATFORM, None, "rule", "x", forbidden="set_rule")
    with pytest.raises(NotFound) as missing:
        tenancy.check(OF_ONE, 2, "booking", "12345678")
    assert missing.value.params == {"entity": "booking", "key": "12345678"}
    with pytest.raises(NotFound):
        tenancy.check(OF_ONE, None, "operator", 7)  # a platform row is not the hospital's
    with pytest.raises(Forbidden) as refused:
        tenancy.check(OF_ONE, None, "rule", "x", forbidden="set_rule")
    assert refused.value.params == {"action": "set_rule"}


def test_a_query_is_scoped_to_the_named_or_the_actors_hospital():
    assert tenancy.scope(PLATFORM, "b.hospital_id") == ([], [])
    assert tenancy.scope(OF_ONE, "b.hospital_id") == (["b.hospital_id = ?"], [1])
    assert tenancy.scope(PLATFORM, "h.id", 2) == (["h.id = ?"], [2])
    assert tenancy.scope(OF_ONE, "h.id", 1) == (["h.id = ?"], [1])
    with pytest.raises(NotFound):
        tenancy.scope(OF_ONE, "h.id", 2)
    where, _ = tenancy.scope(OF_ONE, "x")
    where.append("y = ?")  # new lists each time: adding to one changes no other
    assert tenancy.scope(OF_ONE, "x") == (["x = ?"], [1])
