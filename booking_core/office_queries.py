"""The read side of the back office (后台): booking queries, the people a doctor stop (停诊)
touches, the week's sessions (排班), doctors, blacklist and complaints (reports and the
audit log: :mod:`booking_core.office_reports`).

Every read is scoped like the rest of the core: an actor of one hospital sees only that
hospital (another's record is "not found"); a platform actor may name a hospital or see all.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from .domain import ACTIVE_SQL, Actor, BookingView, ClinicSession
from .errors import NotFound
from .repo.bookings import VIEW_SQL, view_from
from .repo.schedule import doctor_from, hospital_by_code, session_by_id
from .store.base import Query, Tx, from_epoch, one, rows, val

Gen = Generator[Query, Any, Any]

MAX_PAGE = 200
MAX_EXPORT = 10_000  # an Excel sheet a person can still open; the query page says so
BOOKING_STATUSES = ("held", "confirmed", "checked_in", "completed", "cancelled", "no_show")


def scope(actor: Actor, hospital_code: str | None, column: str) -> Gen:
    """(where clauses, args) limiting ``column`` to the actor's or the named hospital."""
    where: list[str] = []
    args: list[Any] = []
    if hospital_code:
        hospital = yield from hospital_by_code(hospital_code)
        if not actor.may_access(hospital.id):
            raise NotFound("hospital", hospital_code)
        where.append(f"{column} = ?")
        args.append(hospital.id)
    elif actor.hospital_id is not None:
        where.append(f"{column} = ?")
        args.append(actor.hospital_id)
    return where, args


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
    status: str | None = None
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


def _booking_filter(q: BookingQuery, actor: Actor) -> Gen:
    where, args = yield from scope(actor, q.hospital_code, "b.hospital_id")
    simple = (
        ("b.channel = ?", q.channel),
        ("dep.code = ?", q.department_code),
        ("doc.work_no = ?", q.doctor_work_no),
        ("b.booking_no = ?", q.booking_no),
        ("b.status = ?", q.status),
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


def query_bookings(tx: Tx, q: BookingQuery, actor: Actor) -> Gen:
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


def export_bookings(tx: Tx, q: BookingQuery, actor: Actor) -> Gen:
    """Every filtered booking (at most :data:`MAX_EXPORT`), in the query page's order."""
    clause, args = yield from _booking_filter(q, actor)
    found = yield rows(
        VIEW_SQL + clause + " ORDER BY b.day, sl.start_time, b.id LIMIT ?", *args, MAX_EXPORT
    )
    return [view_from(r) for r in found]


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


def session_row_from(r) -> SessionRow:
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


def list_sessions(
    tx: Tx, actor: Actor, *, hospital_code: str | None, day_from: date, day_to: date
) -> Gen:
    where, args = yield from scope(actor, hospital_code, "se.hospital_id")
    where.append("se.day BETWEEN ? AND ?")
    args += [day_from.isoformat(), day_to.isoformat()]
    found = yield rows(
        SESSION_ROW_SQL
        + " WHERE "
        + " AND ".join(where)
        + " ORDER BY se.day, se.period, doc.work_no",
        *args,
    )
    return [session_row_from(r) for r in found]


@dataclass(frozen=True, slots=True)
class StopPreview:
    """停诊预览: the session, the bookings a stop would move or cancel, and where they may go."""

    session: SessionRow
    affected: list[BookingView]
    substitutes: list[SessionRow]


def stop_preview(tx: Tx, session_id: int, actor: Actor) -> Gen:
    found: ClinicSession = yield from session_by_id(session_id)
    if not actor.may_access(found.hospital_id):
        raise NotFound("session", session_id)
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


# --- departments and doctors ----------------------------------------------------------


def catalogue(tx: Tx, actor: Actor, hospital_code: str | None) -> Gen:
    """(departments, doctors) of the actor's or the named hospital, inactive ones included."""
    where, args = yield from scope(actor, hospital_code, "h.id")
    clause = " WHERE " + " AND ".join(where) if where else ""
    deps = yield rows(
        "SELECT dep.*, h.code AS hospital_code FROM departments dep "
        "JOIN hospitals h ON h.id = dep.hospital_id" + clause + " ORDER BY h.code, dep.code",
        *args,
    )
    docs = yield rows(
        "SELECT doc.*, h.code AS hospital_code, dep.code AS department_code FROM doctors doc "
        "JOIN hospitals h ON h.id = doc.hospital_id "
        "JOIN departments dep ON dep.id = doc.department_id"
        + clause
        + " ORDER BY h.code, doc.work_no",
        *args,
    )
    departments = [
        {
            "hospital": r["hospital_code"],
            "code": r["code"],
            "name": r["name"],
            "active": bool(r["active"]),
        }
        for r in deps
    ]
    doctors = [(r["hospital_code"], r["department_code"], doctor_from(r)) for r in docs]
    return departments, doctors


# --- blacklist (黑名单) ----------------------------------------------------------------


def blacklist_rows(tx: Tx, actor: Actor, *, active_only: bool = True) -> Gen:
    """Blacklist entries with the patient's name and card (the console masks the name)."""
    where, args = [], []
    if actor.hospital_id is not None:
        where.append("p.hospital_id = ?")
        args.append(actor.hospital_id)
    if active_only:
        where.append("bl.lifted_at IS NULL AND bl.ends_at > ?")
        args.append(tx.epoch)
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        "SELECT bl.*, p.name AS patient_name, p.card_no, h.code AS hospital_code "
        "FROM blacklist bl JOIN patients p ON p.id = bl.patient_id "
        "JOIN hospitals h ON h.id = p.hospital_id" + clause + " ORDER BY bl.id DESC LIMIT 500",
        *args,
    )
    return [
        {
            "id": r["id"],
            "patient_id": r["patient_id"],
            "patient_name": r["patient_name"],
            "card_no": r["card_no"],
            "hospital": r["hospital_code"],
            "platform_wide": r["hospital_id"] is None,
            "reason": r["reason"],
            "source": r["source"],
            "starts_at": from_epoch(r["starts_at"]),
            "ends_at": from_epoch(r["ends_at"]),
            "lifted_at": from_epoch(r["lifted_at"]),
        }
        for r in found
    ]


