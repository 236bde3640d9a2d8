"""Agent states (坐席状态) and the wrap-up of a call (话后处理).

An agent is available (空闲, offered callers), busy (通话中, on the call they took), in
wrap-up (话后处理, after a call: until they send the wrap-up form, or at most until
``wrap_up_until``), on a break (小休) or offline (离线; an operator with no row). The agent
chooses available, break and offline (:class:`SetAgentState`); taking a caller makes them
busy (:func:`occupy`, called by ``TakeCall`` in the same transaction), ending it puts them
in wrap-up (:class:`FinishAgentCall`), the wrap-up form (:class:`WrapUpCall`) makes them
available again.

The wrap-up limit is kept lazily: a row in wrap-up past its ``wrap_up_until`` *reads* as
available since that instant (:func:`status_of`), and the next write for that agent first
records the lapse (:func:`_settle`) at the instant it happened, so the change log times
every state truly. Every change is a row in ``agent_state_changes`` (the workload report
reads them) and an ``agent.state`` audit row.
"""

from __future__ import annotations

from typing import Any

from ..events.audit import AuditAction
from ..kernel import tenancy
from ..kernel.actor import SYSTEM, Actor
from ..kernel.deps import Deps
from ..kernel.errors import AgentNotAvailable, InvalidInput, NotFound
from ..kernel.unit import Row, Tx, Unit, execute, from_epoch, one, rows
from .commands import FinishAgentCall, SetAgentState, SignOffAbsentAgents, WrapUpCall
from .model import SETTABLE_STATES, SUMMARY_MAX_CHARS, WRAP_UP_SECONDS, AgentState, AgentStatus

_OPERATOR = "SELECT id, username, display_name, hospital_id FROM operators WHERE username = ?"
_STATE = (
    "SELECT state, since, call_sid, wrap_up_until, wrap_up_seconds FROM agent_states "
    "WHERE operator_id = ?"
)


def _operator(actor: Actor) -> Unit[Row]:
    """The acting operator's row; any other actor (a token, the engine) is no agent."""
    found = None
    if actor.kind == "operator":
        found = yield one(_OPERATOR, actor.name)
    if found is None:
        raise NotFound("operator", actor.name)
    return found


def status_of(operator: Row, state: Row | None, now: int) -> AgentStatus:
    """What an agent's row means at ``now``: no row is offline, a lapsed wrap-up available."""
    base: dict[str, Any] = {
        "operator_id": operator["id"],
        "username": operator["username"],
        "display_name": operator["display_name"],
        "hospital_id": operator["hospital_id"],
    }
    if state is None:
        return AgentStatus(**base, state=AgentState.OFFLINE, since=from_epoch(0))
    until = state["wrap_up_until"]
    if state["state"] == AgentState.WRAP_UP and until is not None and until <= now:
        return AgentStatus(**base, state=AgentState.AVAILABLE, since=from_epoch(until))
    return AgentStatus(
        **base,
        state=AgentState(state["state"]),
        since=from_epoch(state["since"]),
        call_sid=state["call_sid"],
        wrap_up_until=from_epoch(until),
    )


def _change(
    tx: Tx,
    actor: Actor,
    operator: Row,
    before: str,
    state: AgentState,
    *,
    at: int,
    call_sid: str | None = None,
    until: int | None = None,
) -> Unit[None]:
    yield execute(
        "INSERT INTO agent_states (operator_id, hospital_id, state, since, call_sid, "
        "wrap_up_until) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (operator_id) DO UPDATE SET "
        "hospital_id = excluded.hospital_id, state = excluded.state, since = excluded.since, "
        "call_sid = excluded.call_sid, wrap_up_until = excluded.wrap_up_until",
        operator["id"],
        operator["hospital_id"],
        str(state),
        at,
        call_sid,
        until,
    )
    yield from _log(tx, actor, operator, before, state, at=at, call_sid=call_sid, until=until)


def _log(
    tx: Tx,
    actor: Actor,
    operator: Row,
    before: str,
    state: AgentState,
    *,
    at: int,
    call_sid: str | None,
    until: int | None,
) -> Unit[None]:
    yield execute(
        "INSERT INTO agent_state_changes (operator_id, hospital_id, state, at, call_sid, "
        "wrap_up_until) VALUES (?, ?, ?, ?, ?, ?)",
        operator["id"],
        operator["hospital_id"],
        str(state),
        at,
        call_sid,
        until,
    )
    after: dict[str, Any] = {"state": str(state), "at": at}
    if call_sid:
        after["call_sid"] = call_sid
    if until is not None:
        after["wrap_up_until"] = until
    tx.audit(
        actor,
        AuditAction.AGENT_STATE,
        "operator",
        operator["username"],
        hospital_id=operator["hospital_id"],
        before={"state": before},
        after=after,
    )


