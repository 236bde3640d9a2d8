"""Reads of bans (黑名单): a patient's, the back office's list, and patients found with
the end of their longest ban (the phone line's look-up)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.pii import Cipher
from ..kernel.unit import MAX_ROWS, Tx, Unit, from_epoch, rows
from ..patients.model import Patient
from ..patients.queries import find_patients
from .model import BanSource, BlacklistEntry
from .repo import blacklist_from


def patients_with_bans(
    tx: Tx, actor: Actor, cipher: Cipher, *, hospital_code: str, **by: str
) -> Unit[list[tuple[Patient, datetime | None]]]:
    """Patients found by phone, card or ID number (as :func:`queries.find_patients`), each
    with the end of its longest active ban or None: one read for the phone line's look-up."""
    found = yield from find_patients(tx, actor, cipher, hospital_code=hospital_code, **by)
    out: list[tuple[Patient, datetime | None]] = []
    for patient in found:
        bans = yield from list_blacklist(tx, actor, patient_id=patient.id)
        out.append((patient, max((b.ends_at for b in bans), default=None)))
    return out


# --- blacklist (黑名单) ----------------------------------------------------------------


def blacklist_rows(tx: Tx, actor: Actor, *, active_only: bool = True) -> Unit[list[dict[str, Any]]]:
    """Blacklist entries with the patient's name and card (the console masks the name)."""
    where, args = tenancy.scope(actor, "p.hospital_id")
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


def list_blacklist(
    tx: Tx,
    actor: Actor,
    *,
    patient_id: int | None = None,
    active_only: bool = True,
    after: int | None = None,
    limit: int = MAX_ROWS,
    source: BanSource | None = None,
) -> Unit[list[BlacklistEntry]]:
    """Bans by id (of one ``source`` if given); ``after`` the id of the last one of the page
    before."""
    where, args = tenancy.scope(actor, "bl.hospital_id")
    if where:  # the hospital's own bans, and the platform-wide bans of its patients
        patients, of_patients = tenancy.scope(actor, "p.hospital_id")
        where = [f"({where[0]} OR (bl.hospital_id IS NULL AND {patients[0]}))"]
        args += of_patients
    if patient_id is not None:
        where.append("bl.patient_id = ?")
        args.append(patient_id)
    if active_only:
        where.append("bl.lifted_at IS NULL AND bl.ends_at > ?")
        args.append(tx.epoch)
    if after is not None:
        where.append("bl.id > ?")
        args.append(after)
    if source is not None:
        where.append("bl.source = ?")
        args.append(str(source))
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        "SELECT bl.* FROM blacklist bl JOIN patients p ON p.id = bl.patient_id"
        + clause
        + " ORDER BY bl.id LIMIT ?",
        *args,
        min(limit, MAX_ROWS),
    )
    entries: list[BlacklistEntry] = [blacklist_from(r) for r in found]
    return entries
