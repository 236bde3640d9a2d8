"""Reads of calls (来电): a call's state for its next webhook, a call's record, the agent
queue, and which patients a call may act for."""

from __future__ import annotations

import json
from typing import Any

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.identity import mask_long_digits_in
from ..kernel.pii import Cipher
from ..kernel.unit import Row, Tx, Unit, from_epoch, one, rows, val
from .callbacks import dialable
from .model import AgentLeg, CallSnapshot, LegKind, QueuedCall, QueuePlace


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
        callback=row["callback_since"] is not None,
        callback_masked=row["callback_masked"] or "",
        callback_attempts=row["callback_attempts"] or 0,
    )


_COLUMNS = (
    "id, call_sid, hospital_id, caller_masked, patient_id, transfer_context, transferred_at, "
    "ended_at, callback_masked, callback_since, callback_attempts, callback_closed_at"
)

# In the queue: a caller still on the line (transferred less than QUEUE_HOURS ago), or an
# open call-back (回拨), whose caller hung up on purpose; both by their transfer time.
_IN_QUEUE = (
    "transferred_at IS NOT NULL AND ((callback_since IS NULL AND ended_at IS NULL "
    "AND transferred_at > ?) OR (callback_since IS NOT NULL AND callback_closed_at IS NULL))"
)
_NOT_TAKEN = "(transfer_context IS NULL OR transfer_context NOT LIKE '%\"taken_by\":%')"


def call_queue(tx: Tx, actor: Actor, *, limit: int = QUEUE_ROWS) -> Unit[list[QueuedCall]]:
    """Transferred calls not over yet and open call-backs, longest waiting first (a
    call-back keeps the place it had when the caller asked), in the actor's hospital."""
    where = [_IN_QUEUE]
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


RECENT_TAKES_SECONDS = 3600  # the pace of the last hour's takes estimates the wait
RECENT_TAKES = 200


def queue_place(tx: Tx, call_sid: str) -> Unit[QueuePlace]:
    """A waiting caller's place (1: next) among the hospital's callers still waiting (not
    taken, not ended) and open call-backs, by transfer time; and the expected wait: the
    place times the average time between two takes in the last hour (unknown before the
    hour has seen two takes). ``QueuePlace(None)`` for a caller not waiting (unknown,
    taken, over). The voice door's own call, keyed by its CallSid."""
    call = yield one(f"SELECT {_COLUMNS} FROM calls WHERE call_sid = ?", call_sid)
    if call is None or call["transferred_at"] is None:
        return QueuePlace(None)
    mine = _queued(call)
    if mine.taken_by or not _waiting(call):
        return QueuePlace(None)
    ahead = yield val(
        f"SELECT count(*) FROM calls WHERE {_IN_QUEUE} AND {_NOT_TAKEN} "
        "AND hospital_id = ? "
        "AND (transferred_at < ? OR (transferred_at = ? AND id < ?))",
        tx.epoch - QUEUE_HOURS * 3600,
        call["hospital_id"],
        call["transferred_at"],
        call["transferred_at"],
        call["id"],
    )
    position = int(ahead or 0) + 1
    pace = yield from _seconds_per_take(tx, call["hospital_id"])
    return QueuePlace(position, None if pace is None else position * pace)


def _waiting(row: Row) -> bool:
    if row["callback_since"] is not None:
        return row["callback_closed_at"] is None
    return row["ended_at"] is None


def _seconds_per_take(tx: Tx, hospital_id: int | None) -> Unit[int | None]:
    """The average time between two takes of the hospital's last hour, in seconds."""
    found = yield rows(
        "SELECT transfer_context FROM calls WHERE hospital_id = ? "
        "AND transferred_at > ? AND transfer_context LIKE '%\"taken_at\":%' "
        "ORDER BY transferred_at DESC LIMIT ?",
        hospital_id,
        tx.epoch - RECENT_TAKES_SECONDS - QUEUE_HOURS * 3600,
        RECENT_TAKES,
    )
    since = tx.epoch - RECENT_TAKES_SECONDS
    takes = sorted(
        t
        for r in found
        if isinstance(t := json.loads(r["transfer_context"]).get("taken_at"), int | float)
        and t > since
    )
    if len(takes) < 2:
        return None
    return max(round((takes[-1] - takes[0]) / (len(takes) - 1)), 1)


def agent_leg(tx: Tx, call_sid: str, operator_id: int, cipher: Cipher) -> Unit[AgentLeg]:
    """What the browser leg of operator ``operator_id`` connects to for ``call_sid``: the
    caller's own queue when that operator took a caller still on the line; the number to
    dial when they took an open call-back; else refused (with why). The voice door's own
    request; only the operator who took the call (a take checks the hospital) gets it."""
    call = yield one(f"SELECT {_COLUMNS}, callback_enc FROM calls WHERE call_sid = ?", call_sid)
    if call is None or call["transferred_at"] is None:
        return AgentLeg(LegKind.REFUSED, call_sid, reason="unknown")
    if not _waiting(call):
        return AgentLeg(LegKind.REFUSED, call_sid, reason="ended")
    username = yield val("SELECT username FROM operators WHERE id = ?", operator_id)
    taken_by = _queued(call).taken_by
    if username is None or taken_by != username:
        return AgentLeg(LegKind.REFUSED, call_sid, reason="not_taken")
    if call["callback_since"] is not None:
        number = cipher.decrypt(call["callback_enc"], context="phone")
        return AgentLeg(LegKind.CALLBACK, call_sid, number=dialable(number))
    return AgentLeg(LegKind.QUEUE, call_sid)
