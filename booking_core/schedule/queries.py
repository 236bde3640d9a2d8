"""Reads of sessions and slots: the slot search every door lists slots through (marked
with their window at the read's instant) and the week grid of sessions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..catalogue.model import Hospital
from ..catalogue.repo import hospital_by_id, hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.paging import PageKey, after_clause
from ..kernel.unit import MAX_ROWS, Row, Tx, Unit, from_epoch, one, rows, to_epoch
from ..rules.checks import SlotWindow, booking_cutoff, booking_window, release_instant, slot_window
from ..rules.model import RuleKey, RuleSet
from ..rules.repo import stored_rules
from .model import ClinicSession, Slot, SlotView
from .repo import SLOT_VIEW_SQL, session_by_id, slot_view_from, slots_of_session

# --- sessions and doctor stops (排班、停诊) -------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session as the week grid and the stop screen show it."""

    id: int
    hospital_code: str
    department_code: str
    department_name: str
    doctor_work_no: str
    doctor_name: str
    day: date
    period: str
    start: time
    end: time
    room: str
    status: str
    slot_minutes: int
    places_per_slot: int
    capacity: int
    booked: int


SESSION_ROW_SQL = """
SELECT se.*, h.code AS hospital_code, dep.code AS department_code, dep.name AS department_name,
       doc.work_no AS doctor_work_no, doc.name AS doctor_name,
       (SELECT coalesce(sum(capacity), 0) FROM slots WHERE session_id = se.id) AS capacity,
       (SELECT coalesce(sum(booked), 0) FROM slots WHERE session_id = se.id) AS booked,
       (SELECT min(capacity) FROM slots WHERE session_id = se.id) AS places_per_slot,
       (SELECT min(start_time || '-' || end_time) FROM slots WHERE session_id = se.id) AS first_slot
FROM sessions se
JOIN hospitals h ON h.id = se.hospital_id
JOIN departments dep ON dep.id = se.department_id
JOIN doctors doc ON doc.id = se.doctor_id
"""


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def session_row_from(r: Row) -> SessionRow:
    first = (r["first_slot"] or "00:00-00:00").split("-")
    return SessionRow(
        id=r["id"],
        hospital_code=r["hospital_code"],
        department_code=r["department_code"],
        department_name=r["department_name"],
        doctor_work_no=r["doctor_work_no"],
        doctor_name=r["doctor_name"],
        day=date.fromisoformat(r["day"]),
        period=r["period"],
        start=time.fromisoformat(r["start_time"]),
        end=time.fromisoformat(r["end_time"]),
        room=r["room"],
        status=r["status"],
        slot_minutes=_minutes(first[1]) - _minutes(first[0]),
        places_per_slot=r["places_per_slot"] or 0,
        capacity=r["capacity"],
        booked=r["booked"],
    )


SESSION_ORDER = ("se.day", "se.start_time", "doc.work_no", "se.id")


def session_key(row: SessionRow) -> PageKey:
    """Where a session stands in :func:`list_sessions`' order."""
    return (row.day.isoformat(), row.start.strftime("%H:%M"), row.doctor_work_no, row.id)


def list_sessions(
    tx: Tx,
    actor: Actor,
    *,
    hospital_code: str | None,
    day_from: date,
    day_to: date,
    doctor_work_no: str | None = None,
    after: PageKey | None = None,
    limit: int | None = None,
) -> Unit[list[SessionRow]]:
    """Sessions by day, start, doctor and id; ``after`` a :func:`session_key` and
    ``limit`` for a page (without ``limit``: every session of the days)."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "se.hospital_id", named)
    where.append("se.day BETWEEN ? AND ?")
    args += [day_from.isoformat(), day_to.isoformat()]
    if doctor_work_no is not None:
        where.append("doc.work_no = ?")
        args.append(doctor_work_no)
    later, later_args = after_clause(SESSION_ORDER, after)
    page = [] if limit is None else [min(limit, MAX_ROWS)]
    found = yield rows(
        SESSION_ROW_SQL
        + " WHERE "
        + " AND ".join(where + later)
        + f" ORDER BY {', '.join(SESSION_ORDER)}"
        + (" LIMIT ?" if page else ""),
        *args,
        *later_args,
        *page,
    )
    return [session_row_from(r) for r in found]


@dataclass(frozen=True, kw_only=True)
class SlotSearch:
    """号源查询: by hospital, department code, doctor work number, date, time."""

    hospital_code: str
    department_code: str | None = None
    doctor_work_no: str | None = None
    day: date | None = None
    day_to: date | None = None
    at: time | None = None  # the slot that contains this clock time
    only_free: bool = True
    # only what can be booked now: released (放号) and not past the cut-off
    bookable_only: bool = False
    limit: int = MAX_ROWS
    after: PageKey | None = None  # a :func:`slot_key`: the slots after it


SLOT_ORDER = ("se.day", "sl.start_time", "doc.work_no", "sl.id")


def slot_key(view: SlotView) -> PageKey:
    """Where a slot stands in :func:`search_slots`' order."""
    return (view.day.isoformat(), view.start.strftime("%H:%M"), view.doctor_work_no, view.slot_id)


