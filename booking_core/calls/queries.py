"""Reads of calls (来电): a call's state for its next webhook, a call's record, the agent
queue, and which patients a call may act for."""

from __future__ import annotations

import json
from typing import Any

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.identity import mask_long_digits_in
from ..kernel.unit import Row, Tx, Unit, from_epoch, one, rows
from .model import CallSnapshot, QueuedCall


def call_step(tx: Tx, call_sid: str, step: int, digits: str) -> Unit[CallSnapshot | None]:
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


def step_response(tx: Tx, call_sid: str, step: int, digits: str) -> Unit[str | None]:
    row = yield one(
        "SELECT response FROM call_steps WHERE call_sid = ? AND step = ? AND digits = ?",
        call_sid,
        step,
        digits,
    )
    return None if row is None else row["response"]


def verified_patients(call_sid: str, patient_ids: tuple[int, ...]) -> Unit[set[int]]:
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


def call_may_act_for(tx: Tx, call_sid: str, patient_ids: tuple[int, ...]) -> Unit[set[int]]:
    """The read for the door: :func:`verified_patients` in a read transaction."""
    return (yield from verified_patients(call_sid, patient_ids))


QUEUE_HOURS = 2  # a transfer never ended after this long lost its status callback

QUEUE_ROWS = 50


def _queued(row: Row) -> QueuedCall:
    return QueuedCall(
        call_sid=row["call_sid"],
        hospital_id=row["hospital_id"],
        caller_masked=row["caller_masked"],
        patient_id=row["patient_id"],
        context=mask_long_digits_in(json.loads(row["transfer_context"] or "{}")),  # old rows
        transferred_at=from_epoch(row["transferred_at"]),
    )


_COLUMNS = "id, call_sid, hospital_id, caller_masked, patient_id, transfer_context, transferred_at"


def call_queue(tx: Tx, actor: Actor, *, limit: int = QUEUE_ROWS) -> Unit[list[QueuedCall]]:
    """Transferred calls not over yet, longest waiting first, in the actor's hospital."""
    where = ["transferred_at IS NOT NULL", "ended_at IS NULL", "transferred_at > ?"]
    args: list[Any] = [tx.epoch - QUEUE_HOURS * 3600]
    scoped, scoped_args = tenancy.scope(actor, "hospital_id")
    where += scoped
    args += scoped_args
    found = yield rows(
        f"SELECT {_COLUMNS} FROM calls WHERE {' AND '.join(where)} "
        "ORDER BY transferred_at, id LIMIT ?",
        *args,
        limit,
    )
    return [_queued(r) for r in found]


def queued_call(tx: Tx, call_sid: str, actor: Actor) -> Unit[QueuedCall]:
    row = yield one(f"SELECT {_COLUMNS} FROM calls WHERE call_sid = ?", call_sid)
    if row is None or row["transferred_at"] is None:
        raise NotFound("call", call_sid)
    tenancy.check(actor, row["hospital_id"], "call", call_sid)
    return _queued(row)
