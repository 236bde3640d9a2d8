"""Reads of bookings (预约查询): one booking, a patient's or a session's, the back office's
filtered pages and export, what a doctor stop (停诊) would touch, and waitlists (候补)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ..catalogue.repo import hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.paging import PageKey, after_clause
from ..kernel.unit import MAX_ROWS, Tx, Unit, one, rows, val
from ..schedule.model import ClinicSession
from ..schedule.queries import SESSION_ROW_SQL, SessionRow, session_row_from
from ..schedule.repo import session_by_id
from .model import (
    ACTIVE_SQL,
    LIVE_WAITLIST_SQL,
    BookingStatus,
    BookingView,
    WaitlistEntry,
    WaitlistStatus,
)
from .repo import VIEW_SQL, view_by_no, view_from
from .waitlist import entry_from, position_of, session_row

MAX_PAGE = 200

MAX_EXPORT = 10_000  # an Excel sheet a person can still open; the query page says so

# --- booking query (预约查询) -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BookingQuery:
    """预约查询: every field optional; ``patient`` is a card number or the start of a name."""

    hospital_code: str | None = None
    channel: str | None = None
    department_code: str | None = None
    doctor_work_no: str | None = None
    booking_no: str | None = None
    patient: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    status: BookingStatus | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True)
class BookingPage:
    rows: list[BookingView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def _booking_filter(q: BookingQuery, actor: Actor) -> Unit[tuple[str, list[Any]]]:
    named = (yield from hospital_for(actor, q.hospital_code)).id if q.hospital_code else None
    where, args = tenancy.scope(actor, "b.hospital_id", named)
    simple = (
        ("b.channel = ?", q.channel),
        ("dep.code = ?", q.department_code),
        ("doc.work_no = ?", q.doctor_work_no),
        ("b.booking_no = ?", q.booking_no),
        ("b.status = ?", str(q.status) if q.status else None),
        ("b.day >= ?", q.day_from.isoformat() if q.day_from else None),
        ("b.day <= ?", q.day_to.isoformat() if q.day_to else None),
    )
    for clause, value in simple:
        if value:
            where.append(clause)
            args.append(value)
    if q.patient:
        where.append("(p.card_no = ? OR p.name LIKE ?)")
        args += [q.patient.strip(), q.patient.strip().replace("%", "").replace("_", "") + "%"]
    return (" WHERE " + " AND ".join(where) if where else ""), args


def query_bookings(tx: Tx, q: BookingQuery, actor: Actor) -> Unit[BookingPage]:
    """One page of the filtered bookings and how many there are in all."""
    clause, args = yield from _booking_filter(q, actor)
    count_sql = "SELECT count(*) FROM (" + VIEW_SQL + clause + ") AS q"
    total = yield val(count_sql, *args)
    per_page = min(max(q.per_page, 1), MAX_PAGE)
    page = max(q.page, 1)
    found = yield rows(
        VIEW_SQL + clause + " ORDER BY b.day, sl.start_time, b.id LIMIT ? OFFSET ?",
        *args,
        per_page,
        (page - 1) * per_page,
    )
    return BookingPage([view_from(r) for r in found], total or 0, page, per_page)


def export_bookings(tx: Tx, q: BookingQuery, actor: Actor) -> Unit[list[BookingView]]:
    """Every filtered booking (at most :data:`MAX_EXPORT`), in the query page's order."""
    clause, args = yield from _booking_filter(q, actor)
    found = yield rows(
        VIEW_SQL + clause + " ORDER BY b.day, sl.start_time, b.id LIMIT ?", *args, MAX_EXPORT
    )
    return [view_from(r) for r in found]


@dataclass(frozen=True, slots=True)
class StopPreview:
    """停诊预览: the session, the bookings a stop would move or cancel, and where they may go."""

    session: SessionRow
    affected: list[BookingView]
    substitutes: list[SessionRow]


