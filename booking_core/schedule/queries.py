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
from ..kernel.errors import InvalidInput
from ..kernel.paging import PageKey, after_clause
from ..kernel.unit import MAX_ROWS, Row, Tx, Unit, from_epoch, one, rows, to_epoch, val
from ..rules.checks import SlotWindow, booking_cutoff, booking_window, release_instant, slot_window
from ..rules.model import RuleKey, RuleSet, pool_plan
from ..rules.pools import REFERRAL, PoolPlan, Reach, last_open_day
from ..rules.repo import rules_for
from .model import ClinicSession, Slot, SlotView
from .pools import reach_of_sessions, window_of
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
    period: str | None = None  # one half day (上午/下午/晚上): a Period's value
    other_than: int | None = None  # a slot left out (the one a booking being moved is in)
    only_free: bool = True
    # only what can be booked now: released (放号) and not past the cut-off
    bookable_only: bool = False
    limit: int = MAX_ROWS
    after: PageKey | None = None  # a :func:`slot_key`: the slots after it
    # what a referral (医联体/转诊) may book, where the hospital keeps a referral pool
    referral: bool = False


SLOT_ORDER = ("se.day", "sl.start_time", "doc.work_no", "sl.id")


def slot_key(view: SlotView) -> PageKey:
    """Where a slot stands in :func:`search_slots`' order."""
    return (view.day.isoformat(), view.start.strftime("%H:%M"), view.doctor_work_no, view.slot_id)


def reader_pool(actor: Actor, referral: bool = False) -> str:
    """The pool (号源池) a reader's channel books first: its own, or the referral pool."""
    return REFERRAL if referral else str(actor.channel)


def _slot_where(
    tx: Tx, q: SlotSearch, hospital: Hospital, ruleset: RuleSet, tz: ZoneInfo, pool: str
) -> tuple[list[str], list[Any]]:
    """The where clauses (and their args) of the slots ``q`` asks for."""
    where = ["se.hospital_id = ?", "se.status = 'open'"]
    args: list[Any] = [hospital.id]
    if q.bookable_only:
        last_open = booking_window(tx.now, ruleset, tz).last_open_day
        plan = pool_plan(ruleset)
        if plan is not None:  # a pool released early (分时放号) opens later days to its channel
            days, at = window_of(ruleset)
            own = last_open_day(plan, pool, tx.now, tz, days, at)
            last_open = max(last_open, own) if own is not None else last_open
        cutoff = timedelta(minutes=ruleset.limit(RuleKey.BOOKING_CUTOFF_MINUTES) or 0)
        where.append("se.day <= ? AND se.starts_at > ?")
        args += [last_open.isoformat(), to_epoch(tx.now + cutoff)]
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
    if q.period:
        where.append("se.period = ?")
        args.append(q.period)
    if q.other_than is not None:
        where.append("sl.id <> ?")
        args.append(q.other_than)
    if q.only_free:
        where.append("sl.booked < sl.capacity")
    return where, args


def count_slots(tx: Tx, q: SlotSearch, actor: Actor) -> Unit[int]:
    """How many slots :func:`search_slots` would list for ``q`` without a limit (after
    ``q.after`` when given): what a page that shows some says of the rest."""
    hospital = yield from hospital_for(actor, q.hospital_code)
    tz = ZoneInfo(hospital.timezone)
    ruleset = yield from rules_for(hospital.id)
    if pool_plan(ruleset) is not None and (q.only_free or q.bookable_only):
        # 号源池: which slots this channel may book is known slot by slot (at most a page's
        # worth of :data:`MAX_ROWS` counted)
        return len((yield from search_slots(tx, replace(q, limit=MAX_ROWS), actor)))
    where, args = _slot_where(tx, q, hospital, ruleset, tz, reader_pool(actor, q.referral))
    later, later_args = after_clause(SLOT_ORDER, q.after)
    sql = (
        "SELECT count(*) FROM slots sl JOIN sessions se ON se.id = sl.session_id "
        "JOIN doctors doc ON doc.id = se.doctor_id "
        "JOIN departments dep ON dep.id = se.department_id WHERE " + " AND ".join(where + later)
    )
    found = yield val(sql, *args, *later_args)
    return int(found or 0)


