"""Background sweeps: expired holds, no-shows (爽约) and the blacklist rule, old audit rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..commands import ExpireHolds, PurgeAudit, SweepNoShows
from ..domain import CancelReason
from ..repo.bookings import still, view_by_id
from ..repo.patients import active_ban, patient_by_id
from ..rules import RuleKey, ban_end
from ..store.base import Query, Tx, execute, rows, to_epoch, val
from . import Deps
from .booking import booking_payload
from .changes import cancel_one

Gen = Generator[Query, Any, Any]


def expire_holds(tx: Tx, cmd: ExpireHolds, deps: Deps) -> Gen:
    found = yield rows(
        "SELECT * FROM bookings WHERE status = 'held' AND hold_expires_at <= ? "
        "ORDER BY hold_expires_at LIMIT ?",
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


def sweep_no_shows(tx: Tx, cmd: SweepNoShows, deps: Deps) -> Gen:
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
        new_status = "no_show" if booking.status == "confirmed" else "completed"
        yield execute(
            "UPDATE bookings SET status = ?, updated_at = ? WHERE id = ?",
            new_status,
            tx.epoch,
            booking.id,
        )
        view = yield from view_by_id(booking.id)
        tx.emit(
            f"booking.{new_status}",
            hospital_id=booking.hospital_id,
            key=booking.booking_no,
            payload=booking_payload(view),
        )
        tx.audit(
            cmd.actor,
            f"booking.{new_status}",
            "booking",
            booking.booking_no,
            hospital_id=booking.hospital_id,
            before={"status": str(booking.status)},
            after={"status": new_status},
        )
        if new_status == "no_show":
            no_shows[(booking.patient_id, booking.hospital_id)] += 1
        else:
            completed += 1
    banned = 0
    for patient_id, hospital_id in no_shows:
        if (yield from apply_no_show_rule(tx, patient_id, hospital_id, cmd, deps)):
            banned += 1
    return sum(no_shows.values()), completed, banned


def apply_no_show_rule(
    tx: Tx, patient_id: int, hospital_id: int, cmd: SweepNoShows, deps: Deps
) -> Gen:
    """N no-shows within the period put the patient on this hospital's blacklist.

    The period is counted back from the end of the latest missed session, not from
    the sweep, so a sweep that runs late (or after an outage) bans exactly as an
    on-time one would have."""
    rules = yield from deps.rules.get(hospital_id)
    threshold = rules.limit(RuleKey.NO_SHOW_BLACKLIST)
    if not threshold:
        return False
    period = rules.rule(RuleKey.NO_SHOW_BLACKLIST).period or timedelta(days=90)
    missed = (
        "FROM bookings b JOIN sessions se ON se.id = b.session_id "
        "WHERE b.patient_id = ? AND b.hospital_id = ? AND b.status = 'no_show'"
    )
    latest = yield val(f"SELECT max(se.ends_at) {missed}", patient_id, hospital_id)
    count = yield val(
        f"SELECT count(*) {missed} AND se.ends_at >= ?",
        patient_id,
        hospital_id,
        latest - int(period.total_seconds()),
    )
    if count < threshold:
        return False
    yield from patient_by_id(patient_id, lock=True)  # two engines' sweeps: one ban, not two
    if (yield from active_ban(patient_id, hospital_id, tx.epoch)) is not None:
        return False
    tz_name = yield val("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
    ends_at = ban_end(tx.now, rules, ZoneInfo(tz_name))
    reason = f"{count} no-shows within {period.days} days"
    entry_id = yield val(
        "INSERT INTO blacklist (hospital_id, patient_id, reason, source, starts_at, ends_at, "
        "created_by) VALUES (?, ?, ?, 'no_show', ?, ?, ?) RETURNING id",
        hospital_id,
        patient_id,
        reason,
        tx.epoch,
        to_epoch(ends_at),
        cmd.actor.label,
    )
    payload = {
        "entry_id": entry_id,
        "patient_id": patient_id,
        "until": ends_at.isoformat(),
        "reason": reason,
        "source": "no_show",
    }
    tx.emit("patient.blacklisted", hospital_id=hospital_id, key=str(patient_id), payload=payload)
    tx.audit(
        cmd.actor, "blacklist.add", "patient", patient_id, hospital_id=hospital_id, after=payload
    )
    return True


LOGIN_ATTEMPTS_KEEP_DAYS = 30  # the lockout looks back a day; each attempt is audited anyway


def purge_audit(tx: Tx, cmd: PurgeAudit, deps: Deps) -> Gen:
    """Audit records are kept a year (configurable), then deleted; the console's log-in
    attempts (what the lockout counts) a month. Returns the audit records deleted."""
    cutoff = to_epoch(tx.now - timedelta(days=cmd.older_than_days))
    attempts_cutoff = to_epoch(tx.now - timedelta(days=LOGIN_ATTEMPTS_KEEP_DAYS))
    yield execute("DELETE FROM login_attempts WHERE at < ?", attempts_cutoff)
    return (yield execute("DELETE FROM audit WHERE at < ?", cutoff))
