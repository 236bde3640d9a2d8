"""Reads of bans (黑名单): a patient's, the back office's list, and patients found with
the end of their longest ban (the phone line's look-up)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.pii import Cipher
from ..kernel.unit import MAX_ROWS, Tx, Unit, from_epoch, one, rows
from ..patients.model import Patient
from ..patients.queries import find_patients
from .appeals import appeal_from
from .model import BanSource, BlacklistEntry
from .repo import active_ban, blacklist_from


def patients_with_bans(
    tx: Tx, actor: Actor, cipher: Cipher, *, hospital_code: str, **by: str
) -> Unit[list[tuple[Patient, BlacklistEntry | None]]]:
    """Patients found by phone, card or ID number (as :func:`queries.find_patients`), each
    with the ban in force that ends last, the booking rule's (:func:`.repo.active_ban`:
    platform-wide bans of the same person too), or None: one read for the phone line's
    look-up."""
    found = yield from find_patients(tx, actor, cipher, hospital_code=hospital_code, **by)
    out: list[tuple[Patient, BlacklistEntry | None]] = []
    for patient in found:
        ban = yield from active_ban(patient.id, patient.hospital_id, tx.epoch)
        out.append((patient, ban))
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


# --- appeals (申诉) ---------------------------------------------------------------------


def list_appeals(
    tx: Tx, actor: Actor, *, status: str | None = "open", patient_id: int | None = None
) -> Unit[list[dict[str, Any]]]:
    """Appeals (open ones by default, oldest first) with the patient's name and card and the
    ban appealed against (the console masks the name)."""
    where, args = tenancy.scope(actor, "ap.hospital_id")
    if status is not None:
        where.append("ap.status = ?")
        args.append(status)
    if patient_id is not None:
        where.append("ap.patient_id = ?")
        args.append(patient_id)
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        "SELECT ap.*, p.name AS patient_name, p.card_no, h.code AS hospital_code, "
        "bl.reason AS ban_reason, bl.source AS ban_source, bl.ends_at AS ban_ends_at, "
        "bl.lifted_at AS ban_lifted_at, bl.hospital_id AS ban_hospital_id "
        "FROM appeals ap JOIN patients p ON p.id = ap.patient_id "
        "JOIN hospitals h ON h.id = ap.hospital_id JOIN blacklist bl ON bl.id = ap.ban_id"
        + clause
        + " ORDER BY ap.filed_at, ap.id LIMIT ?",
        *args,
        MAX_ROWS,
    )
    return [
        {
            **asdict(appeal_from(r)),
            "patient_name": r["patient_name"],
            "card_no": r["card_no"],
            "hospital": r["hospital_code"],
            "ban_reason": r["ban_reason"],
            "ban_source": r["ban_source"],
            "ban_ends_at": from_epoch(r["ban_ends_at"]),
            "ban_lifted_at": from_epoch(r["ban_lifted_at"]),
            "platform_wide": r["ban_hospital_id"] is None,
        }
        for r in found
    ]


def credit_strikes(tx: Tx, actor: Actor, patient_id: int) -> Unit[list[dict[str, Any]]]:
    """A patient's strikes on the credit ladder (信用), newest first: kind, instant, step."""
    patient = yield one("SELECT hospital_id FROM patients WHERE id = ?", patient_id)
    if patient is None:
        raise NotFound("patient", patient_id)
    tenancy.check(actor, patient["hospital_id"], "patient", patient_id)
    found = yield rows(
        "SELECT kind, at, step, action, ban_id FROM credit_strikes WHERE patient_id = ? "
        "ORDER BY at DESC, id DESC LIMIT ?",
        patient_id,
        MAX_ROWS,
    )
    return [{**dict(r), "at": from_epoch(r["at"])} for r in found]
