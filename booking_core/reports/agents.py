"""The agents' reports (坐席工作量、来电结果): calls by the disposition agents gave them in
the wrap-up, and each agent's workload (calls handled, talk, wrap-up, break and available
time) over a range of the hospital's local days.

Times come from the agent state change log (``agent_state_changes``): each change starts
a stretch that lasts until the agent's next change, cut to the range (and to now). A
wrap-up stretch lasts at most until its ``wrap_up_until``; the rest of it the agent was
available (the limit passed), whether or not the lapse was written down yet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..calls.model import AgentState
from ..catalogue.repo import hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.unit import Row, Tx, Unit, rows, to_epoch

NOT_WRAPPED = "none"  # a call an agent answered and never wrapped up


def _hospitals(actor: Actor, hospital_code: str | None) -> Unit[list[Row]]:
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "id", named)
    clause = " WHERE " + " AND ".join(where) if where else ""
    return list((yield rows("SELECT id, timezone FROM hospitals" + clause + " ORDER BY id", *args)))


def local_bounds(timezone: str, day_from: date, day_to: date) -> tuple[int, int]:
    """[start, end) in epoch seconds of local days ``day_from`` .. ``day_to``."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day_from, time(0, 0), tzinfo=tz)
    end = datetime.combine(day_to + timedelta(days=1), time(0, 0), tzinfo=tz)
    return to_epoch(start), to_epoch(end)


def call_dispositions(
    tx: Tx, actor: Actor, *, hospital_code: str | None, day_from: date, day_to: date
) -> Unit[list[tuple[str, int]]]:
    """Calls agents answered in the range, by disposition (``none``: not wrapped up)."""
    counts: dict[str, int] = {}
    for h in (yield from _hospitals(actor, hospital_code)):
        start, end = local_bounds(h["timezone"], day_from, day_to)
        found = yield rows(
            "SELECT disposition, count(*) AS n FROM calls "
            "WHERE hospital_id = ? AND agent_id IS NOT NULL AND answered_at >= ? "
            "AND answered_at < ? GROUP BY disposition",
            h["id"],
            start,
            end,
        )
        for r in found:
            label = r["disposition"] or NOT_WRAPPED
            counts[label] = counts.get(label, 0) + r["n"]
    return sorted(counts.items())


@dataclass
class _Times:
    username: str
    name: str
    calls: int = 0
    seconds: dict[str, int] = field(default_factory=dict)

    def add(self, state: str, begin: int, end: int, start: int, stop: int) -> None:
        overlap = min(end, stop) - max(begin, start)
        if overlap > 0:
            self.seconds[state] = self.seconds.get(state, 0) + overlap

    def row(self) -> dict[str, Any]:
        talk = self.seconds.get(AgentState.BUSY, 0)
        return {
            "operator": self.username,
            "name": self.name,
            "calls": self.calls,
            "talk_seconds": talk,
            "average_talk_seconds": round(talk / self.calls) if self.calls else 0,
            "wrap_up_seconds": self.seconds.get(AgentState.WRAP_UP, 0),
            "break_seconds": self.seconds.get(AgentState.BREAK, 0),
            "available_seconds": self.seconds.get(AgentState.AVAILABLE, 0),
        }


def stretches(changes: Iterable[Row], start: int, stop: int, times: _Times) -> None:
    """Add one agent's time in each state between ``start`` and ``stop`` (changes in order;
    the first may be before ``start``: the state the range began in)."""
    ordered = list(changes)
    for i, change in enumerate(ordered):
        begin = change["at"]
        end = ordered[i + 1]["at"] if i + 1 < len(ordered) else stop
        until = change["wrap_up_until"]
        if change["state"] == AgentState.WRAP_UP and until is not None and until < end:
            times.add(AgentState.WRAP_UP, begin, max(until, begin), start, stop)
            times.add(AgentState.AVAILABLE, max(until, begin), end, start, stop)
        else:
            times.add(change["state"], begin, end, start, stop)


def agent_workload(
    tx: Tx, actor: Actor, *, hospital_code: str | None, day_from: date, day_to: date
) -> Unit[list[dict[str, Any]]]:
    """Per agent, by user name: calls answered in the range, talk time (busy) in total and
    on average per call, wrap-up, break and available time, in seconds."""
    out: list[_Times] = []
    for h in (yield from _hospitals(actor, hospital_code)):
        start, end = local_bounds(h["timezone"], day_from, day_to)
        stop = min(end, tx.epoch)
        agents: dict[int, _Times] = {}

        def agent(row: Row, agents: dict[int, _Times] = agents) -> _Times:
            found = agents.get(row["operator_id"])
            if found is None:
                found = agents[row["operator_id"]] = _Times(row["username"], row["display_name"])
            return found

        changes = yield rows(
            "SELECT c.operator_id, c.state, c.at, c.wrap_up_until, o.username, o.display_name "
            "FROM agent_state_changes c JOIN operators o ON o.id = c.operator_id "
            "WHERE c.hospital_id = ? AND c.at < ? AND (c.at >= ? OR c.id IN ("
            "SELECT max(id) FROM agent_state_changes WHERE hospital_id = ? AND at < ? "
            "GROUP BY operator_id)) ORDER BY c.operator_id, c.at, c.id",
            h["id"],
            stop,
            start,
            h["id"],
            start,
        )
        by_agent: dict[int, list[Row]] = {}
        for c in changes:
            agent(c)
            by_agent.setdefault(c["operator_id"], []).append(c)
        for operator_id, theirs in by_agent.items():
            stretches(theirs, start, stop, agents[operator_id])
        handled = yield rows(
            "SELECT c.agent_id AS operator_id, o.username, o.display_name, count(*) AS n "
            "FROM calls c JOIN operators o ON o.id = c.agent_id WHERE c.hospital_id = ? "
            "AND c.answered_at >= ? AND c.answered_at < ? "
            "GROUP BY c.agent_id, o.username, o.display_name",
            h["id"],
            start,
            end,
        )
        for r in handled:
            agent(r).calls = r["n"]
        out += agents.values()
    return [t.row() for t in sorted(out, key=lambda t: t.username) if t.calls or t.seconds]
