"""The read side of calls and complaints (来电、投诉): types and query functions run
with ``await services.read(fn, ...)``."""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import queries
from .domain import Actor, BookingView, Department, Doctor, Patient
from .errors import NotFound
from .pii import Cipher
from .repo.schedule import department_from, doctor_from, hospital_by_code
from .store.base import Query, Tx, from_epoch, one, rows

Gen = Generator[Query, Any, Any]

COMPLAINT_STATUSES = ("recording", "received", "in_progress", "resolved")
"""recording: the caller is speaking; received: the message is in; then an operator's."""

CALL_RESULTS = ("booked", "cancelled", "transferred", "complaint", "abandoned")


@dataclass(frozen=True, slots=True)
class StepAnswer:
    """What a call-step write found: ``won`` when this delivery took the step; else the
    answer already stored for it (None: still being worked out, or never taken)."""

    won: bool
    response: str | None = None
    known: bool = False  # a delivery of this very step was seen before


@dataclass(frozen=True, slots=True)
class ClaimedBooking:
    """What :class:`~booking_core.call_commands.ClaimStepAndBook` did: the claim, the
    booking when the claim was won, and whether the step's answer was stored with it."""

    claim: StepAnswer
    booked: BookingView | None = None
    finished: bool = False


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """A call as its next webhook needs it: the door's state, the step it is at, and
    the stored answer to the step being delivered (if it was answered before)."""

    call_sid: str
    hospital_id: int | None
    seq: int
    state: str
    patient_id: int | None
    response: str | None
    known: bool


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_sid: str
    hospital_id: int | None
    channel: str
    caller_masked: str
    patient_id: int | None
    booked: int
    cancelled: int
    complaints: int
    transfer_context: dict | None
    started_at: datetime
    transferred_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    end_status: str | None
    result: str | None


@dataclass(frozen=True, slots=True)
class Transfer:
    """A caller waiting for (or put through to) an agent, with the context of the call."""

    call_sid: str
    caller: str  # clear caller ID, for an agent allowed to call back
    caller_masked: str
    patient_id: int | None
    context: dict
    transferred_at: datetime


@dataclass(frozen=True, slots=True)
class Complaint:
    tracking_no: str
    hospital_id: int | None
    channel: str
    call_sid: str | None
    caller_masked: str
    patient_id: int | None
    status: str
    recording_url: str | None
    recording_seconds: int | None
    resolution: str | None
    created_at: datetime
    updated_at: datetime


def call_step(tx: Tx, call_sid: str, step: int, digits: str) -> Gen:
    """The call (None when unknown) with the stored answer to (step, digits)."""
    call = yield one(
        "SELECT call_sid, hospital_id, seq, state, patient_id FROM calls WHERE call_sid = ?",
        call_sid,
    )
    if call is None:
        return None
    stored = yield one(
        "SELECT response FROM call_steps WHERE call_sid = ? AND step = ? AND digits = ?",
        call_sid,
        step,
        digits,
    )
    return CallSnapshot(
        call_sid=call["call_sid"],
        hospital_id=call["hospital_id"],
        seq=call["seq"],
        state=call["state"],
        patient_id=call["patient_id"],
        response=None if stored is None else stored["response"],
        known=stored is not None,
    )


def step_response(tx: Tx, call_sid: str, step: int, digits: str) -> Gen:
    row = yield one(
        "SELECT response FROM call_steps WHERE call_sid = ? AND step = ? AND digits = ?",
        call_sid,
        step,
        digits,
    )
    return None if row is None else row["response"]


def call_record(tx: Tx, call_sid: str, actor: Actor) -> Gen:
    row = yield one("SELECT * FROM calls WHERE call_sid = ?", call_sid)
    if row is None or not actor.may_access(row["hospital_id"]):
        raise NotFound("call", call_sid)
    return _record_from(row)


def _record_from(row) -> CallRecord:
    context = row["transfer_context"]
    return CallRecord(
        call_sid=row["call_sid"],
        hospital_id=row["hospital_id"],
        channel=row["channel"],
        caller_masked=row["caller_masked"],
        patient_id=row["patient_id"],
        booked=row["booked"],
        cancelled=row["cancelled"],
        complaints=row["complaints"],
        transfer_context=None if context is None else json.loads(context),
        started_at=from_epoch(row["started_at"]),
        transferred_at=from_epoch(row["transferred_at"]),
        ended_at=from_epoch(row["ended_at"]),
        duration_seconds=row["duration_seconds"],
        end_status=row["end_status"],
        result=row["result"],
    )


