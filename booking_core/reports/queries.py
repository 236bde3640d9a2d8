"""Reports (报表) and the audit log (审计日志) of the back office: counts for the charts
(bookings by channel, department, doctor, day; no-show rate; slot use; agent workload;
call outcomes; calls by the agents' dispositions), each agent's times (``agent_times``, see
:mod:`.agents`) and the audit rows, scoped to the actor's hospital."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..bookings.model import BookingStatus
from ..bookings.queries import MAX_PAGE
from ..calls.queries import QUEUE_HOURS
from ..catalogue.queries import hospital_timezone
from ..catalogue.repo import hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.unit import Tx, Unit, from_epoch, one, rows, to_epoch
from .agents import agent_workload, call_dispositions


def report(
    tx: Tx, actor: Actor, *, hospital_code: str | None, day_from: date, day_to: date
) -> Unit[dict[str, Any]]:
    """Counts for the report charts over clinic days ``day_from`` .. ``day_to``."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "b.hospital_id", named)
    where.append("b.day BETWEEN ? AND ?")
    args += [day_from.isoformat(), day_to.isoformat()]
    base = (
        " FROM bookings b JOIN departments dep ON dep.id = b.department_id "
        "JOIN doctors doc ON doc.id = b.doctor_id WHERE " + " AND ".join(where)
    )

    def grouped(label: str) -> Unit[list[tuple[str, int]]]:
        found = yield rows(
            f"SELECT {label} AS label, count(*) AS n"
            + base
            + f" GROUP BY {label} ORDER BY {label}",
            *args,
        )
        return [(str(r["label"]), r["n"]) for r in found]

    out: dict[str, Any] = {
        "by_channel": (yield from grouped("b.channel")),
        "by_department": (yield from grouped("dep.name")),
        "by_doctor": (yield from grouped("doc.name")),
        "by_day": (yield from grouped("b.day")),
        "by_status": (yield from grouped("b.status")),
    }
    agent_rows = yield rows(
        "SELECT b.actor AS label, count(*) AS n" + base + " AND b.channel = 'agent' "
        "GROUP BY b.actor ORDER BY b.actor",
        *args,
    )
    out["agent_workload"] = [(r["label"], r["n"]) for r in agent_rows]
    counts = dict(out["by_status"])
    no_shows = counts.get(BookingStatus.NO_SHOW, 0)
    due = no_shows + counts.get(BookingStatus.COMPLETED, 0)
    out["no_show_rate"] = round(no_shows / due, 4) if due else 0.0
    swhere, sargs = tenancy.scope(actor, "se.hospital_id", named)
    swhere.append("se.day BETWEEN ? AND ?")
    sargs += [day_from.isoformat(), day_to.isoformat()]
    use = yield rows(
        "SELECT se.day AS label, sum(sl.capacity) AS capacity, sum(sl.booked) AS booked "
        "FROM slots sl JOIN sessions se ON se.id = sl.session_id WHERE "
        + " AND ".join(swhere)
        + " GROUP BY se.day ORDER BY se.day",
        *sargs,
    )
    out["slot_use"] = [(r["label"], r["booked"], r["capacity"]) for r in use]
    out["call_outcomes"] = yield from _call_outcomes(actor, hospital_code, day_from, day_to)
    out["call_dispositions"] = yield from call_dispositions(
        tx, actor, hospital_code=hospital_code, day_from=day_from, day_to=day_to
    )
    out["agent_times"] = yield from agent_workload(
        tx, actor, hospital_code=hospital_code, day_from=day_from, day_to=day_to
    )
    return out