def patient_by_card(tx: Tx, actor: Actor, hospital_code: str | None, card_no: str) -> Gen:
    """The patient id of a card number in the actor's (or the named) hospital."""
    where, args = yield from scope(actor, hospital_code, "hospital_id")
    where.append("card_no = ?")
    args.append(card_no.strip())
    found = yield rows("SELECT id FROM patients WHERE " + " AND ".join(where), *args)
    if len(found) != 1:
        raise NotFound("patient", card_no)
    return found[0]["id"]


# --- complaints (投诉) ------------------------------------------------------------------


def complaints(tx: Tx, actor: Actor, *, status: str | None = None) -> Gen:
    """Complaints newest first, each with the operator it is assigned to (from the audit)."""
    where, args = yield from scope(actor, None, "c.hospital_id")
    if status:
        where.append("c.status = ?")
        args.append(status)
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        "SELECT c.tracking_no, c.status, c.channel, c.caller_masked, c.created_at, "
        "c.recording_url, h.code AS hospital_code FROM complaints c "
        "LEFT JOIN hospitals h ON h.id = c.hospital_id" + clause + " ORDER BY c.id DESC LIMIT 500",
        *args,
    )
    out = []
    for r in found:
        out.append(
            {
                "tracking_no": r["tracking_no"],
                "status": r["status"],
                "channel": r["channel"],
                "caller": r["caller_masked"],
                "hospital": r["hospital_code"],
                "has_recording": bool(r["recording_url"]),
                "created_at": from_epoch(r["created_at"]),
                "assignee": (yield from complaint_assignee(tx, r["tracking_no"])),
            }
        )
    return out


def complaint_assignee(tx: Tx, tracking_no: str) -> Gen:
    """The operator a complaint was last assigned to (its ``complaint.assign`` audit row)."""
    found = yield val(
        "SELECT after_state FROM audit WHERE action = 'complaint.assign' AND entity = 'complaint' "
        "AND entity_id = ? ORDER BY id DESC LIMIT 1",
        tracking_no,
    )
    return json.loads(found)["assignee"] if found else None


def complaint_history(tx: Tx, tracking_no: str) -> Gen:
    found = yield rows(
        "SELECT at, actor, action, after_state FROM audit WHERE entity = 'complaint' "
        "AND entity_id = ? ORDER BY id",
        tracking_no,
    )
    return [
        {
            "at": from_epoch(r["at"]),
            "actor": r["actor"],
            "action": r["action"],
            "after": json.loads(r["after_state"]) if r["after_state"] else None,
        }
        for r in found
    ]