def search_slots(tx: Tx, q: SlotSearch, actor: Actor) -> Unit[list[SlotView]]:
    """The slots asked for, each marked with its ``window`` at this instant (not yet
    released, open, closed) by the rules the booking itself is checked by; with
    ``bookable_only`` the others are left out. Every door lists slots through this."""
    hospital = yield from hospital_for(actor, q.hospital_code)
    tz = ZoneInfo(hospital.timezone)
    ruleset = yield from rules_for(hospital.id)
    pool = reader_pool(actor, q.referral)
    where, args = _slot_where(tx, q, hospital, ruleset, tz, pool)
    plan = pool_plan(ruleset)
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
        if plan is not None:  # 号源池: only what this channel may book
            batch = yield from _pooled(tx, batch, found, plan, ruleset, tz, pool)
            if q.only_free:
                batch = [v for v in batch if v.free > 0]
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


def _pooled(
    tx: Tx,
    views: list[SlotView],
    found: list[Row],
    plan: PoolPlan,
    ruleset: RuleSet,
    tz: ZoneInfo,
    pool: str,
) -> Unit[list[SlotView]]:
    """Each slot as the channel whose own pool is ``pool`` sees it: the places it may book,
    and its window by its pools' releases (分时放号) instead of the hospital's one."""
    sessions = {
        r["session_id"]: (date.fromisoformat(r["day"]), r["session_starts_at"]) for r in found
    }
    reach = yield from reach_of_sessions(tx, plan, ruleset, tz, sessions, pool)
    out = []
    for view in views:
        can = reach[view.session_id]
        window = view.window
        opens_at = view.opens_at
        if window != str(SlotWindow.CLOSED):
            window = str(SlotWindow.OPEN if can.order else SlotWindow.NOT_YET_OPEN)
            opens_at = can.opens_at.astimezone(UTC) if can.opens_at is not None else opens_at
        out.append(replace(view, pool_free=can.free, window=window, opens_at=opens_at))
    return out


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


# --- feeds: sessions and slots by id, in pages, changed since (FHIR, SMART links) --------

FEED_PAGE_MAX = MAX_ROWS


@dataclass(frozen=True, slots=True)
class FeedSession:
    """A clinic session with the ids and names a feed refers to."""

    id: int
    hospital_id: int
    hospital_code: str
    timezone: str
    department_id: int
    department_code: str
    department_name: str
    doctor_id: int
    doctor_work_no: str
    doctor_name: str
    day: date
    period: str
    start: time
    end: time
    room: str
    fee: int
    open: bool  # not stopped (停诊)


@dataclass(frozen=True, slots=True)
class FeedSlot:
    """A slot and its session, as a feed publishes it."""

    id: int
    session: FeedSession
    start: time
    end: time
    capacity: int
    booked: int
    # channel pools (号源池): what the reader's channel may book in the session; None: no pools
    pool_free: int | None = None

    @property
    def free(self) -> int:
        if not self.session.open:
            return 0
        free = max(self.capacity - self.booked, 0)
        return free if self.pool_free is None else min(free, self.pool_free)


@dataclass(frozen=True, kw_only=True)
class FeedQuery:
    """Which sessions or slots: all filters optional, ``after_id`` and ``limit`` page by id.
    ``day_from``/``day_to`` bound the clinic day; ``starts_from``/``starts_to`` (UTC)
    bound a slot's start; ``free`` True keeps slots with a place left in an open session,
    False the others; ``changed_since`` keeps what changed at or after it (a place taken
    or given back, a session created or stopped)."""

    hospital_id: int | None = None
    ids: tuple[int, ...] = ()
    session_id: int | None = None
    department_code: str | None = None
    doctor_id: int | None = None
    day_from: date | None = None
    day_to: date | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    free: bool | None = None
    open: bool | None = None
    changed_since: datetime | None = None
    # only what can be booked now by the rules a booking is checked by (放号, the cut-off);
    # needs ``hospital_id``
    bookable: bool = False
    after_id: int = 0
    limit: int = 100


_FEED_SESSION_SQL = """
SELECT se.id AS session_id, se.hospital_id, h.code AS hospital_code, h.timezone,
       se.department_id, dep.code AS department_code, dep.name AS department_name,
       se.doctor_id, doc.work_no, doc.name AS doctor_name, se.day, se.period,
       se.start_time AS session_start, se.end_time AS session_end, se.room, se.fee,
       se.status AS session_status
"""

