"""A doctor's (or a department's) week at a glance when booking (一周号源): seven days
from the hospital's today × the half days (上午/下午/晚上), each cell with the places left
that can be booked now, the same places :func:`~.queries.search_slots` lists with
``bookable_only`` for that day and period.

A cell says which of these it is: ``none`` (no session that half day), ``open`` (places
left), ``full`` (sessions open for booking, every place taken), ``closed`` (sessions,
but none can be booked now: not yet released (放号) or past the cut-off) or ``stopped``
(停诊)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ..catalogue.repo import hospital_for
from ..kernel.actor import Actor
from ..kernel.errors import InvalidInput
from ..kernel.unit import Tx, Unit, from_epoch, rows
from ..rules.checks import booking_cutoff, booking_window, local
from ..rules.model import pool_plan
from ..rules.pools import Reach
from ..rules.repo import rules_for
from .model import Period
from .pools import reach_of_sessions
from .queries import reader_pool

WEEK_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class WeekQuery:
    """Whose week: a doctor (work number) or a department (code), or both; from ``day``
    (default: the hospital's today) for :data:`WEEK_DAYS` days."""

    hospital_code: str
    department_code: str | None = None
    doctor_work_no: str | None = None
    day: date | None = None
    referral: bool = False  # what a referral (转诊) may book, where there is a referral pool


@dataclass(frozen=True, slots=True)
class WeekCell:
    day: date
    period: Period
    state: str  # none | open | full | closed | stopped
    left: int  # places that can be booked now
    sessions: int


@dataclass(frozen=True, slots=True)
class WeekGrid:
    today: date  # the hospital's local date at the read
    days: tuple[date, ...]
    cells: tuple[WeekCell, ...]  # day by day, each day's periods in Period's order

    def cell(self, day: date, period: Period) -> WeekCell:
        return next(c for c in self.cells if c.day == day and c.period == period)


_SESSIONS_SQL = """
SELECT se.id, se.day, se.period, se.status, se.starts_at,
       (SELECT coalesce(sum(CASE WHEN sl.booked < sl.capacity
                                 THEN sl.capacity - sl.booked ELSE 0 END), 0)
        FROM slots sl WHERE sl.session_id = se.id) AS free
FROM sessions se
JOIN doctors doc ON doc.id = se.doctor_id
JOIN departments dep ON dep.id = se.department_id
"""


def week_grid(tx: Tx, q: WeekQuery, actor: Actor) -> Unit[WeekGrid]:
    if not (q.department_code or q.doctor_work_no):
        raise InvalidInput("doctor", "a doctor or a department")
    hospital = yield from hospital_for(actor, q.hospital_code)
    tz = ZoneInfo(hospital.timezone)
    ruleset = yield from rules_for(hospital.id)
    today = local(tx.now, tz).date()
    first = q.day or today
    days = tuple(first + timedelta(days=n) for n in range(WEEK_DAYS))
    where = ["se.hospital_id = ?", "se.day BETWEEN ? AND ?"]
    args: list[object] = [hospital.id, days[0].isoformat(), days[-1].isoformat()]
    if q.department_code:
        where.append("dep.code = ?")
        args.append(q.department_code)
    if q.doctor_work_no:
        where.append("doc.work_no = ?")
        args.append(q.doctor_work_no)
    found = yield rows(_SESSIONS_SQL + " WHERE " + " AND ".join(where), *args)
    last_open = booking_window(tx.now, ruleset, tz).last_open_day
    plan = pool_plan(ruleset)
    reach: dict[int, Reach] = {}
    if plan is not None:  # 号源池: what the reader's channel may book, by its pools' releases
        open_sessions = {
            r["id"]: (date.fromisoformat(r["day"]), r["starts_at"])
            for r in found
            if r["status"] == "open"
        }
        pool = reader_pool(actor, q.referral)
        reach = yield from reach_of_sessions(tx, plan, ruleset, tz, open_sessions, pool)
    tally: dict[tuple[str, str], dict[str, int]] = {}
    for r in found:
        t = tally.setdefault((r["day"], r["period"]), {"n": 0, "stopped": 0, "live": 0, "left": 0})
        t["n"] += 1
        if r["status"] != "open":
            t["stopped"] += 1
            continue
        starts_at = from_epoch(r["starts_at"])
        day = date.fromisoformat(r["day"])
        before_cutoff = tx.now < booking_cutoff(starts_at, ruleset)
        if plan is not None:
            can = reach[r["id"]]
            if can.order and before_cutoff:
                t["live"] += 1
                t["left"] += min(int(r["free"]), can.free)
        elif day <= last_open and before_cutoff:
            t["live"] += 1
            t["left"] += int(r["free"])
    cells = []
    for d in days:
        for p in Period:
            cells.append(_cell(d, p, tally.get((d.isoformat(), str(p)))))
    return WeekGrid(today=today, days=days, cells=tuple(cells))


def _cell(day: date, period: Period, t: dict[str, int] | None) -> WeekCell:
    if t is None:
        return WeekCell(day=day, period=period, state="none", left=0, sessions=0)
    if t["left"] > 0:
        state = "open"
    elif t["live"]:
        state = "full"
    elif t["stopped"] == t["n"]:
        state = "stopped"
    else:
        state = "closed"
    return WeekCell(day=day, period=period, state=state, left=t["left"], sessions=t["n"])
