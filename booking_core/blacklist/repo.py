"""Ban rows (黑名单) and the active ban of a patient at a hospital."""

from __future__ import annotations

from ..kernel.unit import Row, Unit, from_epoch, one
from .model import BanSource, BlacklistEntry


def blacklist_from(row: Row) -> BlacklistEntry:
    return BlacklistEntry(
        id=row["id"],
        hospital_id=row["hospital_id"],
        patient_id=row["patient_id"],
        reason=row["reason"],
        source=BanSource(row["source"]),
        starts_at=from_epoch(row["starts_at"]),
        ends_at=from_epoch(row["ends_at"]),
        lifted_at=from_epoch(row["lifted_at"]),
    )


def active_ban(patient_id: int, hospital_id: int, now_epoch: int) -> Unit[BlacklistEntry | None]:
    """The ban that ends last among those in force now at this hospital (or platform-wide).

    A platform-wide ban follows the person (the resident ID's blind index) to the patient
    records they have at every other hospital."""
    in_force = "bl.lifted_at IS NULL AND bl.starts_at <= ? AND bl.ends_at > ?"
    row = yield one(
        "SELECT * FROM ("
        f"SELECT bl.* FROM blacklist bl WHERE bl.patient_id = ? AND {in_force} "
        "AND (bl.hospital_id = ? OR bl.hospital_id IS NULL) "
        "UNION ALL "
        "SELECT bl.* FROM blacklist bl JOIN patients o ON o.id = bl.patient_id "
        f"WHERE bl.hospital_id IS NULL AND {in_force} AND bl.patient_id <> ? "
        "AND o.id_index = (SELECT id_index FROM patients WHERE id = ?)"
        ") AS b ORDER BY ends_at DESC LIMIT 1",
        patient_id,
        now_epoch,
        now_epoch,
        hospital_id,
        now_epoch,
        now_epoch,
        patient_id,
        patient_id,
    )
    return None if row is None else blacklist_from(row)