_FEED_JOINS = """
JOIN hospitals h ON h.id = se.hospital_id
JOIN departments dep ON dep.id = se.department_id
JOIN doctors doc ON doc.id = se.doctor_id
"""


def _feed_session(r: Row) -> FeedSession:
    return FeedSession(
        id=r["session_id"],
        hospital_id=r["hospital_id"],
        hospital_code=r["hospital_code"],
        timezone=r["timezone"],
        department_id=r["department_id"],
        department_code=r["department_code"],
        department_name=r["department_name"],
        doctor_id=r["doctor_id"],
        doctor_work_no=r["work_no"],
        doctor_name=r["doctor_name"],
        day=date.fromisoformat(r["day"]),
        period=r["period"],
        start=time.fromisoformat(r["session_start"]),
        end=time.fromisoformat(r["session_end"]),
        room=r["room"],
        fee=r["fee"],
        open=r["session_status"] == "open",
    )


def _feed_where(q: FeedQuery, actor: Actor, id_column: str) -> tuple[list[str], list[Any]]:
    where, args = tenancy.scope(actor, "se.hospital_id", q.hospital_id)
    if q.ids:
        where.append(f"{id_column} IN ({', '.join('?' * len(q.ids))})")
        args += list(q.ids)
    if q.session_id is not None:
        where.append("se.id = ?")
        args.append(q.session_id)
    if q.department_code is not None:
        where.append("dep.code = ?")
        args.append(q.department_code)
    if q.doctor_id is not None:
        where.append("se.doctor_id = ?")
        args.append(q.doctor_id)
    if q.day_from is not None:
        where.append("se.day >= ?")
        args.append(q.day_from.isoformat())
    if q.day_to is not None:
        where.append("se.day <= ?")
        args.append(q.day_to.isoformat())
    if q.open is not None:
        where.append("se.status = 'open'" if q.open else "se.status <> 'open'")
    where.append(f"{id_column} > ?")
    args.append(q.after_id)
    return where, args


def feed_sessions(tx: Tx, q: FeedQuery, actor: Actor) -> Unit[list[FeedSession]]:
    """Sessions by id, at most ``q.limit`` (at most :data:`FEED_PAGE_MAX`) after ``q.after_id``."""
    where, args = _feed_where(q, actor, "se.id")
    if q.changed_since is not None:
        where.append("(se.created_at >= ? OR se.updated_at >= ?)")
        args += [to_epoch(q.changed_since)] * 2
    found = yield rows(
        _FEED_SESSION_SQL
        + "FROM sessions se"
        + _FEED_JOINS
        + "WHERE "
        + " AND ".join(where)
        + " ORDER BY se.id LIMIT ?",
        *args,
        min(q.limit, FEED_PAGE_MAX),
    )
    return [_feed_session(r) for r in found]


def feed_slots(tx: Tx, q: FeedQuery, actor: Actor) -> Unit[list[FeedSlot]]:
    """Slots by id, at most ``q.limit`` (at most :data:`FEED_PAGE_MAX`) after ``q.after_id``.

    Where a hospital keeps channel pools (号源池) each slot's free places are what the
    reader's channel may book (the HIS its own pool and the public one); ``free`` and
    ``bookable`` then keep the slots by that count, and the page is made up from further on."""
    limit = min(q.limit, FEED_PAGE_MAX)
    out: list[FeedSlot] = []
    plans: dict[int, tuple[RuleSet, PoolPlan | None, ZoneInfo]] = {}
    pool = reader_pool(actor)
    while True:
        wanted = limit - len(out)
        found = yield from _feed_slot_rows(tx, q, actor, wanted, plans, pool)
        batch = [_feed_slot(r) for r in found]
        if any(plans[r["hospital_id"]][1] is not None for r in found):
            batch = yield from _feed_pooled(tx, batch, found, plans, pool, q)
        if q.free is not None:
            batch = [s for s in batch if (s.free > 0) is q.free]
        if q.bookable:  # 节假日: a day the calendar closes is refused (DayClosed), as listed
            batch = [
                s for s in batch if plans[s.session.hospital_id][0].calendar.is_open(s.session.day)
            ]
        out += batch
        if len(found) < wanted or len(out) >= limit:
            return out
        q = replace(q, after_id=found[-1]["slot_id"])


