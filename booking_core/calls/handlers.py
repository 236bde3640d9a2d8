"""Phone calls (来电): the call record, step dedupe (a webhook delivered twice acts once),
bookings and cancellations counted on the call, transfers to an agent and the agent
taking one (接听转人工来电); the command table of the domain."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..bookings.admission import book_slot
from ..bookings.changes import cancel_booking
from ..bookings.commands import BookSlot, CancelBooking
from ..bookings.model import BookingView
from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..events.model import CallBooked, CallEnded, CallTransferred
from ..kernel import tenancy
from ..kernel.actor import Actor, Channel
from ..kernel.deps import Deps
from ..kernel.errors import CallOver, InvalidInput, InvalidState, NotFound, Queued
from ..kernel.identity import mask_long_digits_in, mask_phone, normalize_phone
from ..kernel.registry import handler_table, on
from ..kernel.unit import Row, Tx, Unit, dumps, execute, one, val
from .agents import (
    call_ended,
    finish_agent_call,
    occupy,
    ready_to_take,
    set_agent_state,
    sign_off_absent_agents,
    wrap_up_call,
)
from .callbacks import callback_dialed, request_callback, sweep_callbacks
from .commands import (
    BookForCall,
    CallbackDialed,
    CancelForCall,
    CheckCallCode,
    ClaimCallStep,
    ClaimStepAndBook,
    CountCallLookup,
    EndCall,
    FinishAgentCall,
    FinishCallStep,
    HandOverCall,
    RecordCallStep,
    RequestCallback,
    SendCallCode,
    SetAgentState,
    SignOffAbsentAgents,
    StartCall,
    SweepCallbacks,
    TakeCall,
    TransferCall,
    WrapUpCall,
)
from .model import CallResult, ClaimedBooking, StepAnswer, TakenCall
from .proof import check_call_code, count_call_lookup, send_call_code
from .queries import _COLUMNS, _queued, queued_call, verified_patients


def take_call(tx: Tx, cmd: TakeCall, deps: Deps) -> Unit[TakenCall]:
    row = yield one(f"SELECT {_COLUMNS} FROM calls WHERE call_sid = ?", cmd.call_sid)
    if row is None or row["transferred_at"] is None:
        raise NotFound("call", cmd.call_sid)
    tenancy.check(cmd.actor, row["hospital_id"], "call", cmd.call_sid)
    if not _takeable(row):
        raise CallOver(cmd.call_sid)
    call = _queued(row)
    if call.taken_by:
        return TakenCall(won=call.taken_by == cmd.actor.name, call=call, taken_by=call.taken_by)
    agent = yield from ready_to_take(tx, cmd.actor)  # only an available agent takes one
    context = {**call.context, "taken_by": cmd.actor.name, "taken_at": tx.epoch}
    moved = yield execute(
        "UPDATE calls SET transfer_context = ?, agent_id = ?, answered_at = ?, updated_at = ? "
        "WHERE id = ? AND transfer_context = ?",
        dumps(context),
        agent["id"],
        tx.epoch,
        tx.epoch,
        row["id"],
        row["transfer_context"],
    )
    if not moved:  # another agent's take committed first (PostgreSQL re-checks the row)
        again = yield from queued_call(tx, cmd.call_sid, cmd.actor)
        return TakenCall(won=False, call=again, taken_by=again.taken_by or "")
    yield from occupy(tx, cmd.actor, agent, cmd.call_sid, cmd.wrap_up_seconds)  # or raises
    tx.audit(
        cmd.actor,
        AuditAction.CALL_TAKE,
        "call",
        cmd.call_sid,
        hospital_id=row["hospital_id"],
        after={"taken_by": cmd.actor.name},
    )
    taken = dataclasses.replace(call, context=context)
    return TakenCall(won=True, call=taken, taken_by=cmd.actor.name)


def _takeable(row: Row) -> bool:
    """A waiting caller still on the line, or an open call-back (the caller hung up on
    purpose: the agent calls them)."""
    if row["callback_since"] is not None:
        return row["callback_closed_at"] is None
    return row["ended_at"] is None


def _caller_fields(deps: Deps, raw: str) -> tuple[str | None, str | None, str]:
    """(encrypted, blind index, masked) of a caller ID; a mainland mobile is normalised
    so it meets the patient's phone index, anything else is kept as its digits."""
    raw = raw.strip()
    if not raw:
        return None, None, ""
    try:
        phone = normalize_phone(raw)
    except InvalidInput:
        phone = "".join(ch for ch in raw if ch.isdigit() or ch == "+") or raw
    return (
        deps.cipher.encrypt(phone, context="phone"),
        deps.cipher.blind_index(phone, context="phone"),
        mask_phone(phone),
    )