def _call_outcomes(
    actor: Actor, hospital_code: str | None, day_from: date, day_to: date
) -> Unit[list[tuple[str, int]]]:
    """Calls by result, each hospital's calls counted over its own local days."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "id", named)
    clause = " WHERE " + " AND ".join(where) if where else ""
    hospitals = yield rows("SELECT id, timezone FROM hospitals" + clause, *args)
    counts: dict[str, int] = {}
    for h in hospitals:
        tz = ZoneInfo(h["timezone"])
        start = datetime.combine(day_from, time(0, 0), tzinfo=tz)
        end = datetime.combine(day_to + timedelta(days=1), time(0, 0), tzinfo=tz)
        found = yield rows(
            "SELECT coalesce(result, 'ongoing') AS label, count(*) AS n FROM calls "
            "WHERE hospital_id = ? AND started_at >= ? AND started_at < ? "
            "GROUP BY coalesce(result, 'ongoing')",
            h["id"],
            to_epoch(start),
            to_epoch(end),
        )
        for r in found:
            counts[r["label"]] = counts.get(r["label"], 0) + r["n"]
    return sorted(counts.items())


def audit_log(
    tx: Tx, actor: Actor, *, action: str | None = None, page: int = 1, per_page: int = 100
) -> Unit[list[dict[str, Any]]]:
    """Audit rows newest first; an actor of one hospital sees that hospital's rows only."""
    where, args = tenancy.scope(actor, "hospital_id")
    if action:
        where.append("action LIKE ?")
        args.append(action.replace("%", "") + "%")
    clause = " WHERE " + " AND ".join(where) if where else ""
    per_page = min(max(per_page, 1), MAX_PAGE)
    found = yield rows(
        "SELECT * FROM audit" + clause + " ORDER BY id DESC LIMIT ? OFFSET ?",
        *args,
        per_page,
        (max(page, 1) - 1) * per_page,
    )
    return [
        {
            "id": r["id"],
            "at": from_epoch(r["at"]),
            "actor": r["actor"],
            "action": r["action"],
            "entity": r["entity"],
            "entity_id": r["entity_id"],
            "before": r["before_state"],
            "after": r["after_state"],
        }
        for r in found
    ]


# --- the supervisor's wallboard (坐席监控大屏) ----------------------------------------------

SERVICE_LEVEL_SECONDS = 20
"""A caller answered within this many seconds of the transfer counts for the service level
(the engine setting ``wallboard_service_level_seconds``)."""


@dataclass(frozen=True)
class Wallboard:
    """The wallboard's numbers for one hospital, "today" being its own local date.

    * ``waiting``: callers transferred to an agent, not taken, not ended (the desk's queue
      window); ``oldest_waiting_at`` when the longest of them was transferred (a screen
      counts the wait on from it).
    * ``handled``: callers transferred today that an agent took; ``abandoned``: callers
      transferred today whose call ended before anyone took it.
    * ``answered_in_time``: the handled ones taken within ``service_level_seconds`` of their
      transfer; ``service_level`` is that share of every caller that stopped waiting today
      (handled + abandoned), None before the first one.
    * ``bookings_by_channel``: bookings made today (whatever became of them since), by
      channel word (``ivr``, ``agent`` …), most first.
    * ``agents``: operators by state (``available``, ``busy`` …), from :func:`agents_by_state`.
    """

    hospital_id: int
    day: date
    at: datetime
    waiting: int
    oldest_waiting_at: datetime | None
    handled: int
    abandoned: int
    answered_in_time: int
    service_level: float | None
    service_level_seconds: int
    bookings_by_channel: tuple[tuple[str, int], ...]
    agents: tuple[tuple[str, int], ...] = ()

    def longest_wait_seconds(self, now: datetime) -> int:
        """How long the longest-waiting caller has waited at ``now`` (0: nobody waits)."""
        if self.oldest_waiting_at is None:
            return 0
        return max(int((now - self.oldest_waiting_at).total_seconds()), 0)


def _context_field(tx: Tx, key: str) -> str:
    """SQL for a field of a call's transfer context (JSON text), per dialect."""
    if tx.dialect == "postgres":
        return f"(transfer_context::json ->> '{key}')"
    return f"json_extract(transfer_context, '$.{key}')"