def _settle(tx: Tx, operator: Row) -> Unit[AgentStatus]:
    """The agent's state now, with a lapsed wrap-up first recorded as the change to
    available it was, at the instant it happened (by the engine, not the agent)."""
    row = yield one(_STATE, operator["id"])
    status = status_of(operator, row, tx.epoch)
    if row is not None and row["state"] == AgentState.WRAP_UP and status.available:
        at = row["wrap_up_until"]
        lapsed = SYSTEM if operator["hospital_id"] is None else _engine_for(operator)
        yield from _change(tx, lapsed, operator, AgentState.WRAP_UP, AgentState.AVAILABLE, at=at)
    return status


def _engine_for(operator: Row) -> Actor:
    return Actor(SYSTEM.kind, SYSTEM.name, operator["hospital_id"], SYSTEM.channel)


def ready_to_take(tx: Tx, actor: Actor) -> Unit[Row]:
    """The acting operator, who must be available to take a caller (else
    :class:`AgentNotAvailable` with their state)."""
    operator = yield from _operator(actor)
    status = yield from _settle(tx, operator)
    if not status.available:
        raise AgentNotAvailable(state=str(status.state))
    return operator


def occupy(
    tx: Tx, actor: Actor, operator: Row, call_sid: str, wrap_up_seconds: int = WRAP_UP_SECONDS
) -> Unit[None]:
    """available → busy on ``call_sid``, as a compare-and-set: an agent taking two callers
    at once gets one; the other take raises (and its transaction keeps nothing).
    ``wrap_up_seconds`` is kept for the wrap-up after the call."""
    moved = yield execute(
        "UPDATE agent_states SET state = ?, since = ?, call_sid = ?, wrap_up_until = NULL, "
        "wrap_up_seconds = ? WHERE operator_id = ? AND state = ?",
        str(AgentState.BUSY),
        tx.epoch,
        call_sid,
        max(wrap_up_seconds, 0),
        operator["id"],
        str(AgentState.AVAILABLE),
    )
    if not moved:
        now = yield one(_STATE, operator["id"])
        raise AgentNotAvailable(state=str(status_of(operator, now, tx.epoch).state))
    yield from _log(
        tx,
        actor,
        operator,
        AgentState.AVAILABLE,
        AgentState.BUSY,
        at=tx.epoch,
        call_sid=call_sid,
        until=None,
    )


def set_agent_state(tx: Tx, cmd: SetAgentState, deps: Deps) -> Unit[AgentStatus]:
    if cmd.state not in SETTABLE_STATES:
        raise InvalidInput("state", "available, break or offline")
    operator = yield from _operator(cmd.actor)
    status = yield from _settle(tx, operator)
    if status.state is AgentState.BUSY and cmd.state is not AgentState.OFFLINE:
        raise InvalidInput("state", "end the call first")
    if status.state is cmd.state:
        return status
    yield from _change(tx, cmd.actor, operator, status.state, cmd.state, at=tx.epoch)
    return status_of(operator, (yield one(_STATE, operator["id"])), tx.epoch)


def _wrap_up(
    tx: Tx, actor: Actor, operator: Row, row: Row, seconds: int | None
) -> Unit[AgentStatus]:
    """busy → wrap_up after the call of ``row`` (the agent's state row)."""
    if seconds is None:
        seconds = row["wrap_up_seconds"]
    until = tx.epoch + max(WRAP_UP_SECONDS if seconds is None else seconds, 0)
    yield from _change(
        tx,
        actor,
        operator,
        AgentState.BUSY,
        AgentState.WRAP_UP,
        at=tx.epoch,
        call_sid=row["call_sid"],
        until=until,
    )
    return status_of(operator, (yield one(_STATE, operator["id"])), tx.epoch)


def finish_agent_call(tx: Tx, cmd: FinishAgentCall, deps: Deps) -> Unit[AgentStatus]:
    operator = yield from _operator(cmd.actor)
    status = yield from _settle(tx, operator)
    if status.state is not AgentState.BUSY or status.call_sid != cmd.call_sid:
        return status  # not on that call (finished already, or never took it)
    row = yield one(_STATE, operator["id"])
    return (yield from _wrap_up(tx, cmd.actor, operator, row, cmd.wrap_up_seconds))