def search_slots(tx: Tx, q: SlotSearch, actor: Actor) -> Unit[list[SlotView]]:
    """The slots asked for, each marked with its ``window`` at this instant (not yet
    released, open, closed) by the rules the booking itself is checked by; with
    ``bookable_only`` the others are left out. Every door lists slots through this."""
    hospital = yield from hospital_for(actor, q.hospital_code)
    tz = ZoneInfo(hospital.timezone)
    ruleset = RuleSet((yield from stored_rules(hospital.id)), hospital.id)
    where = ["se.hospital_id = ?", "se.status = 'open'"]
    args: list[Any] = [hospital.id]
    if q.bookable_only:
        window = booking_window(tx.now, ruleset, tz)
        cutoff = timedelta(minutes=ruleset.limit(RuleKey.BOOKING_CUTOFF_MINUTES) or 0)
        where.append("se.day <= ? AND se.starts_at > ?")
        args += [window.last_open_day.isoformat(), to_epoch(tx.now + cutoff)]
    if q.department_code:
        where.append("dep.code = ?")
        args.append(q.department_code)
    if q.doctor_work_no:
        where.append("doc.work_no = ?")
        args.append(q.doctor_work_no)
    if q.day and q.day_to:
        where.append("se.day BETWEEN ? AND ?")
        args += [q.day.isoformat(), q.day_to.isoformat()]
    elif q.day:
        where.append("se.day = ?")
        args.append(q.day.isoformat())
    else:
        where.append("se.ends_at > ?")
        args.append(tx.epoch)
    if q.at:
        hhmm = q.at.strftime("%H:%M")
        where.append("sl.start_time <= ? AND sl.end_time > ?")
        args += [hhmm, hhmm]
    if q.only_free:
        where.append("sl.booked < sl.capacity")
    limit = min(q.limit, MAX_ROWS)
    views: list[SlotView] = []
    after = q.after
    while True:  # a slot dropped below is made up for from further on: the page stays full
        later, later_args = after_clause(SLOT_ORDER, after)
        sql = (
            SLOT_VIEW_SQL
            + " WHERE "
            + " AND ".join(where + later)
            + f" ORDER BY {', '.join(SLOT_ORDER)} LIMIT ?"
        )
        wanted = limit - len(views)
        found = yield rows(sql, *args, *later_args, wanted)
        batch = [_marked(slot_view_from(r), r, tx.now, ruleset, tz) for r in found]
        if q.bookable_only:  # the SQL above is the same rule; this drops a sub-second edge
            batch = [v for v in batch if v.window == SlotWindow.OPEN]
        views += batch
        if len(found) < wanted or len(views) >= limit:
            return views
        last = found[-1]
        after = (last["day"], last["start_time"], last["work_no"], last["slot_id"])


def _marked(view: SlotView, row: Row, now: datetime, ruleset: RuleSet, tz: ZoneInfo) -> SlotView:
    starts_at = from_epoch(row["session_starts_at"])
    assert starts_at is not None
    return replace(
        view,
        window=str(slot_window(now, view.day, starts_at, ruleset, tz)),
        opens_at=release_instant(view.day, ruleset, tz).astimezone(UTC),
        closes_at=booking_cutoff(starts_at, ruleset),
    )


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """A clinic session with its hospital, doctor, department and slots (the API's view)."""

    session: ClinicSession
    hospital: Hospital
    doctor_work_no: str
    department_code: str
    slots: list[Slot]


def session_detail(tx: Tx, session_id: int, actor: Actor) -> Unit[SessionDetail]:
    """A clinic session with its slots; NotFound outside the actor's hospital."""
    session = yield from session_by_id(session_id)
    tenancy.check(actor, session.hospital_id, "session", session_id)
    hospital = yield from hospital_by_id(session.hospital_id)
    names = yield one(
        "SELECT doc.work_no, dep.code AS department_code FROM sessions se "
        "JOIN doctors doc ON doc.id = se.doctor_id "
        "JOIN departments dep ON dep.id = se.department_id WHERE se.id = ?",
        session_id,
    )
    slots = yield from slots_of_session(session_id)
    return SessionDetail(session, hospital, names["work_no"], names["department_code"], slots)
