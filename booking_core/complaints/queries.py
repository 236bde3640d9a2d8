"""Reads of complaints (投诉): one by tracking number, the back office's list and a
complaint's history."""

from __future__ import annotations

import json
from typing import Any

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.unit import Tx, Unit, from_epoch, one, rows
from .model import Complaint, ComplaintStatus


def complaint(tx: Tx, tracking_no: str, actor: Actor) -> Unit[Complaint]:
    row = yield one("SELECT * FROM complaints WHERE tracking_no = ?", tracking_no)
    if row is None:
        raise NotFound("complaint", tracking_no)
    tenancy.check(actor, row["hospital_id"], "complaint", tracking_no)
    return Complaint(
        tracking_no=row["tracking_no"],
        hospital_id=row["hospital_id"],
        channel=row["channel"],
        call_sid=row["call_sid"],
        caller_masked=row["caller_masked"],
        patient_id=row["patient_id"],
        status=ComplaintStatus(row["status"]),
        recording_url=row["recording_url"],
        recording_seconds=row["recording_seconds"],
        resolution=row["resolution"],
        created_at=from_epoch(row["created_at"]),
        updated_at=from_epoch(row["updated_at"]),
        assignee=row["assignee"],
    )


# --- complaints (投诉) ------------------------------------------------------------------


def complaints(tx: Tx, actor: Actor, *, status: str | None = None) -> Unit[list[dict[str, Any]]]:
    """Complaints newest first, each with the operator it is assigned to."""
    where, args = tenancy.scope(actor, "c.hospital_id")
    if status:
        where.append("c.status = ?")
        args.append(status)
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        "SELECT c.tracking_no, c.status, c.channel, c.caller_masked, c.created_at, "
        "c.recording_url, c.assignee, h.code AS hospital_code FROM complaints c "
        "LEFT JOIN hospitals h ON h.id = c.hospital_id" + clause + " ORDER BY c.id DESC LIMIT 500",
        *args,
    )
    return [
        {
            "tracking_no": r["tracking_no"],
            "status": ComplaintStatus(r["status"]),
            "channel": r["channel"],
            "caller": r["caller_masked"],
            "hospital": r["hospital_code"],
            "has_recording": bool(r["recording_url"]),
            "created_at": from_epoch(r["created_at"]),
            "assignee": r["assignee"],
        }
        for r in found
    ]


def complaint_history(tx: Tx, tracking_no: str) -> Unit[list[dict[str, Any]]]:
    found = yield rows(
        "SELECT at, actor, action, after_state FROM audit WHERE entity = 'complaint' "
        "AND entity_id = ? ORDER BY id",
        tracking_no,
    )
    return [
        {
            "at": from_epoch(r["at"]),
            "actor": r["actor"],
            "action": r["action"],
            "after": json.loads(r["after_state"]) if r["after_state"] else None,
        }
        for r in found
    ]
