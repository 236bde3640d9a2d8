"""Reports (报表) and the audit log (审计日志) of the back office: counts for the charts
(bookings by channel, department, doctor, day; no-show rate; slot use; agent workload;
call outcomes; calls by the agents' dispositions), each agent's times (``agent_times``, see
:mod:`.agents`) and the audit rows, scoped to the actor's hospital."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..bookings.model import BookingStatus
from ..bookings.queries import MAX_PAGE
from ..catalogue.repo import hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.unit import Tx, Unit, from_epoch, rows, to_epoch
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
