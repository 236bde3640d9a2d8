"""Call-backs (回拨): a caller waiting for an agent asks to be called back instead of
holding, keeps their place in the queue, and is called by the agent who takes them; a
call-back not reached is tried again, then closed with a text to the caller.

The number to call is the calling number the carrier gave (``calls.caller_enc``), copied
to ``callback_enc`` (encrypted like every phone) when the caller asks; a withheld number
(empty, or one of the carriers' stand-ins for "withheld") cannot be called back.
"""

from __future__ import annotations

import json
from typing import Any

from ..events.audit import AuditAction
from ..events.model import CallbackClosed
from ..kernel import tenancy
from ..kernel.actor import SYSTEM, Actor
from ..kernel.deps import Deps
from ..kernel.unit import Row, Tx, Unit, dumps, execute, one, rows, val
from .commands import CallbackDialed, RequestCallback, SweepCallbacks
from .model import CallbackAsked, CallbackOutcome, CallbackStatus

MOBILE_DIGITS = 11  # a mainland mobile: 1xx xxxx xxxx
CALLABLE_DIGITS = 7  # fewer digits is no number to dial (a short code, "anonymous")

# What Twilio puts in From for a withheld caller ID: "anonymous", or these numbers (the
# letters ANONYMOUS, RESTRICTED, UNAVAILABLE and BLOCKED on a phone keypad).
WITHHELD_STAND_INS = frozenset({"+266696687", "+7378742833", "+86282452253", "+2562533"})

REACHED = frozenset({"completed", "answered"})  # DialCallStatus: the caller picked up
NOT_REACHED = frozenset({"no-answer", "busy", "failed"})  # a try that did not reach them
NOT_COUNTED = frozenset({"canceled"})  # the agent hung up before it rang out: no attempt

SWEEP_BATCH = 200

# A try is counted on the row as it was read: of a dial report and the sweeps of several
# engines counting the same try at once, one moves it (PostgreSQL re-checks the row after
# the first commits) and the others change nothing, so the caller is texted once.
_UNCHANGED = "id = ? AND callback_attempts = ? AND callback_closed_at IS NULL"


def callable_number(number: str | None) -> bool:
    """Whether ``number`` (a decrypted caller ID) can be called back."""
    if not number or number in WITHHELD_STAND_INS:
        return False
    return sum(ch.isdigit() for ch in number) >= CALLABLE_DIGITS


def dialable(number: str) -> str:
    """The number as Twilio dials it (E.164): a mainland mobile, stored as its 11 digits
    (so it meets the patients' phone index), gets China's +86; the rest was kept as sent."""
    if number.startswith("+"):
        return number
    if len(number) == MOBILE_DIGITS and number.isdigit() and number.startswith("1"):
        return "+86" + number
    return number


def request_callback(tx: Tx, cmd: RequestCallback, deps: Deps) -> Unit[CallbackAsked]:
    where, args = tenancy.scope(cmd.actor, "hospital_id")  # another hospital's: as unknown
    call = yield one(
        "SELECT * FROM calls WHERE " + " AND ".join(["call_sid = ?", *where]), cmd.call_sid, *args
    )
    if call is None or call["transferred_at"] is None:
        return CallbackAsked(CallbackStatus.NOT_WAITING)
    if call["callback_since"] is not None:  # asked before (a replayed key press)
        number = deps.cipher.decrypt(call["callback_enc"], context="phone")
        return CallbackAsked(CallbackStatus.ASKED, call["callback_masked"], _last4(number))
    context = json.loads(call["transfer_context"] or "{}")
    if call["ended_at"] is not None or context.get("taken_by"):
        return CallbackAsked(CallbackStatus.NOT_WAITING)
    number = call["caller_enc"] and deps.cipher.decrypt(call["caller_enc"], context="phone")
    if not callable_number(number):
        return CallbackAsked(CallbackStatus.WITHHELD)
    moved = yield execute(  # unless an agent's take committed first (PostgreSQL re-checks)
        "UPDATE calls SET callback_enc = ?, callback_masked = ?, callback_since = ?, "
        "callback_attempts = 0, updated_at = ? WHERE id = ? AND transfer_context = ?",
        call["caller_enc"],
        call["caller_masked"],
        tx.epoch,
        tx.epoch,
        call["id"],
        call["transfer_context"],
    )
    if not moved:
        return CallbackAsked(CallbackStatus.NOT_WAITING)
    # audited (and so signalled to the desks' live queue: the row is now marked 回拨)
    tx.audit(
        cmd.actor,
        AuditAction.CALL_CALLBACK_ASK,
        "call",
        cmd.call_sid,
        hospital_id=call["hospital_id"],
        after={"callback": call["caller_masked"]},
    )
    return CallbackAsked(CallbackStatus.ASKED, call["caller_masked"], _last4(number))