def wallboard(
    tx: Tx,
    actor: Actor,
    hospital_id: int,
    *,
    service_level_seconds: int = SERVICE_LEVEL_SECONDS,
) -> Unit[Wallboard]:
    """Every number of the wallboard of ``hospital_id`` in one read (one snapshot)."""
    tenancy.check(actor, hospital_id, "hospital", hospital_id)
    tz = ZoneInfo((yield from hospital_timezone(tx, hospital_id)))
    day = tx.now.astimezone(tz).date()
    start = to_epoch(datetime.combine(day, time(0, 0), tzinfo=tz))
    end = to_epoch(datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz))
    window = tx.epoch - QUEUE_HOURS * 3600  # the desk's queue: older transfers lost their end
    taken = _context_field(tx, "taken_by")
    taken_at = _context_field(tx, "taken_at")
    if tx.dialect == "postgres":
        taken_at = f"({taken_at})::bigint"
    today = "transferred_at >= ? AND transferred_at < ?"
    waits = f"ended_at IS NULL AND {taken} IS NULL AND transferred_at > ?"
    row = yield one(
        "SELECT "
        f"sum(CASE WHEN {today} AND {taken} IS NOT NULL THEN 1 ELSE 0 END) AS handled, "
        f"sum(CASE WHEN {today} AND {taken} IS NULL AND ended_at IS NOT NULL "
        "THEN 1 ELSE 0 END) AS abandoned, "
        f"sum(CASE WHEN {today} AND {taken} IS NOT NULL "
        f"AND {taken_at} - transferred_at <= ? THEN 1 ELSE 0 END) AS in_time, "
        f"sum(CASE WHEN {waits} THEN 1 ELSE 0 END) AS waiting, "
        f"min(CASE WHEN {waits} THEN transferred_at END) AS oldest "
        "FROM calls WHERE hospital_id = ? AND transferred_at >= ?",
        start,
        end,
        start,
        end,
        start,
        end,
        service_level_seconds,
        window,
        window,
        hospital_id,
        min(start, window),
    )
    handled = int(row["handled"] or 0) if row else 0
    abandoned = int(row["abandoned"] or 0) if row else 0
    in_time = int(row["in_time"] or 0) if row else 0
    stopped_waiting = handled + abandoned
    channels = yield rows(
        "SELECT channel, count(*) AS n FROM bookings "
        "WHERE hospital_id = ? AND created_at >= ? AND created_at < ? "
        "GROUP BY channel ORDER BY count(*) DESC, channel",
        hospital_id,
        start,
        end,
    )
    return Wallboard(
        hospital_id=hospital_id,
        day=day,
        at=tx.now,
        waiting=int(row["waiting"] or 0) if row else 0,
        oldest_waiting_at=from_epoch(row["oldest"]) if row and row["oldest"] else None,
        handled=handled,
        abandoned=abandoned,
        answered_in_time=in_time,
        service_level=round(in_time / stopped_waiting, 4) if stopped_waiting else None,
        service_level_seconds=service_level_seconds,
        bookings_by_channel=tuple((str(r["channel"]), int(r["n"])) for r in channels),
        agents=(yield from agents_by_state(tx, hospital_id)),
    )


AGENT_STATES = ("available", "busy", "wrap_up", "break", "offline")
"""The agent states of contract C1, in the wallboard's order."""


def agents_by_state(tx: Tx, hospital_id: int) -> Unit[tuple[tuple[str, int], ...]]:
    """The hospital's enabled agents (operators with the ``agent`` role) counted by state
    (``agent_states``, contract C1 of issue #14), every state listed even at 0; an agent
    with no row is offline. Meant to fill :attr:`Wallboard.agents` in the same read."""
    # a wrap-up past its limit reads as available, as booking_core.calls.agent_status has it
    state = (
        "CASE WHEN s.state = 'wrap_up' AND s.wrap_up_until <= ? THEN 'available' "
        "ELSE coalesce(s.state, 'offline') END"
    )
    found = yield rows(
        f"SELECT a.state, count(*) AS n FROM (SELECT {state} AS state "
        "FROM operators o LEFT JOIN agent_states s ON s.operator_id = o.id "
        "WHERE o.hospital_id = ? AND o.disabled = 0 "
        "AND (',' || o.roles || ',') LIKE '%,agent,%') a GROUP BY a.state",
        tx.epoch,
        hospital_id,
    )
    counts = {str(r["state"]): int(r["n"]) for r in found}
    return tuple((state, counts.get(state, 0)) for state in AGENT_STATES)
