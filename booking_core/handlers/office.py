"""Back-office handlers (后台): complaints assigned and answered, sessions in bulk, a
blacklist file imported in one unit."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from datetime import date
from typing import Any

from ..commands import AddToBlacklist
from ..errors import BookingError, InvalidInput, NotFound
from ..office_commands import (
    AssignComplaint,
    BlacklistImport,
    CreateSessions,
    ImportBlacklist,
    LineRefused,
    ReplyToComplaint,
)
from ..office_queries import patient_by_card
from ..store.base import Query, Tx, execute, one, rows, val
from . import Deps
from .admin import check_ban, insert_ban, same_ban_exists
from .schedule import create_session

Gen = Generator[Query, Any, Any]

MAX_REPLY_LENGTH = 300  # two or three text messages
MAX_SESSIONS_AT_ONCE = 500
MAX_BAN_LINES = 5_000  # a file a person checks by eye; one unit of work still quick


def _complaint(tracking_no: str, actor) -> Gen:
    row = yield one("SELECT * FROM complaints WHERE tracking_no = ?", tracking_no)
    if row is None or not actor.may_access(row["hospital_id"]):
        raise NotFound("complaint", tracking_no)
    return row


def assign_complaint(tx: Tx, cmd: AssignComplaint, deps: Deps) -> Gen:
    row = yield from _complaint(cmd.tracking_no, cmd.actor)
    operator = yield one(
        "SELECT hospital_id, disabled FROM operators WHERE username = ?", cmd.assignee
    )
    if (
        operator is None
        or operator["disabled"]
        or not cmd.actor.may_access(operator["hospital_id"])
    ):
        raise NotFound("operator", cmd.assignee)
    if operator["hospital_id"] not in (None, row["hospital_id"]):
        raise NotFound("operator", cmd.assignee)
    if row["status"] == "received":
        yield execute(
            "UPDATE complaints SET status = 'in_progress', updated_at = ? WHERE id = ?",
            tx.epoch,
            row["id"],
        )
    tx.audit(
        cmd.actor,
        "complaint.assign",
        "complaint",
        cmd.tracking_no,
        hospital_id=row["hospital_id"],
        before={"status": row["status"]},
        after={"assignee": cmd.assignee},
    )
    return cmd.assignee


def reply_to_complaint(tx: Tx, cmd: ReplyToComplaint, deps: Deps) -> Gen:
    reply = cmd.reply.strip()
    if not reply:
        raise InvalidInput("reply", "say what came of it")
    if len(reply) > MAX_REPLY_LENGTH:
        raise InvalidInput("reply", f"at most {MAX_REPLY_LENGTH} characters")
    if cmd.status not in ("in_progress", "resolved"):
        raise InvalidInput("status", "in_progress or resolved")
    row = yield from _complaint(cmd.tracking_no, cmd.actor)
    yield execute(
        "UPDATE complaints SET status = ?, resolution = ?, updated_at = ? WHERE id = ?",
        cmd.status,
        reply,
        tx.epoch,
        row["id"],
    )
    phone_enc = row["caller_enc"]
    if phone_enc is None and row["patient_id"] is not None:
        phone_enc = yield val("SELECT phone_enc FROM patients WHERE id = ?", row["patient_id"])
    tx.emit(
        "complaint.replied",
        hospital_id=row["hospital_id"],
        key=cmd.tracking_no,
        payload={
            "tracking_no": cmd.tracking_no,
            "status": cmd.status,
            "reply": reply,
            "caller_enc": phone_enc,
            "caller_masked": row["caller_masked"],
            "patient_id": row["patient_id"],
        },
    )
    tx.audit(
        cmd.actor,
        "complaint.reply",
        "complaint",
        cmd.tracking_no,
        hospital_id=row["hospital_id"],
        before={"status": row["status"]},
        after={"status": cmd.status, "reply": reply},
    )
    return cmd.status


def create_sessions(tx: Tx, cmd: CreateSessions, deps: Deps) -> Gen:
    if len(cmd.sessions) > MAX_SESSIONS_AT_ONCE:
        raise InvalidInput("sessions", f"at most {MAX_SESSIONS_AT_ONCE} at once")
    made = []
    for one_session in cmd.sessions:
        made.append((yield from create_session(tx, replace(one_session, actor=cmd.actor), deps)))
    return made


def _ban_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("until", "a date like 2026-07-10") from None


def import_blacklist(tx: Tx, cmd: ImportBlacklist, deps: Deps) -> Gen:
    if len(cmd.lines) > MAX_BAN_LINES:
        raise InvalidInput("file", f"at most {MAX_BAN_LINES} lines")
    checked = []
    refused: list[LineRefused] = []
    for line in cmd.lines:
        try:
            until = _ban_day(line.until)
            patient_id = yield from patient_by_card(tx, cmd.actor, cmd.hospital_code, line.card_no)
            ban = yield from check_ban(
                tx,
                AddToBlacklist(
                    patient_id=patient_id, until=until, reason=line.reason, actor=cmd.actor
                ),
            )
        except BookingError as err:  # checks only: nothing of this line was written
            params = {k: str(v) for k, v in err.params.items()}
            refused.append(LineRefused(line.line, err.code, params))
            continue
        checked.append((line.line, ban))
    if checked and not refused and not cmd.check_only:
        # the patients' rows locked in id order (PostgreSQL; SQLite's writes are serial):
        # the same file imported twice at once adds each ban once, and cannot deadlock
        ids = sorted({ban.patient_id for _, ban in checked})
        marks = ", ".join("?" * len(ids))
        yield rows(f"SELECT id FROM patients WHERE id IN ({marks}) ORDER BY id", *ids, lock=True)
    planned = []
    skipped: list[int] = []
    seen: set[tuple] = set()
    for number, ban in checked:
        key = (ban.patient_id, ban.hospital_id, ban.ends_at)
        if key in seen or (yield from same_ban_exists(tx, ban)):
            skipped.append(number)
            continue
        seen.add(key)
        planned.append(ban)
    if refused or cmd.check_only:
        return BlacklistImport(added=(), skipped=tuple(skipped), refused=tuple(refused))
    added = []
    for ban in planned:
        added.append((yield from insert_ban(tx, ban, cmd.actor)))
    return BlacklistImport(added=tuple(added), skipped=tuple(skipped), refused=())


HANDLERS = {
    AssignComplaint: assign_complaint,
    ReplyToComplaint: reply_to_complaint,
    CreateSessions: create_sessions,
    ImportBlacklist: import_blacklist,
}
