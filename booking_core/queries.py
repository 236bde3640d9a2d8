"""The read side: searches and look-ups run on read connections (never block writers)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .domain import Actor, BlacklistEntry, BookingView, SlotView
from .errors import NotFound
from .identity import normalize_id_number, normalize_phone
from .pii import Cipher
from .repo.bookings import VIEW_SQL, view_by_no, view_from
from .repo.patients import PATIENT_COLUMNS, blacklist_from, patient_from
from .repo.rules import stored_rules
from .repo.schedule import SLOT_VIEW_SQL, hospital_by_code, hospital_by_id, slot_view_from
from .rules import (
    Rule,
    RuleKey,
    RuleSet,
    SlotWindow,
    booking_cutoff,
    booking_window,
    release_instant,
    slot_window,
)
from .store.base import Query, Tx, from_epoch, one, rows, to_epoch

Gen = Generator[Query, Any, Any]

MAX_ROWS = 500


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


def search_slots(tx: Tx, q: SlotSearch, actor: Actor) -> Gen:
    """The slots asked for, each marked with its ``window`` at this instant (not yet
    released, open, closed) by the rules the booking itself is checked by; with
    ``bookable_only`` the others are left out. Every door lists slots through this."""
    hospital = yield from hospital_by_code(q.hospital_code)
    if not actor.may_access(hospital.id):
        raise NotFound("hospital", q.hospital_code)
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
    sql = (
        SLOT_VIEW_SQL
        + " WHERE "
        + " AND ".join(where)
        + " ORDER BY se.day, sl.start_time, doc.work_no LIMIT ?"
    )
    found = yield rows(sql, *args, min(q.limit, MAX_ROWS))
    views = [_marked(slot_view_from(r), r, tx.now, ruleset, tz) for r in found]
    if q.bookable_only:  # the SQL above is the same rule; this drops a sub-second edge
        views = [v for v in views if v.window == SlotWindow.OPEN]
    return views


def _marked(view: SlotView, row, now: datetime, ruleset: RuleSet, tz: ZoneInfo) -> SlotView:
    starts_at = from_epoch(row["session_starts_at"])
    assert starts_at is not None
    return replace(
        view,
        window=str(slot_window(now, view.day, starts_at, ruleset, tz)),
        opens_at=release_instant(view.day, ruleset, tz).astimezone(UTC),
        closes_at=booking_cutoff(starts_at, ruleset),
    )


def booking_window_of(tx: Tx, hospital_code: str, actor: Actor) -> Gen:
    """预约周期 and 放号 at a hospital now: the days open for booking and when the next
    opens (``rules.BookingWindow``), for a door to say how far ahead it lists."""
    hospital = yield from hospital_by_code(hospital_code)
    if not actor.may_access(hospital.id):
        raise NotFound("hospital", hospital_code)
    ruleset = RuleSet((yield from stored_rules(hospital.id)), hospital.id)
    return booking_window(tx.now, ruleset, ZoneInfo(hospital.timezone))


def slot_view(tx: Tx, slot_id: int, actor: Actor) -> Gen:
    row = yield one(SLOT_VIEW_SQL + " WHERE sl.id = ?", slot_id)
    if row is None:
        raise NotFound("slot", slot_id)
    hospital = yield from hospital_by_code(row["hospital_code"])
    if not actor.may_access(hospital.id):
        raise NotFound("slot", slot_id)
    return slot_view_from(row)


def find_patients(
    tx: Tx,
    actor: Actor,
    cipher: Cipher,
    *,
    hospital_code: str | None = None,
    phone: str | None = None,
    card_no: str | None = None,
    id_number: str | None = None,
) -> Gen:
    """Exact look-up by phone, card or ID number (phones and IDs through the blind index)."""
    where, args = [], []
    if hospital_code:
        hospital = yield from hospital_by_code(hospital_code)
        if not actor.may_access(hospital.id):
            raise NotFound("hospital", hospital_code)
        where.append("hospital_id = ?")
        args.append(hospital.id)
    elif actor.hospital_id is not None:
        where.append("hospital_id = ?")
        args.append(actor.hospital_id)
    if phone:
        where.append("phone_index = ?")
        args.append(cipher.blind_index(normalize_phone(phone), context="phone"))
    if card_no:
        where.append("card_no = ?")
        args.append(card_no.strip())
    if id_number:
        where.append("id_index = ?")
        args.append(cipher.blind_index(normalize_id_number(id_number), context="id_number"))
    if not (phone or card_no or id_number):
        return []
    found = yield rows(
        f"SELECT {PATIENT_COLUMNS} FROM patients WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
        *args,
        MAX_ROWS,
    )
    return [patient_from(r) for r in found]


def get_patient(tx: Tx, patient_id: int, actor: Actor) -> Gen:
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", patient_id)
    if row is None or not actor.may_access(row["hospital_id"]):
        raise NotFound("patient", patient_id)
    return patient_from(row)


def reveal_patient(tx: Tx, patient_id: int, actor: Actor, cipher: Cipher) -> Gen:
    """The clear ID number and phone (for a person allowed to see them; audit it)."""
    row = yield one("SELECT * FROM patients WHERE id = ?", patient_id)
    if row is None or not actor.may_access(row["hospital_id"]):
        raise NotFound("patient", patient_id)
    id_number = row["id_number_enc"] and cipher.decrypt(row["id_number_enc"], context="id_number")
    phone = row["phone_enc"] and cipher.decrypt(row["phone_enc"], context="phone")
    return {"id_number": id_number, "phone": phone}


def get_booking(tx: Tx, booking_no: str, actor: Actor) -> Gen:
    view: BookingView = yield from view_by_no(booking_no)
    if not actor.may_access(view.booking.hospital_id):
        raise NotFound("booking", booking_no)
    return view


def list_bookings(
    tx: Tx,
    actor: Actor,
    *,
    patient_id: int | None = None,
    day: date | None = None,
    session_id: int | None = None,
    hospital_code: str | None = None,
    limit: int = MAX_ROWS,
) -> Gen:
    where, args = [], []
    if actor.hospital_id is not None:
        where.append("b.hospital_id = ?")
        args.append(actor.hospital_id)
    if hospital_code:
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
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        VIEW_SQL + clause + " ORDER BY b.day, sl.start_time, b.id LIMIT ?",
        *args,
        min(limit, MAX_ROWS),
    )
    return [view_from(r) for r in found]


def list_blacklist(
    tx: Tx, actor: Actor, *, patient_id: int | None = None, active_only: bool = True
) -> Gen:
    where, args = [], []
    if actor.hospital_id is not None:
        where.append("(bl.hospital_id = ? OR (bl.hospital_id IS NULL AND p.hospital_id = ?))")
        args += [actor.hospital_id, actor.hospital_id]
    if patient_id is not None:
        where.append("bl.patient_id = ?")
        args.append(patient_id)
    if active_only:
        where.append("bl.lifted_at IS NULL AND bl.ends_at > ?")
        args.append(tx.epoch)
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        "SELECT bl.* FROM blacklist bl JOIN patients p ON p.id = bl.patient_id"
        + clause
        + " ORDER BY bl.id LIMIT ?",
        *args,
        MAX_ROWS,
    )
    entries: list[BlacklistEntry] = [blacklist_from(r) for r in found]
    return entries


def effective_rules(tx: Tx, hospital_code: str | None, actor: Actor) -> Gen:
    """(the winning record per key, the stored records) for a hospital or the platform."""
    hospital_id = None
    if hospital_code:
        hospital = yield from hospital_by_code(hospital_code)
        if not actor.may_access(hospital.id):
            raise NotFound("hospital", hospital_code)
        hospital_id = hospital.id
    records: list[Rule] = yield from stored_rules(hospital_id)
    return RuleSet(records, hospital_id), records


def token_by_hash(tx: Tx, token_hash: str) -> Gen:
    return (
        yield one(
            "SELECT id, name, role, hospital_id, revoked_at FROM api_tokens WHERE token_hash = ?",
            token_hash,
        )
    )


def hospital(tx: Tx, code: str) -> Gen:
    return (yield from hospital_by_code(code))


def hospital_with_id(tx: Tx, hospital_id: int) -> Gen:
    return (yield from hospital_by_id(hospital_id))
