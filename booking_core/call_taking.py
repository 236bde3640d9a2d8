"""An agent takes a transferred caller (接听转人工来电): the desk's queue and the claim.

The IVR stores a call's context when it transfers it (``calls.transfer_context``, see
:func:`booking_core.handlers.calls.transfer_call`). Taking the call writes who took it
into that context with a compare-and-set on the stored text, so two agents clicking at
once get one winner; a new transfer of the call writes a fresh context (untaken again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .commands import Command
from .domain import Actor
from .errors import NotFound
from .handlers import Deps
from .identity import mask_long_digits_in
from .store.base import Query, Tx, dumps, execute, from_epoch, one, rows

Gen = Generator[Query, Any, Any]

QUEUE_HOURS = 2  # a transfer never ended after this long lost its status callback
QUEUE_ROWS = 50


@dataclass(frozen=True, slots=True)
class QueuedCall:
    """A caller transferred to the agents, with what the IVR learnt before (screen pop)."""

    call_sid: str
    hospital_id: int | None
    caller_masked: str
    patient_id: int | None
    context: dict = field(hash=False)
    transferred_at: datetime

    @property
    def taken_by(self) -> str | None:
        return self.context.get("taken_by")


@dataclass(frozen=True, kw_only=True)
class TakeCall(Command):
    call_sid: str


@dataclass(frozen=True, slots=True)
class TakenCall:
    """``won``: this agent has the call (now, or already had it); else ``taken_by`` has it."""

    won: bool
    call: QueuedCall
    taken_by: str


def _queued(row) -> QueuedCall:
    return QueuedCall(
        call_sid=row["call_sid"],
        hospital_id=row["hospital_id"],
        caller_masked=row["caller_masked"],
        patient_id=row["patient_id"],
        context=mask_long_digits_in(json.loads(row["transfer_context"] or "{}")),  # old rows
        transferred_at=from_epoch(row["transferred_at"]),
    )


_COLUMNS = "id, call_sid, hospital_id, caller_masked, patient_id, transfer_context, transferred_at"


def call_queue(tx: Tx, actor: Actor, *, limit: int = QUEUE_ROWS) -> Gen:
    """Transferred calls not over yet, longest waiting first, in the actor's hospital."""
    where = ["transferred_at IS NOT NULL", "ended_at IS NULL", "transferred_at > ?"]
    args: list[Any] = [tx.epoch - QUEUE_HOURS * 3600]
    if actor.hospital_id is not None:
        where.append("hospital_id = ?")
        args.append(actor.hospital_id)
    found = yield rows(
        f"SELECT {_COLUMNS} FROM calls WHERE {' AND '.join(where)} "
        "ORDER BY transferred_at, id LIMIT ?",
        *args,
        limit,
    )
    return [_queued(r) for r in found]


def queued_call(tx: Tx, call_sid: str, actor: Actor) -> Gen:
    row = yield one(f"SELECT {_COLUMNS} FROM calls WHERE call_sid = ?", call_sid)
    if row is None or row["transferred_at"] is None or not actor.may_access(row["hospital_id"]):
        raise NotFound("call", call_sid)
    return _queued(row)


def take_call(tx: Tx, cmd: TakeCall, deps: Deps) -> Gen:
    row = yield one(f"SELECT {_COLUMNS} FROM calls WHERE call_sid = ?", cmd.call_sid)
    if row is None or row["transferred_at"] is None or not cmd.actor.may_access(row["hospital_id"]):
        raise NotFound("call", cmd.call_sid)
    call = _queued(row)
    if call.taken_by:
        return TakenCall(won=call.taken_by == cmd.actor.name, call=call, taken_by=call.taken_by)
    context = {**call.context, "taken_by": cmd.actor.name, "taken_at": tx.epoch}
    moved = yield execute(
        "UPDATE calls SET transfer_context = ?, updated_at = ? "
        "WHERE id = ? AND transfer_context = ?",
        dumps(context),
        tx.epoch,
        row["id"],
        row["transfer_context"],
    )
    if not moved:  # another agent's take committed first (PostgreSQL re-checks the row)
        again = yield from queued_call(tx, cmd.call_sid, cmd.actor)
        return TakenCall(won=False, call=again, taken_by=again.taken_by or "")
    tx.audit(
        cmd.actor,
        "call.take",
        "call",
        cmd.call_sid,
        hospital_id=row["hospital_id"],
        after={"taken_by": cmd.actor.name},
    )
    taken = QueuedCall(
        call.call_sid,
        call.hospital_id,
        call.caller_masked,
        call.patient_id,
        context,
        call.transferred_at,
    )
    return TakenCall(won=True, call=taken, taken_by=cmd.actor.name)


HANDLERS: dict[type[Command], Callable[..., Any]] = {TakeCall: take_call}