def _feed_slot(r: Row) -> FeedSlot:
    return FeedSlot(
        id=r["slot_id"],
        session=_feed_session(r),
        start=time.fromisoformat(r["start_time"]),
        end=time.fromisoformat(r["end_time"]),
        capacity=r["capacity"],
        booked=r["booked"],
    )


def _hospital_rules(
    hospital_id: int, plans: dict[int, tuple[RuleSet, PoolPlan | None, ZoneInfo]]
) -> Unit[tuple[RuleSet, PoolPlan | None, ZoneInfo]]:
    if hospital_id not in plans:
        hospital = yield from hospital_by_id(hospital_id)
        ruleset = yield from rules_for(hospital.id)
        plans[hospital_id] = (ruleset, pool_plan(ruleset), ZoneInfo(hospital.timezone))
    return plans[hospital_id]


def _feed_slot_rows(
    tx: Tx,
    q: FeedQuery,
    actor: Actor,
    limit: int,
    plans: dict[int, tuple[RuleSet, PoolPlan | None, ZoneInfo]],
    pool: str,
) -> Unit[list[Row]]:
    where, args = _feed_where(q, actor, "sl.id")
    if q.starts_from is not None:
        where.append("sl.starts_at >= ?")
        args.append(to_epoch(q.starts_from))
    if q.starts_to is not None:
        where.append("sl.starts_at <= ?")
        args.append(to_epoch(q.starts_to))
    if q.free is True:
        where.append("se.status = 'open' AND sl.booked < sl.capacity")
    elif q.free is False and q.hospital_id is not None:
        # with pools a slot with places may still be full for this reader: kept below
        ruleset, plan, _tz = yield from _hospital_rules(q.hospital_id, plans)
        if plan is None:
            where.append("(se.status <> 'open' OR sl.booked >= sl.capacity)")
    if q.changed_since is not None:
        where.append("(sl.updated_at >= ? OR se.created_at >= ? OR se.updated_at >= ?)")
        args += [to_epoch(q.changed_since)] * 3
    if q.bookable:
        if q.hospital_id is None:
            raise InvalidInput("hospital", "bookable slots are searched in one hospital")
        ruleset, plan, tz = yield from _hospital_rules(q.hospital_id, plans)
        last_open = booking_window(tx.now, ruleset, tz).last_open_day
        if plan is not None:  # the reader's pool may open days early (分时放号)
            days, at = window_of(ruleset)
            own = last_open_day(plan, pool, tx.now, tz, days, at)
            last_open = max(last_open, own) if own is not None else last_open
        cutoff = timedelta(minutes=ruleset.limit(RuleKey.BOOKING_CUTOFF_MINUTES) or 0)
        where.append("se.day <= ? AND se.starts_at > ?")  # the rule of search_slots
        args += [last_open.isoformat(), to_epoch(tx.now + cutoff)]
    found = yield rows(
        _FEED_SESSION_SQL
        + ", se.starts_at AS session_starts_at"
        + ", sl.id AS slot_id, sl.start_time, sl.end_time, sl.capacity, sl.booked "
        + "FROM slots sl JOIN sessions se ON se.id = sl.session_id"
        + _FEED_JOINS
        + "WHERE "
        + " AND ".join(where)
        + " ORDER BY sl.id LIMIT ?",
        *args,
        limit,
    )
    for r in found:
        yield from _hospital_rules(r["hospital_id"], plans)
    return list(found)


def _feed_pooled(
    tx: Tx,
    batch: list[FeedSlot],
    found: list[Row],
    plans: dict[int, tuple[RuleSet, PoolPlan | None, ZoneInfo]],
    pool: str,
    q: FeedQuery,
) -> Unit[list[FeedSlot]]:
    """The slots as the reader's channel sees them under its hospital's pools."""
    reach: dict[int, Reach] = {}
    for hospital_id in {r["hospital_id"] for r in found}:
        ruleset, plan, tz = plans[hospital_id]
        if plan is None:
            continue
        sessions = {
            r["session_id"]: (date.fromisoformat(r["day"]), r["session_starts_at"])
            for r in found
            if r["hospital_id"] == hospital_id
        }
        reach.update((yield from reach_of_sessions(tx, plan, ruleset, tz, sessions, pool)))
    out = []
    for slot in batch:
        can = reach.get(slot.session.id)
        if can is not None:
            slot = replace(slot, pool_free=can.free)
            if q.bookable and not can.order:
                continue
        out.append(slot)
    return out
