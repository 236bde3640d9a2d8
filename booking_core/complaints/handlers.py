"""Complaints (投诉): a tracking number for the caller, the recording, the status an
operator sets, assignment and the reply texted to the caller."""

from __future__ import annotations

from ..calls.handlers import _call
from ..events.audit import AuditAction
from ..events.model import ComplaintReceived, ComplaintReplied
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, NotFound
from ..kernel.identity import new_tracking_no
from ..kernel.registry import handler_table, on
from ..kernel.unit import Row, Tx, Unit, execute, one, val
from .commands import (
    AssignComplaint,
    AttachRecording,
    OpenComplaint,
    ReplyToComplaint,
    SetComplaintStatus,
)
from .model import OPERATOR_STATUSES, REPLY_STATUSES, ComplaintStatus

TRACKING_NO_ATTEMPTS = 5  # 9e5 numbers: a clash is rare, five in a row is a bug


def open_complaint(tx: Tx, cmd: OpenComplaint, deps: Deps) -> Unit[str]:
    call = yield from _call(cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    for _ in range(TRACKING_NO_ATTEMPTS):
        tracking_no = new_tracking_no()
        new_id = yield val(
            "INSERT INTO complaints (tracking_no, hospital_id, channel, call_sid, caller_enc, "
            "caller_masked, patient_id, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            tracking_no,
            call["hospital_id"],
            call["channel"],
            cmd.call_sid,
            call["caller_enc"],
            call["caller_masked"],
            call["patient_id"],
            str(ComplaintStatus.RECORDING),
            tx.epoch,
            tx.epoch,
        )
        if new_id is not None:
            break
    else:
        raise RuntimeError("could not draw an unused tracking number")
    yield execute(
        "UPDATE calls SET complaints = complaints + 1, updated_at = ? WHERE id = ?",
        tx.epoch,
        call["id"],
    )
    tx.audit(
        cmd.actor,
        AuditAction.COMPLAINT_OPEN,
        "complaint",
        tracking_no,
        hospital_id=call["hospital_id"],
        after={"call_sid": cmd.call_sid, "status": str(ComplaintStatus.RECORDING)},
    )
    return tracking_no


def attach_recording(tx: Tx, cmd: AttachRecording, deps: Deps) -> Unit[str | None]:
    """The newest complaint of the call that has no recording yet or has this one (none
    of another hospital's, as for a call without a complaint)."""
    where, args = tenancy.scope(cmd.actor, "hospital_id")
    mine = "".join(" AND " + clause for clause in where)
    row = yield one(
        "SELECT id, tracking_no, status, hospital_id FROM complaints WHERE call_sid = ? "
        f"AND (recording_sid IS NULL OR recording_sid = ?){mine} ORDER BY id DESC LIMIT 1",
        cmd.call_sid,
        cmd.recording_sid or "",
        *args,
    )
    if row is None:
        return None
    yield execute(
        "UPDATE complaints SET recording_sid = coalesce(?, recording_sid), "
        "recording_url = coalesce(?, recording_url), "
        "recording_seconds = coalesce(?, recording_seconds), "
        "status = CASE WHEN status = ? THEN ? ELSE status END, "
        "updated_at = ? WHERE id = ?",
        cmd.recording_sid,
        cmd.recording_url,
        cmd.duration_seconds,
        str(ComplaintStatus.RECORDING),
        str(ComplaintStatus.RECEIVED),
        tx.epoch,
        row["id"],
    )
    if row["status"] == ComplaintStatus.RECORDING:
        tx.emit(
            ComplaintReceived(
                hospital_id=row["hospital_id"],
                tracking_no=row["tracking_no"],
                call_sid=cmd.call_sid,
            )
        )
    return row["tracking_no"]


def set_complaint_status(tx: Tx, cmd: SetComplaintStatus, deps: Deps) -> Unit[str]:
    if cmd.status not in OPERATOR_STATUSES:
        raise InvalidInput("status", _either(OPERATOR_STATUSES))
    status = ComplaintStatus(cmd.status)
    row = yield one(
        "SELECT id, status, hospital_id FROM complaints WHERE tracking_no = ?", cmd.tracking_no
    )
    if row is None:
        raise NotFound("complaint", cmd.tracking_no)
    tenancy.check(cmd.actor, row["hospital_id"], "complaint", cmd.tracking_no)
    yield execute(
        "UPDATE complaints SET status = ?, resolution = ?, updated_at = ? WHERE id = ?",
        str(status),
        cmd.resolution,
        tx.epoch,
        row["id"],
    )
    tx.audit(
        cmd.actor,
        AuditAction.COMPLAINT_STATUS,
        "complaint",
        cmd.tracking_no,
        hospital_id=row["hospital_id"],
        before={"status": row["status"]},
        after={"status": str(status)},
    )
    return status


MAX_REPLY_LENGTH = 300  # two or three text messages


def _either(statuses: frozenset[ComplaintStatus]) -> str:
    """The statuses as an error says them, in the order of the life cycle."""
    names = [str(s) for s in ComplaintStatus if s in statuses]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _complaint(tracking_no: str, actor: Actor) -> Unit[Row]:
    row = yield one("SELECT * FROM complaints WHERE tracking_no = ?", tracking_no)
    if row is None:
        raise NotFound("complaint", tracking_no)
    tenancy.check(actor, row["hospital_id"], "complaint", tracking_no)
    return row


def assign_complaint(tx: Tx, cmd: AssignComplaint, deps: Deps) -> Unit[str]:
    row = yield from _complaint(cmd.tracking_no, cmd.actor)
    operator = yield one(
        "SELECT hospital_id, disabled FROM operators WHERE username = ?", cmd.assignee
    )
    if operator is None or operator["disabled"]:
        raise NotFound("operator", cmd.assignee)
    tenancy.check(cmd.actor, operator["hospital_id"], "operator", cmd.assignee)
    if operator["hospital_id"] not in (None, row["hospital_id"]):
        raise NotFound("operator", cmd.assignee)
    status = row["status"]
    if status == ComplaintStatus.RECEIVED:  # somebody has it now
        status = ComplaintStatus.IN_PROGRESS
    yield execute(
        "UPDATE complaints SET assignee = ?, status = ?, updated_at = ? WHERE id = ?",
        cmd.assignee,
        str(status),
        tx.epoch,
        row["id"],
    )
    tx.audit(
        cmd.actor,
        AuditAction.COMPLAINT_ASSIGN,
        "complaint",
        cmd.tracking_no,
        hospital_id=row["hospital_id"],
        before={"status": row["status"], "assignee": row["assignee"]},
        after={"assignee": cmd.assignee},
    )
    return cmd.assignee


def reply_to_complaint(tx: Tx, cmd: ReplyToComplaint, deps: Deps) -> Unit[str]:
    reply = cmd.reply.strip()
    if not reply:
        raise InvalidInput("reply", "say what came of it")
    if len(reply) > MAX_REPLY_LENGTH:
        raise InvalidInput("reply", f"at most {MAX_REPLY_LENGTH} characters")
    if cmd.status not in REPLY_STATUSES:
        raise InvalidInput("status", _either(REPLY_STATUSES))
    status = ComplaintStatus(cmd.status)
    row = yield from _complaint(cmd.tracking_no, cmd.actor)
    yield execute(
        "UPDATE complaints SET status = ?, resolution = ?, updated_at = ? WHERE id = ?",
        str(status),
        reply,
        tx.epoch,
        row["id"],
    )
    phone_enc = row["caller_enc"]
    if phone_enc is None and row["patient_id"] is not None:
        phone_enc = yield val("SELECT phone_enc FROM patients WHERE id = ?", row["patient_id"])
    tx.emit(
        ComplaintReplied(
            hospital_id=row["hospital_id"],
            tracking_no=cmd.tracking_no,
            status=str(status),
            reply=reply,
            caller_enc=phone_enc,
            caller_masked=row["caller_masked"],
            patient_id=row["patient_id"],
        )
    )
    tx.audit(
        cmd.actor,
        AuditAction.COMPLAINT_REPLIED,
        "complaint",
        cmd.tracking_no,
        hospital_id=row["hospital_id"],
        before={"status": row["status"]},
        after={"status": str(status), "reply": reply},
    )
    return status


HANDLERS = handler_table(
    on(OpenComplaint, open_complaint),
    on(AttachRecording, attach_recording),
    on(SetComplaintStatus, set_complaint_status),
    on(AssignComplaint, assign_complaint),
    on(ReplyToComplaint, reply_to_complaint),
)