def _call(call_sid: str) -> Unit[Any]:
    row = yield one("SELECT * FROM calls WHERE call_sid = ?", call_sid)
    if row is None:
        raise NotFound("call", call_sid)
    return row


def _unknown_to(actor: Actor, call_sid: str) -> Unit[bool]:
    """Whether the call is none of ``actor``'s business: no such call, or another
    hospital's. Its steps are then answered as an unknown call's are, changing nothing."""
    where, args = tenancy.scope(actor, "hospital_id")
    if not where:  # a platform-wide actor: every call is its business
        return False
    found = yield val(
        "SELECT 1 FROM calls WHERE call_sid = ? AND " + " AND ".join(where), call_sid, *args
    )
    return found is None


def _stored(call_sid: str, step: int, digits: str) -> Unit[StepAnswer]:
    row = yield one(
        "SELECT response FROM call_steps WHERE call_sid = ? AND step = ? AND digits = ?",
        call_sid,
        step,
        digits,
    )
    response = None if row is None else row["response"]
    return StepAnswer(won=False, response=response, known=row is not None)


def start_call(tx: Tx, cmd: StartCall, deps: Deps) -> Unit[StepAnswer]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    enc, index, masked = _caller_fields(deps, cmd.caller)
    new_id = yield val(
        "INSERT INTO calls (call_sid, hospital_id, channel, caller_enc, caller_index, "
        "caller_masked, called, seq, state, started_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        cmd.call_sid,
        hospital.id,
        str(cmd.channel),
        enc,
        index,
        masked,
        cmd.called[:32],
        cmd.state,
        tx.epoch,
        tx.epoch,
    )
    if new_id is None:  # started before: its answer, if it is a call the actor may see
        started = yield val("SELECT hospital_id FROM calls WHERE call_sid = ?", cmd.call_sid)
        tenancy.check(cmd.actor, started, "call", cmd.call_sid)
        return (yield from _stored(cmd.call_sid, 0, cmd.digits))
    yield execute(
        "INSERT INTO call_steps (call_sid, step, digits, response, created_at) "
        "VALUES (?, 0, ?, ?, ?)",
        cmd.call_sid,
        cmd.digits,
        cmd.response,
        tx.epoch,
    )
    return StepAnswer(won=True, response=cmd.response, known=True)


def _take_step(
    tx: Tx, call_sid: str, step: int, digits: str, response: str | None, sets: str, *values: Any
) -> Unit[StepAnswer]:
    """Move the call past ``step`` once (``sets``: more columns to set) and keep the step's
    answer; a replayed or parallel delivery gets the stored answer instead."""
    moved = yield execute(
        f"UPDATE calls SET seq = ?, {sets}updated_at = ? WHERE call_sid = ? AND seq = ?",
        step + 1,
        *values,
        tx.epoch,
        call_sid,
        step,
    )
    if not moved:
        return (yield from _stored(call_sid, step, digits))
    yield execute(
        "INSERT INTO call_steps (call_sid, step, digits, response, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        call_sid,
        step,
        digits,
        response,
        tx.epoch,
    )
    return StepAnswer(won=True, response=response, known=True)


def record_call_step(tx: Tx, cmd: RecordCallStep, deps: Deps) -> Unit[StepAnswer]:
    if (yield from _unknown_to(cmd.actor, cmd.call_sid)):
        return StepAnswer(won=False, response=None, known=False)
    return (
        yield from _take_step(
            tx,
            cmd.call_sid,
            cmd.step,
            cmd.digits,
            cmd.response,
            "state = ?, patient_id = coalesce(?, patient_id), ",
            cmd.state,
            cmd.patient_id,
        )
    )


def claim_call_step(tx: Tx, cmd: ClaimCallStep, deps: Deps) -> Unit[StepAnswer]:
    if (yield from _unknown_to(cmd.actor, cmd.call_sid)):
        return StepAnswer(won=False, response=None, known=False)
    return (yield from _take_step(tx, cmd.call_sid, cmd.step, cmd.digits, None, ""))


def finish_call_step(tx: Tx, cmd: FinishCallStep, deps: Deps) -> Unit[StepAnswer]:
    if (yield from _unknown_to(cmd.actor, cmd.call_sid)):  # as for a call with no record
        return StepAnswer(won=True, response=cmd.response, known=True)
    yield execute(
        "UPDATE calls SET state = ?, patient_id = coalesce(?, patient_id), updated_at = ? "
        "WHERE call_sid = ?",
        cmd.state,
        cmd.patient_id,
        tx.epoch,
        cmd.call_sid,
    )
    yield execute(
        "UPDATE call_steps SET response = ? WHERE call_sid = ? AND step = ? AND digits = ?",
        cmd.response,
        cmd.call_sid,
        cmd.step,
        cmd.digits,
    )
    return StepAnswer(won=True, response=cmd.response, known=True)