def stop_preview(tx: Tx, session_id: int, actor: Actor) -> Unit[StopPreview]:
    found: ClinicSession = yield from session_by_id(session_id)
    tenancy.check(actor, found.hospital_id, "session", session_id)
    row = yield one(SESSION_ROW_SQL + " WHERE se.id = ?", session_id)
    affected = yield rows(
        VIEW_SQL + f" WHERE b.session_id = ? AND b.status IN {ACTIVE_SQL} "
        "ORDER BY sl.start_time, b.place_no",
        session_id,
    )
    substitutes = yield rows(
        SESSION_ROW_SQL + " WHERE se.hospital_id = ? AND se.department_id = ? AND se.id <> ? "
        "AND se.status = 'open' AND se.ends_at > ? ORDER BY se.day, se.period, doc.work_no",
        found.hospital_id,
        found.department_id,
        session_id,
        tx.epoch,
    )
    return StopPreview(
        session_row_from(row),
        [view_from(r) for r in affected],
        [session_row_from(r) for r in substitutes],
    )


def get_booking(tx: Tx, booking_no: str, actor: Actor) -> Unit[BookingView]:
    view: BookingView = yield from view_by_no(booking_no)
    tenancy.check(actor, view.booking.hospital_id, "booking", booking_no)
    return view


BOOKING_ORDER = ("b.day", "sl.start_time", "b.id")


def booking_key(view: BookingView) -> PageKey:
    """Where a booking stands in :func:`list_bookings`' order."""
    return (view.booking.day.isoformat(), view.start.strftime("%H:%M"), view.booking.id)


def list_bookings(
    tx: Tx,
    actor: Actor,
    *,
    patient_id: int | None = None,
    day: date | None = None,
    session_id: int | None = None,
    hospital_code: str | None = None,
    limit: int = MAX_ROWS,
    after: PageKey | None = None,
) -> Unit[list[BookingView]]:
    """Bookings by day, start time and id; ``after`` a :func:`booking_key`: the next page."""
    where, args = tenancy.scope(actor, "b.hospital_id")
    if hospital_code:  # a hospital the actor may not see has none of its bookings listed
        where.append("h.code = ?")
        args.append(hospital_code)
    if patient_id is not None:
        where.append("b.patient_id = ?")
        args.append(patient_id)
    if day is not None:
        where.append("b.day = ?")
        args.append(day.isoformat())
    if session_id is not None:
        where.append("b.session_id = ?")
        args.append(session_id)
    later, later_args = after_clause(BOOKING_ORDER, after)
    where += later
    args += later_args
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        VIEW_SQL + clause + f" ORDER BY {', '.join(BOOKING_ORDER)} LIMIT ?",
        *args,
        min(limit, MAX_ROWS),
    )
    return [view_from(r) for r in found]


# --- the waitlist (候补) ----------------------------------------------------------------


def waitlist_line(tx: Tx, session_id: int, actor: Actor) -> Unit[list[WaitlistEntry]]:
    """The session's live line in arrival order: those waiting (position 1 …) and those
    holding an offer (position 0)."""
    yield from session_row(session_id, actor)
    found = yield rows(
        "SELECT w.*, b.booking_no FROM waitlist w LEFT JOIN bookings b "
        f"ON b.id = w.offer_booking_id WHERE w.session_id = ? AND w.status IN {LIVE_WAITLIST_SQL} "
        "ORDER BY w.id",
        session_id,
    )
    out, position = [], 0
    for r in found:
        waiting = r["status"] == WaitlistStatus.WAITING
        position += 1 if waiting else 0
        out.append(entry_from(r, position if waiting else 0, r["booking_no"]))
    return out


def waitlist_of_patient(tx: Tx, patient_id: int, actor: Actor) -> Unit[list[WaitlistEntry]]:
    """A patient's live entries, soonest session first, each with its position."""
    found = yield rows(
        "SELECT w.*, b.booking_no FROM waitlist w LEFT JOIN bookings b "
        "ON b.id = w.offer_booking_id JOIN sessions se ON se.id = w.session_id "
        f"WHERE w.patient_id = ? AND w.status IN {LIVE_WAITLIST_SQL} ORDER BY se.starts_at, w.id",
        patient_id,
    )
    out = []
    for r in found:
        tenancy.check(actor, r["hospital_id"], "patient", patient_id)
        position = 0
        if r["status"] == WaitlistStatus.WAITING:
            position = yield from position_of(r["id"], r["session_id"])
        out.append(entry_from(r, position, r["booking_no"]))
    return out
