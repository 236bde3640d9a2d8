"""Background sweeps of bookings: expired holds released, no-shows (爽约) and completed
visits marked after the session ends (then the credit ladder, :mod:`..blacklist.credit`,
or the fixed no-show rule when the ladder is off)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from ..blacklist.credit import StrikeKind, add_strike, ladder_on
from ..blacklist.handlers import apply_no_show_rule
from ..events.audit import AuditAction
from ..events.model import BookingCompleted, BookingNoShow
from ..kernel.deps import Deps
from ..kernel.unit import Tx, Unit, execute, from_epoch, rows, val
from ..rules.repo import cached_rules
from .admission import booking_fields
from .changes import cancel_one
from .commands import ExpireHolds, SweepNoShows
from .draws import open_freed_wave
from .model import BookingStatus, CancelReason
from .repo import still, view_by_id


def expire_holds(tx: Tx, cmd: ExpireHolds, deps: Deps) -> Unit[int]:
    found = yield rows(
        "SELECT * FROM bookings WHERE status = 'held' AND hold_expires_at <= ? "
        "ORDER BY hold_expires_at, id LIMIT ?",  # in order: 候补 offers follow it
        tx.epoch,
        cmd.limit,
    )
    expired = 0
    freed: dict[int, tuple[int, date]] = {}  # session → (hospital, day)
    for row in found:  # another engine's sweep or the patient may have got there first
        booking = yield from still(row["id"], "('held')")
        if booking is not None:
            yield from cancel_one(tx, booking, cmd.actor, CancelReason.HOLD_EXPIRED)
            freed[booking.session_id] = (booking.hospital_id, booking.day)
            expired += 1
    # the second wave (公平放号): places freed on a release day are released by a draw too.
    # Last in the sweep: whatever a waiting list takes of the freed places first is not free
    # when the draw runs; the draw serves what is left.
    for session_id, (hospital_id, day) in freed.items():
        rules = yield from cached_rules(deps.cache, hospital_id)
        zone = yield val("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
        yield from open_freed_wave(tx, hospital_id, session_id, day, rules, ZoneInfo(zone))
    return expired


def sweep_no_shows(tx: Tx, cmd: SweepNoShows, deps: Deps) -> Unit[tuple[int, int, int]]:
    """Returns (no_shows, completed, newly_blacklisted)."""
    found = yield rows(
        "SELECT b.*, se.ends_at AS session_ends_at FROM bookings b "
        "JOIN sessions se ON se.id = b.session_id "
        "WHERE b.status IN ('confirmed', 'checked_in') AND se.ends_at <= ? "
        "ORDER BY se.ends_at, b.id LIMIT ?",
        tx.epoch,
        cmd.limit,
    )
    no_shows: Counter[tuple[int, int]] = Counter()
    missed: list[tuple[int, int, int, int]] = []  # patient, hospital, booking, session end
    completed = 0
    for row in found:
        booking = yield from still(row["id"], "('confirmed', 'checked_in')")
        if booking is None:  # another engine's sweep, or a late check-in, got there first
            continue
        new_status = (
            BookingStatus.NO_SHOW
            if booking.status is BookingStatus.CONFIRMED
            else BookingStatus.COMPLETED
        )
        yield execute(
            "UPDATE bookings SET status = ?, updated_at = ? WHERE id = ?",
            str(new_status),
            tx.epoch,
            booking.id,
        )
        view = yield from view_by_id(booking.id)
        swept = BookingNoShow if new_status is BookingStatus.NO_SHOW else BookingCompleted
        event = swept(**booking_fields(view))
        tx.emit(event)
        tx.audit(
            cmd.actor,
            AuditAction(event.topic),
            "booking",
            booking.booking_no,
            hospital_id=booking.hospital_id,
            before={"status": str(booking.status)},
            after={"status": str(new_status)},
        )
        if new_status is BookingStatus.NO_SHOW:
            no_shows[(booking.patient_id, booking.hospital_id)] += 1
            ends_at = row["session_ends_at"]
            missed.append((booking.patient_id, booking.hospital_id, booking.id, ends_at))
        else:
            completed += 1
    banned: set[int] = set()
    for patient_id, hospital_id, booking_id, ends_at in sorted(missed, key=lambda m: m[3]):
        strike = yield from add_strike(  # the credit ladder (信用), when it is on
            tx,
            patient_id=patient_id,
            hospital_id=hospital_id,
            kind=StrikeKind.NO_SHOW,
            booking_id=booking_id,
            at=from_epoch(ends_at),
            actor=cmd.actor,
            deps=deps,
        )
        if strike is not None and strike.ban_id is not None:
            banned.add(patient_id)
    for patient_id, hospital_id in no_shows:  # the fixed no-show ban, when the ladder is off
        if ladder_on((yield from cached_rules(deps.cache, hospital_id))):
            continue
        if (yield from apply_no_show_rule(tx, patient_id, hospital_id, cmd.actor, deps)):
            banned.add(patient_id)
    return sum(no_shows.values()), completed, len(banned)
