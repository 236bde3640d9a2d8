"""A checked ban and its insertion, shared by every way a ban is added (one by one, a
file, the HIS's list, the no-show rule, the credit ladder): :func:`check_ban`, then
:func:`insert_ban`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from ..catalogue.repo import hospital_by_id, zone
from ..events.audit import AuditAction
from ..events.model import BanLifted, PatientBlacklisted
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import InvalidInput, NotFound
from ..kernel.unit import Row, Tx, Unit, execute, one, val
from ..rules.checks import at_local
from .commands import AddToBlacklist
from .model import BanSource


@dataclass(frozen=True)
class PlannedBan:
    """A ban checked and ready to insert (:func:`check_ban`, then :func:`insert_ban`)."""

    patient_id: int
    patient_hospital_id: int
    hospital_id: int | None  # None: platform-wide
    reason: str
    source: BanSource
    ends_at: datetime
    strike: int | None = None  # the credit ladder's strike that gave it (信用)


def check_ban(tx: Tx, cmd: AddToBlacklist) -> Unit[PlannedBan]:
    """Every check of :class:`AddToBlacklist`, writing nothing: a :class:`PlannedBan`."""
    patient = yield one("SELECT id, hospital_id FROM patients WHERE id = ?", cmd.patient_id)
    if patient is None:
        raise NotFound("patient", cmd.patient_id)
    tenancy.check(cmd.actor, patient["hospital_id"], "patient", cmd.patient_id)
    if cmd.platform_wide:  # a platform-wide ban is the platform's row
        tenancy.check(cmd.actor, None, "patient", cmd.patient_id, forbidden="platform_wide_ban")
    if cmd.source not in (BanSource.ADMIN, BanSource.HIS):
        raise InvalidInput("source", "admin or his")
    reason = cmd.reason.strip()
    if not reason:
        raise InvalidInput("reason", "say why")
    hospital = yield from hospital_by_id(patient["hospital_id"])
    ends_at = at_local(cmd.until + timedelta(days=1), time(0, 0), zone(hospital))
    if ends_at <= tx.now:
        raise InvalidInput("until", "the ban would already be over")
    return PlannedBan(
        patient_id=cmd.patient_id,
        patient_hospital_id=patient["hospital_id"],
        hospital_id=None if cmd.platform_wide else patient["hospital_id"],
        reason=reason,
        source=BanSource(cmd.source),
        ends_at=ends_at,
    )


def same_ban_exists(tx: Tx, ban: PlannedBan) -> Unit[bool]:
    """Whether this very ban (patient, scope, last day) is on the list and not lifted."""
    found = yield val(
        "SELECT count(*) FROM blacklist WHERE patient_id = ? AND ends_at = ? "
        "AND lifted_at IS NULL AND " + ("hospital_id IS NULL" if ban.hospital_id is None
        else "hospital_id = ?"),
        ban.patient_id,
        int(ban.ends_at.timestamp()),
        *(() if ban.hospital_id is None else (ban.hospital_id,)),
    )  # fmt: skip
    return bool(found)


def insert_ban(tx: Tx, ban: PlannedBan, actor: Actor) -> Unit[int]:
    """The checked ban on the list, with its event and audit row. Returns its id."""
    entry_id = yield val(
        "INSERT INTO blacklist (hospital_id, patient_id, reason, source, starts_at, ends_at, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        ban.hospital_id,
        ban.patient_id,
        ban.reason,
        str(ban.source),
        tx.epoch,
        int(ban.ends_at.timestamp()),
        actor.label,
    )
    blacklisted = PatientBlacklisted(
        hospital_id=ban.patient_hospital_id,
        entry_id=entry_id,
        patient_id=ban.patient_id,
        until=ban.ends_at,
        reason=ban.reason,
        source=ban.source,
        strike=ban.strike,
    )
    tx.emit(blacklisted)
    tx.audit(
        actor,
        AuditAction.PATIENT_BLACKLISTED,
        "patient",
        ban.patient_id,
        hospital_id=ban.patient_hospital_id,
        after=blacklisted.payload(),
    )
    return entry_id


def lift_entry(tx: Tx, row: Row, patient_hospital_id: int, actor: Actor) -> Unit[bool]:
    """Lift the blacklist entry ``row`` (its event and audit row); False: lifted already."""
    if row["lifted_at"] is not None:
        return False
    yield execute(
        "UPDATE blacklist SET lifted_at = ?, lifted_by = ? WHERE id = ?",
        tx.epoch,
        actor.label,
        row["id"],
    )
    lifted = BanLifted(
        hospital_id=patient_hospital_id, entry_id=row["id"], patient_id=row["patient_id"]
    )
    tx.emit(lifted)
    tx.audit(
        actor,
        AuditAction.BAN_LIFTED,
        "patient",
        row["patient_id"],
        hospital_id=patient_hospital_id,
        after=lifted.payload(),
    )
    return True