def call_ended(tx: Tx, call_sid: str, hospital_id: int | None) -> Unit[None]:
    """The caller hung up (the carrier's status callback): an agent still busy on the call
    goes to wrap-up as if they had ended it, with the limit their take was given."""
    row = yield one(
        "SELECT s.operator_id, s.state, s.call_sid, s.wrap_up_seconds, o.id, o.username, "
        "o.display_name, o.hospital_id FROM agent_states s JOIN operators o "
        "ON o.id = s.operator_id WHERE s.call_sid = ? AND s.state = ?",
        call_sid,
        str(AgentState.BUSY),
    )
    if row is not None:
        engine = Actor(SYSTEM.kind, SYSTEM.name, hospital_id, SYSTEM.channel)
        yield from _wrap_up(tx, engine, row, row, None)


def wrap_up_call(tx: Tx, cmd: WrapUpCall, deps: Deps) -> Unit[AgentStatus]:
    """Only the agent who answered the call wraps it up; sent again, the later form wins."""
    summary = cmd.summary.strip()
    if len(summary) > SUMMARY_MAX_CHARS:
        raise InvalidInput("summary", f"at most {SUMMARY_MAX_CHARS} characters")
    operator = yield from _operator(cmd.actor)
    call = yield one("SELECT id, hospital_id, agent_id FROM calls WHERE call_sid = ?", cmd.call_sid)
    if call is None or call["agent_id"] != operator["id"]:
        raise NotFound("call", cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    yield execute(
        "UPDATE calls SET disposition = ?, summary = ?, wrapped_at = ?, updated_at = ? "
        "WHERE id = ?",
        str(cmd.disposition),
        summary or None,
        tx.epoch,
        tx.epoch,
        call["id"],
    )
    tx.audit(  # the summary may name the patient: not in the audit row
        cmd.actor,
        AuditAction.CALL_WRAP_UP,
        "call",
        cmd.call_sid,
        hospital_id=call["hospital_id"],
        after={"disposition": str(cmd.disposition), "summary_chars": len(summary)},
    )
    status = yield from _settle(tx, operator)
    if status.call_sid == cmd.call_sid and status.state in (AgentState.BUSY, AgentState.WRAP_UP):
        yield from _change(tx, cmd.actor, operator, status.state, AgentState.AVAILABLE, at=tx.epoch)
        status = status_of(operator, (yield one(_STATE, operator["id"])), tx.epoch)
    return status


# --- reads ------------------------------------------------------------------------------


def agent_status(tx: Tx, actor: Actor) -> Unit[AgentStatus]:
    """The acting operator's own state now."""
    operator = yield from _operator(actor)
    return status_of(operator, (yield one(_STATE, operator["id"])), tx.epoch)


def agent_states(tx: Tx, actor: Actor) -> Unit[list[AgentStatus]]:
    """Every enabled operator of the actor's hospital who is an agent (role ``agent``) or
    has gone available once (an admin taking calls), with their state now, by name; what
    the desks' shared read gives each desk to decide whether it offers callers."""
    where, args = tenancy.scope(actor, "o.hospital_id")
    where += [
        "o.disabled = 0",
        "((',' || o.roles || ',') LIKE '%,agent,%' OR s.operator_id IS NOT NULL)",
    ]
    found = yield rows(
        "SELECT o.id, o.username, o.display_name, o.hospital_id, s.state, s.since, "
        "s.call_sid, s.wrap_up_until FROM operators o "
        "LEFT JOIN agent_states s ON s.operator_id = o.id WHERE "
        + " AND ".join(where)
        + " ORDER BY o.username",
        *args,
    )
    return [status_of(r, None if r["state"] is None else r, tx.epoch) for r in found]


_ABSENT = (
    "SELECT o.id, o.username, o.display_name, o.hospital_id, s.state FROM agent_states s "
    "JOIN operators o ON o.id = s.operator_id "
    "WHERE s.state IN ('available', 'break', 'wrap_up') AND NOT EXISTS ("
    "SELECT 1 FROM console_sessions c WHERE c.operator_id = s.operator_id "
    "AND c.expires_at > ? AND c.seen_at > ?)"
)


def sign_off_absent_agents(tx: Tx, cmd: SignOffAbsentAgents, deps: Deps) -> Unit[int]:
    absent = yield rows(_ABSENT, tx.epoch, tx.epoch - cmd.idle_minutes * 60)
    for operator in absent:
        status = yield from _settle(tx, operator)  # a lapsed wrap-up: its change first
        yield from _change(
            tx, _engine_for(operator), operator, status.state, AgentState.OFFLINE, at=tx.epoch
        )
    return len(absent)