def _last4(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())[-4:]


def callback_dialed(tx: Tx, cmd: CallbackDialed, deps: Deps) -> Unit[CallbackOutcome]:
    call = yield one("SELECT * FROM calls WHERE call_sid = ?", cmd.call_sid)
    if call is None:
        return CallbackOutcome.IGNORED
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    if call["callback_since"] is None or call["callback_closed_at"] is not None:
        return CallbackOutcome.IGNORED
    username = yield val("SELECT username FROM operators WHERE id = ?", cmd.operator_id)
    context = json.loads(call["transfer_context"] or "{}")
    if username is None or context.get("taken_by") != username:
        return CallbackOutcome.IGNORED
    status = cmd.dial_status.strip().lower()
    if status in REACHED:
        yield execute(
            "UPDATE calls SET callback_closed_at = ?, callback_result = 'reached', "
            "updated_at = ? WHERE id = ?",
            tx.epoch,
            tx.epoch,
            call["id"],
        )
        _audit_result(tx, cmd.actor, call, CallbackOutcome.REACHED, call["callback_attempts"])
        return CallbackOutcome.REACHED
    if status not in NOT_REACHED | NOT_COUNTED:  # no status Twilio sends: nothing to go by
        return CallbackOutcome.IGNORED
    counted = status not in NOT_COUNTED
    return (yield from _not_reached(tx, call, context, cmd.attempts, counted=counted, by=cmd.actor))


def _audit_result(tx: Tx, actor: Actor, call: Row, outcome: CallbackOutcome, attempts: int) -> None:
    tx.audit(
        actor,
        AuditAction.CALL_CALLBACK_RESULT,
        "call",
        call["call_sid"],
        hospital_id=call["hospital_id"],
        after={"result": str(outcome), "attempts": attempts},
    )


def _not_reached(
    tx: Tx,
    call: Row,
    context: dict[str, Any],
    attempts: int,
    *,
    counted: bool = True,
    by: Actor = SYSTEM,
) -> Unit[CallbackOutcome]:
    """One try that did not reach the caller: back in the queue at its place (untaken,
    its time to be taken starting again), or, out of attempts, closed with a text."""
    tried = call["callback_attempts"] + (1 if counted else 0)
    context = {k: v for k, v in context.items() if k not in ("taken_by", "taken_at")}
    retry = tried < max(attempts, 1)
    # a retry starts its time to be taken again; the last try closes the call-back
    ends = (
        "callback_since = ?" if retry else "callback_closed_at = ?, callback_result = 'not_reached'"
    )
    moved = yield execute(
        f"UPDATE calls SET transfer_context = ?, callback_attempts = ?, {ends}, "
        f"updated_at = ? WHERE {_UNCHANGED}",
        dumps(context),
        tried,
        tx.epoch,
        tx.epoch,
        call["id"],
        call["callback_attempts"],
    )
    if not moved:
        return CallbackOutcome.IGNORED
    outcome = CallbackOutcome.RETRY if retry else CallbackOutcome.CLOSED
    _audit_result(tx, by, call, outcome, tried)
    if retry:
        return outcome
    tx.emit(
        CallbackClosed(
            hospital_id=call["hospital_id"],
            call_sid=call["call_sid"],
            phone_enc=call["callback_enc"],
            phone_masked=call["callback_masked"],
            reason="not_reached",
            attempts=tried,
            lang="en" if context.get("lang") == "en" else "zh",
        )
    )
    return CallbackOutcome.CLOSED


def sweep_callbacks(tx: Tx, cmd: SweepCallbacks, deps: Deps) -> Unit[int]:
    due = yield from _due(tx, cmd)
    moved = 0
    for call in due:
        context = json.loads(call["transfer_context"] or "{}")
        outcome = yield from _not_reached(tx, call, context, cmd.attempts, by=cmd.actor)
        moved += outcome is not CallbackOutcome.IGNORED
    return moved


def _due(tx: Tx, cmd: SweepCallbacks) -> Unit[list[Row]]:
    """Open call-backs whose time to be reached is up, oldest first."""
    where, args = tenancy.scope(cmd.actor, "hospital_id")
    return (
        yield rows(
            "SELECT * FROM calls WHERE "
            + " AND ".join(
                [
                    "callback_closed_at IS NULL",
                    "callback_since IS NOT NULL",
                    "callback_since <= ?",
                    *where,
                ]
            )
            + " ORDER BY callback_since, id LIMIT ?",
            tx.epoch - cmd.answer_within_minutes * 60,
            *args,
            SWEEP_BATCH,
        )
    )