def book_for_call(tx: Tx, cmd: BookForCall, deps: Deps) -> Unit[BookingView]:
    call = yield from _call(cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    caller = call["caller_enc"] and deps.cipher.decrypt(call["caller_enc"], context="phone")
    view = yield from book_slot(
        tx,
        BookSlot(
            actor=cmd.actor,
            slot_id=cmd.slot_id,
            patient_id=cmd.patient_id,
            channel=Channel(call["channel"]),
            booker_phone=caller or None,
        ),
        deps,
    )
    yield execute(
        "UPDATE calls SET booked = booked + 1, patient_id = ?, updated_at = ? WHERE id = ?",
        cmd.patient_id,
        tx.epoch,
        call["id"],
    )
    # the confirmation SMS may go to the number that called, not only the patient's own
    tx.emit(
        CallBooked(
            hospital_id=view.booking.hospital_id,
            call_sid=cmd.call_sid,
            booking_no=view.booking.booking_no,
            channel=Channel(call["channel"]),
            caller_enc=call["caller_enc"],
            caller_masked=call["caller_masked"],
            lang=cmd.lang,
        )
    )
    return view


def claim_step_and_book(tx: Tx, cmd: ClaimStepAndBook, deps: Deps) -> Unit[ClaimedBooking]:
    claim = yield from claim_call_step(
        tx,
        ClaimCallStep(actor=cmd.actor, call_sid=cmd.call_sid, step=cmd.step, digits=cmd.digits),
        deps,
    )
    if not claim.won:
        return ClaimedBooking(claim=claim)
    try:
        view = yield from book_for_call(  # a refusal raises: the claim goes with the booking
            tx,
            BookForCall(
                actor=cmd.actor,
                call_sid=cmd.call_sid,
                slot_id=cmd.slot_id,
                patient_id=cmd.patient_id,
                lang=cmd.lang,
            ),
            deps,
        )
    except Queued as queued:  # kept, with the claim: the door answers the step itself
        return ClaimedBooking(claim=claim, queued=queued)
    record = cmd.finish(view) if cmd.finish is not None else None
    if record is None:
        return ClaimedBooking(claim=claim, booked=view)
    answer = yield from finish_call_step(
        tx,
        FinishCallStep(
            actor=cmd.actor,
            call_sid=cmd.call_sid,
            step=cmd.step,
            digits=cmd.digits,
            state=record.state,
            response=record.response,
            patient_id=record.patient_id,
        ),
        deps,
    )
    return ClaimedBooking(claim=answer, booked=view, finished=True)


def cancel_for_call(tx: Tx, cmd: CancelForCall, deps: Deps) -> Unit[BookingView]:
    """Only a booking of a patient the call proved it may act for (the caller ID is the
    patient's phone, or the code texted to it was typed); any other is "not found"."""
    call = yield from _call(cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    booking = yield one("SELECT patient_id FROM bookings WHERE booking_no = ?", cmd.booking_no)
    if booking is None or not (
        yield from verified_patients(cmd.call_sid, (booking["patient_id"],))
    ):
        raise NotFound("booking", cmd.booking_no)
    view = yield from cancel_booking(
        tx, CancelBooking(actor=cmd.actor, booking_no=cmd.booking_no), deps
    )
    yield execute(
        "UPDATE calls SET cancelled = cancelled + 1, updated_at = ? WHERE id = ?",
        tx.epoch,
        call["id"],
    )
    return view


def transfer_call(tx: Tx, cmd: TransferCall, deps: Deps) -> Unit[dict[str, Any]]:
    call = yield from _call(cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    # shown on every desk and sent to every outbox consumer: a typed ID number masked
    context = mask_long_digits_in({"queue": cmd.queue, **cmd.context})
    yield execute(
        "UPDATE calls SET transfer_context = ?, transferred_at = ?, updated_at = ? WHERE id = ?",
        dumps(context),
        tx.epoch,
        tx.epoch,
        call["id"],
    )
    tx.emit(
        CallTransferred(
            hospital_id=call["hospital_id"],
            call_sid=cmd.call_sid,
            caller_masked=call["caller_masked"],
            patient_id=call["patient_id"],
            context=context,
        )
    )
    return context


def _result(call: Row) -> CallResult:
    if call["transferred_at"] is not None:
        return CallResult.TRANSFERRED
    if call["booked"]:
        return CallResult.BOOKED
    if call["cancelled"]:
        return CallResult.CANCELLED
    if call["complaints"]:
        return CallResult.COMPLAINT
    return CallResult.ABANDONED


def end_call(tx: Tx, cmd: EndCall, deps: Deps) -> Unit[str | None]:
    """Close the call record for reports; an unknown call (answered only by the
    database-free fallback) has nothing to close."""
    where, args = tenancy.scope(cmd.actor, "hospital_id")  # another hospital's: as unknown
    call = yield one(
        "SELECT * FROM calls WHERE " + " AND ".join(["call_sid = ?", *where]), cmd.call_sid, *args
    )
    if call is None:
        return None
    result = _result(call)
    duration = cmd.duration_seconds
    if duration is None:
        duration = max(tx.epoch - call["started_at"], 0)
    yield execute(
        "UPDATE calls SET ended_at = coalesce(ended_at, ?), duration_seconds = ?, "
        "end_status = ?, result = ?, updated_at = ? WHERE id = ?",
        tx.epoch,
        duration,
        cmd.status[:32],
        str(result),
        tx.epoch,
        call["id"],
    )
    if call["ended_at"] is None:
        yield from call_ended(tx, cmd.call_sid, call["hospital_id"])  # its agent: wrap-up
        tx.emit(
            CallEnded(
                hospital_id=call["hospital_id"],
                call_sid=cmd.call_sid,
                result=result,
                duration_seconds=duration,
            )
        )
    return result


def hand_over_call(tx: Tx, cmd: HandOverCall, deps: Deps) -> Unit[dict[str, Any]]:
    call = yield from _call(cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    context: dict[str, Any] = json.loads(call["transfer_context"] or "{}")
    me = cmd.actor.name
    again = context.get("handed_by") == me and context.get("handed_to") == (cmd.to or "ivr")
    if again and not context.get("taken_by"):
        return context  # the same hand-over again (a retried click): done already
    if call["transferred_at"] is None:
        raise NotFound("call", cmd.call_sid)
    if call["ended_at"] is not None:
        raise InvalidState("ended", "hand_over")
    if context.get("taken_by") != me:
        raise InvalidState("not_taken", "hand_over")
    if cmd.to is not None:
        operator = yield one(
            "SELECT hospital_id, disabled FROM operators WHERE username = ?", cmd.to
        )
        # the operators table read as complaints' assignee is: a name, its hospital, enabled
        if operator is None or operator["disabled"] or cmd.to == me:
            raise NotFound("operator", cmd.to)
        if operator["hospital_id"] not in (None, call["hospital_id"]):
            raise NotFound("operator", cmd.to)
    after = {k: v for k, v in context.items() if k not in ("taken_by", "taken_at", "offered_to")}
    after |= {"handed_by": me, "handed_to": cmd.to or "ivr", "handed_at": tx.epoch}
    if cmd.to is not None:
        after["offered_to"] = cmd.to
    moved = yield execute(
        "UPDATE calls SET transfer_context = ?, transferred_at = ?, updated_at = ? "
        "WHERE id = ? AND transfer_context = ?",
        dumps(after),
        call["transferred_at"] if cmd.to is not None else None,  # the menu: off the queue
        tx.epoch,
        call["id"],
        call["transfer_context"],
    )
    if not moved:  # changed under us (another tab of the same agent): not ours to decide
        raise InvalidState("not_taken", "hand_over")
    tx.audit(
        cmd.actor,
        AuditAction.CALL_HAND_OVER,
        "call",
        cmd.call_sid,
        hospital_id=call["hospital_id"],
        before={"taken_by": me},
        after={"handed_to": cmd.to or "ivr"},
    )
    return after


HANDLERS = handler_table(
    on(StartCall, start_call),
    on(RecordCallStep, record_call_step),
    on(ClaimCallStep, claim_call_step),
    on(FinishCallStep, finish_call_step),
    on(BookForCall, book_for_call),
    on(ClaimStepAndBook, claim_step_and_book),
    on(CancelForCall, cancel_for_call),
    on(TransferCall, transfer_call),
    on(EndCall, end_call),
    on(TakeCall, take_call),
    on(HandOverCall, hand_over_call),
    on(CountCallLookup, count_call_lookup),
    on(SendCallCode, send_call_code),
    on(CheckCallCode, check_call_code),
    on(RequestCallback, request_callback),
    on(CallbackDialed, callback_dialed),
    on(SweepCallbacks, sweep_callbacks),
    on(SetAgentState, set_agent_state),
    on(FinishAgentCall, finish_agent_call),
    on(WrapUpCall, wrap_up_call),
    on(SignOffAbsentAgents, sign_off_absent_agents),
)