def transfers(
    tx: Tx, actor: Actor, cipher: Cipher, *, hospital_code: str | None = None, limit: int = 50
) -> Gen:
    """Calls handed to an agent and not yet over, newest first (the console's screen pop)."""
    where, args = ["transferred_at IS NOT NULL", "ended_at IS NULL"], []
    if hospital_code:
        hospital = yield from hospital_by_code(hospital_code)
        if not actor.may_access(hospital.id):
            raise NotFound("hospital", hospital_code)
        where.append("hospital_id = ?")
        args.append(hospital.id)
    elif actor.hospital_id is not None:
        where.append("hospital_id = ?")
        args.append(actor.hospital_id)
    found = yield rows(
        f"SELECT * FROM calls WHERE {' AND '.join(where)} ORDER BY transferred_at DESC LIMIT ?",
        *args,
        limit,
    )
    return [
        Transfer(
            call_sid=r["call_sid"],
            caller=cipher.decrypt(r["caller_enc"], context="phone") if r["caller_enc"] else "",
            caller_masked=r["caller_masked"],
            patient_id=r["patient_id"],
            context=json.loads(r["transfer_context"] or "{}"),
            transferred_at=from_epoch(r["transferred_at"]),
        )
        for r in found
    ]


def complaint(tx: Tx, tracking_no: str, actor: Actor) -> Gen:
    row = yield one("SELECT * FROM complaints WHERE tracking_no = ?", tracking_no)
    if row is None or not actor.may_access(row["hospital_id"]):
        raise NotFound("complaint", tracking_no)
    return Complaint(
        tracking_no=row["tracking_no"],
        hospital_id=row["hospital_id"],
        channel=row["channel"],
        call_sid=row["call_sid"],
        caller_masked=row["caller_masked"],
        patient_id=row["patient_id"],
        status=row["status"],
        recording_url=row["recording_url"],
        recording_seconds=row["recording_seconds"],
        resolution=row["resolution"],
        created_at=from_epoch(row["created_at"]),
        updated_at=from_epoch(row["updated_at"]),
    )


def departments(tx: Tx, hospital_code: str, actor: Actor) -> Gen:
    """A hospital's active departments by code (科室列表)."""
    hospital = yield from hospital_by_code(hospital_code)
    if not actor.may_access(hospital.id):
        raise NotFound("hospital", hospital_code)
    found = yield rows(
        "SELECT * FROM departments WHERE hospital_id = ? AND active = 1 ORDER BY code",
        hospital.id,
    )
    result: list[Department] = [department_from(r) for r in found]
    return result


def doctors(tx: Tx, hospital_code: str, department_code: str, actor: Actor) -> Gen:
    """A department's active doctors by work number, with title and fee (医生列表)."""
    hospital = yield from hospital_by_code(hospital_code)
    if not actor.may_access(hospital.id):
        raise NotFound("hospital", hospital_code)
    found = yield rows(
        "SELECT doc.* FROM doctors doc JOIN departments dep ON dep.id = doc.department_id "
        "WHERE doc.hospital_id = ? AND dep.code = ? AND doc.active = 1 ORDER BY doc.work_no",
        hospital.id,
        department_code,
    )
    result: list[Doctor] = [doctor_from(r) for r in found]
    return result


def patients_with_bans(
    tx: Tx, actor: Actor, cipher: Cipher, *, hospital_code: str, **by: str
) -> Gen:
    """Patients found by phone, card or ID number (as :func:`queries.find_patients`), each
    with the end of its longest active ban or None: one read for the phone line's look-up."""
    found = yield from queries.find_patients(tx, actor, cipher, hospital_code=hospital_code, **by)
    out: list[tuple[Patient, datetime | None]] = []
    for patient in found:
        bans = yield from queries.list_blacklist(tx, actor, patient_id=patient.id)
        out.append((patient, max((b.ends_at for b in bans), default=None)))
    return out


def verified_patients(call_sid: str, patient_ids: tuple[int, ...]) -> Gen:
    """Of ``patient_ids``, those this call may hear and cancel bookings of: the caller ID
    is the patient's phone, or a code texted to the patient was typed on this call."""
    if not patient_ids:
        return set()
    marks = ", ".join("?" for _ in patient_ids)
    found = yield rows(
        "SELECT p.id FROM patients p JOIN calls c ON c.call_sid = ? "
        f"WHERE p.id IN ({marks}) AND ((c.caller_index IS NOT NULL "
        "AND p.phone_index = c.caller_index) OR EXISTS (SELECT 1 FROM call_codes k "
        "WHERE k.call_sid = c.call_sid AND k.patient_id = p.id AND k.verified_at IS NOT NULL))",
        call_sid,
        *patient_ids,
    )
    return {r["id"] for r in found}


def call_may_act_for(tx: Tx, call_sid: str, patient_ids: tuple[int, ...]) -> Gen:
    """The read for the door: :func:`verified_patients` in a read transaction."""
    return (yield from verified_patients(call_sid, patient_ids))
