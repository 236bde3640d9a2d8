"""Bookings (预约) and the places they hold in slots."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from ..kernel.actor import Channel
from ..kernel.errors import NotFound
from ..kernel.identity import new_booking_no
from ..kernel.unit import Row, Unit, from_epoch, one, rows, val
from ..schedule.model import Period
from .model import ACTIVE_SQL, Booking, BookingStatus, BookingView

BOOKING_NO_ATTEMPTS = 5  # a collision in 9e7 numbers is rare; five in a row means a bug


def booking_from(row: Row) -> Booking:
    return Booking(
        id=row["id"],
        booking_no=row["booking_no"],
        hospital_id=row["hospital_id"],
        department_id=row["department_id"],
        doctor_id=row["doctor_id"],
        session_id=row["session_id"],
        slot_id=row["slot_id"],
        patient_id=row["patient_id"],
        place_no=row["place_no"],
        channel=Channel(row["channel"]),
        status=BookingStatus(row["status"]),
        fee=row["fee"],
        paid=row["paid"],
        queue_no=row["queue_no"],
        day=date.fromisoformat(row["day"]),
        created_at=from_epoch(row["created_at"]),
        hold_expires_at=from_epoch(row["hold_expires_at"]),
        cancel_reason=row["cancel_reason"],
        pool=row["pool"],
    )


VIEW_SQL = """
SELECT b.*, h.code AS hospital_code, dep.code AS department_code, dep.name AS department_name,
       doc.work_no AS doctor_work_no, doc.name AS doctor_name, doc.title AS doctor_title,
       se.room, se.period, sl.start_time, sl.end_time, sl.starts_at AS slot_starts_at,
       p.name AS patient_name, p.card_no AS patient_card_no
FROM bookings b
JOIN hospitals h ON h.id = b.hospital_id
JOIN departments dep ON dep.id = b.department_id
JOIN doctors doc ON doc.id = b.doctor_id
JOIN sessions se ON se.id = b.session_id
JOIN slots sl ON sl.id = b.slot_id
JOIN patients p ON p.id = b.patient_id
"""


def view_from(row: Row) -> BookingView:
    return BookingView(
        booking=booking_from(row),
        hospital_code=row["hospital_code"],
        department_code=row["department_code"],
        department_name=row["department_name"],
        doctor_work_no=row["doctor_work_no"],
        doctor_name=row["doctor_name"],
        doctor_title=row["doctor_title"],
        room=row["room"],
        period=Period(row["period"]),
        start=time.fromisoformat(row["start_time"]),
        end=time.fromisoformat(row["end_time"]),
        starts_at=from_epoch(row["slot_starts_at"]),
        patient_name=row["patient_name"],
        patient_card_no=row["patient_card_no"],
    )


def view_by_no(booking_no: str) -> Unit[BookingView]:
    row = yield one(VIEW_SQL + " WHERE b.booking_no = ?", booking_no)
    if row is None:
        raise NotFound("booking", booking_no)
    return view_from(row)


def view_by_id(booking_id: int) -> Unit[BookingView]:
    row = yield one(VIEW_SQL + " WHERE b.id = ?", booking_id)
    if row is None:
        raise NotFound("booking", booking_id)
    return view_from(row)


def booking_by_no(booking_no: str, *, lock: bool = False) -> Unit[Booking]:
    row = yield one("SELECT * FROM bookings WHERE booking_no = ?", booking_no, lock=lock)
    if row is None:
        raise NotFound("booking", booking_no)
    return booking_from(row)


def still(booking_id: int, statuses: str) -> Unit[Booking | None]:
    """The booking, row-locked, if it is still in one of ``statuses`` (an SQL list);
    None when another transaction changed it first (PostgreSQL re-checks after the lock
    wait; on SQLite the one writer makes it a plain re-read)."""
    row = yield one(
        f"SELECT * FROM bookings WHERE id = ? AND status IN {statuses}", booking_id, lock=True
    )
    return None if row is None else booking_from(row)


def free_place(slot_id: int, capacity: int | None, hint: int | None) -> Unit[int | None]:
    """A place number no active booking of the slot holds (None: all ``capacity`` taken).

    ``hint`` is the slot's new booked count: without cancellations that place is the
    free one, found with one index probe; otherwise (or with no hint) the lowest free
    number is taken.
    ``capacity=None`` is the test-only unguarded mode: numbers run past the capacity.
    """
    if hint is not None and (capacity is None or hint <= capacity):
        taken = yield val(
            f"SELECT 1 FROM bookings WHERE slot_id = ? AND place_no = ? AND status IN {ACTIVE_SQL}",
            slot_id,
            hint,
        )
        if not taken:
            return hint
    found = yield rows(
        f"SELECT place_no FROM bookings WHERE slot_id = ? AND status IN {ACTIVE_SQL}", slot_id
    )
    used = {r["place_no"] for r in found}
    place = 1
    while place in used:
        place += 1
    if capacity is not None and place > capacity:
        return None
    return place


def insert_booking(fields: dict[str, Any]) -> Unit[tuple[int, str] | None]:
    """Insert with a fresh booking number; None when an active-booking index refused
    the row (the place or the patient is taken in this slot)."""
    columns = ", ".join(["booking_no", *fields])
    marks = ", ".join("?" * (len(fields) + 1))
    for _ in range(BOOKING_NO_ATTEMPTS):
        booking_no = new_booking_no()
        new_id = yield val(
            f"INSERT INTO bookings ({columns}) VALUES ({marks}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            booking_no,
            *fields.values(),
        )
        if new_id is not None:
            return new_id, booking_no
        clash = yield val("SELECT 1 FROM bookings WHERE booking_no = ?", booking_no)
        if not clash:
            return None
    raise RuntimeError("could not draw an unused booking number")


def release_place(slot_id: int, at: int) -> Unit[int]:
    """Give a place back to its slot at epoch ``at``; the new booked count."""
    booked = yield val(
        "UPDATE slots SET booked = booked - 1, updated_at = ? WHERE id = ? AND booked > 0 "
        "RETURNING booked",
        at,
        slot_id,
    )
    return booked if booked is not None else 0


def take_place(slot_id: int, at: int, *, guarded: bool = True) -> Unit[int | None]:
    """The capacity guard: one more place if one is free (the slot changed at epoch
    ``at``); the new booked count or None."""
    if guarded:
        return (
            yield val(
                "UPDATE slots SET booked = booked + 1, updated_at = ? "
                "WHERE id = ? AND booked < capacity RETURNING booked",
                at,
                slot_id,
            )
        )
    # test-only negative control: the capacity was checked before the transaction
    return (
        yield val(
            "UPDATE slots SET booked = booked + 1, updated_at = ? WHERE id = ? RETURNING booked",
            at,
            slot_id,
        )
    )


def waiting_counts(
    patient_id: int, department_id: int, day: str, exclude_session: int
) -> Unit[tuple[int, int]]:
    """The patient's waitlist entries still waiting (候补), as the limits count them:
    (those for ``department_id`` on ``day``, all); ``exclude_session``'s not counted (a
    booking in a session the patient waits for ends that entry)."""
    row = yield one(
        "SELECT coalesce(sum(CASE WHEN department_id = ? AND day = ? THEN 1 ELSE 0 END), 0) "
        "AS same_day, count(*) AS live FROM waitlist WHERE patient_id = ? "
        "AND status = 'waiting' AND session_id <> ?",
        department_id,
        day,
        patient_id,
        exclude_session,
    )
    return (row["same_day"], row["live"]) if row is not None else (0, 0)
