"""Background sweeps of bookings: expired holds released, no-shows (爽约) and completed
visits marked after the session ends (then the no-show rule, :mod:`..blacklist`)."""

from __future__ import annotations

from collections import Counter

from ..blacklist.handlers import apply_no_show_rule
from ..events.audit import AuditAction
from ..events.model import BookingCompleted, BookingNoShow
from ..kernel.deps import Deps
from ..kernel.unit import Tx, Unit, execute, rows
from .admission import booking_fields
from .changes import cancel_one
from .commands import ExpireHolds, SweepNoShows
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
    for row in found:  # another engine's sweep or the patient may have got there first
        booking = yield from still(row["id"], "('held')")
        if booking is not None:
            yield from cancel_one(tx, booking, cmd.actor, CancelReason.HOLD_EXPIRED)
            expired += 1
    return expired


def sweep_no_shows(tx: Tx, cmd: SweepNoShows, deps: Deps) -> Unit[tuple[int, int, int]]:
    """Returns (no_shows, completed, newly_blacklisted)."""
    found = yield rows(
        "SELECT b.* FROM bookings b JOIN sessions se ON se.id = b.session_id "
        "WHERE b.status IN ('confirmed', 'checked_in') AND se.ends_at <= ? "
        "ORDER BY se.ends_at, b.id LIMIT ?",
        tx.epoch,
        cmd.limit,
    )
    no_shows: Counter[tuple[int, int]] = Counter()
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
        else:
            completed += 1
    banned = 0
    for patient_id, hospital_id in no_shows:
        if (yield from apply_no_show_rule(tx, patient_id, hospital_id, cmd.actor, deps)):
            banned += 1
    return sum(no_shows.values()), completed, banned
