"""Patient registration (实名注册) and prepaid balance top-ups."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..commands import RegisterPatient, TopUp
from ..errors import IdempotencyKeyReused, InvalidInput, NotFound, PatientExists
from ..identity import mask_id_number, mask_phone, new_card_no, normalize_id_number, normalize_phone
from ..repo.ledger import movement_by_reference, record_movement
from ..repo.patients import PATIENT_COLUMNS, patient_from
from ..repo.schedule import hospital_by_code
from ..rules import RuleKey
from ..store.base import Query, Tx, execute, one, val
from . import Deps

Gen = Generator[Query, Any, Any]

MAX_NAME_LENGTH = 30


def register_patient(tx: Tx, cmd: RegisterPatient, deps: Deps) -> Gen:
    hospital = yield from hospital_by_code(cmd.hospital_code)
    if not cmd.actor.may_access(hospital.id):
        raise NotFound("hospital", cmd.hospital_code)
    rules = yield from deps.rules.get(hospital.id)
    name = (cmd.name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"1 to {MAX_NAME_LENGTH} characters")
    real_name = rules.on(RuleKey.REAL_NAME)
    if real_name and not cmd.id_number:
        raise InvalidInput("id_number", "required by the real-name rule")
    if real_name and not cmd.phone:
        raise InvalidInput("phone", "required by the real-name rule")
    id_number = normalize_id_number(cmd.id_number) if cmd.id_number else None
    phone = normalize_phone(cmd.phone) if cmd.phone else None
    c = deps.cipher
    id_index = c.blind_index(id_number, context="id_number") if id_number else None
    if id_index is not None:
        existing = yield one(
            "SELECT id, card_no FROM patients WHERE hospital_id = ? AND id_index = ?",
            hospital.id,
            id_index,
        )
        if existing is not None:
            raise PatientExists(patient_id=existing["id"], card_no=existing["card_no"])
    card_no = (cmd.card_no or "").strip() or None
    if card_no is not None:
        if not card_no.isdigit() or not 4 <= len(card_no) <= 20:
            raise InvalidInput("card_no", "4 to 20 digits")
        taken = yield one(
            "SELECT id FROM patients WHERE hospital_id = ? AND card_no = ?", hospital.id, card_no
        )
        if taken is not None:
            raise PatientExists(patient_id=taken["id"], card_no=card_no)
    else:
        card_no = new_card_no()
        while (
            yield val(
                "SELECT 1 FROM patients WHERE hospital_id = ? AND card_no = ?", hospital.id, card_no
            )
        ):
            card_no = new_card_no()
    patient_id = yield val(
        "INSERT INTO patients (hospital_id, name, card_no, id_number_enc, id_index, id_last4, "
        "phone_enc, phone_index, phone_masked, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        hospital.id,
        name,
        card_no,
        c.encrypt(id_number, context="id_number") if id_number else None,
        id_index,
        id_number[-4:] if id_number else "",
        c.encrypt(phone, context="phone") if phone else None,
        c.blind_index(phone, context="phone") if phone else None,
        mask_phone(phone) if phone else "",
        tx.epoch,
        tx.epoch,
    )
    masked = {
        "name": name,
        "card_no": card_no,
        "id_number": mask_id_number(id_number) if id_number else None,
        "phone": mask_phone(phone) if phone else None,
    }
    tx.emit(
        "patient.registered",
        hospital_id=hospital.id,
        key=str(patient_id),
        payload={"patient_id": patient_id, "card_no": card_no},
    )
    tx.audit(
        cmd.actor, "patient.register", "patient", patient_id, hospital_id=hospital.id, after=masked
    )
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", patient_id)
    return patient_from(row)


def top_up(tx: Tx, cmd: TopUp, deps: Deps) -> Gen:
    """Credit the balance. The same top-up sent again under its ``reference`` (same
    patient, amount and method) credits nothing and answers as the first did: the patient
    as they stand; the reference reused for a different top-up is refused."""
    if cmd.amount <= 0:
        raise InvalidInput("amount", "a positive number of fen")
    row = yield one(
        f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", cmd.patient_id, lock=True
    )
    if row is None or not cmd.actor.may_access(row["hospital_id"]):
        raise NotFound("patient", cmd.patient_id)
    if cmd.reference is not None:
        # after the patient's lock: a retry that waited for the first sees its row
        prior = yield from movement_by_reference(row["hospital_id"], "top_up", cmd.reference)
        if prior is not None:
            return (yield from _top_up_replayed(cmd, prior))
    recorded = yield from record_movement(
        tx,
        hospital_id=row["hospital_id"],
        patient_id=cmd.patient_id,
        booking_id=None,
        kind="top_up",
        method=cmd.method,
        amount=cmd.amount,
        reference=cmd.reference,
        actor=cmd.actor,
    )
    if recorded is None:  # another top-up under this reference committed meanwhile
        assert cmd.reference is not None
        prior = yield from movement_by_reference(row["hospital_id"], "top_up", cmd.reference)
        return (yield from _top_up_replayed(cmd, prior))
    yield execute(
        "UPDATE patients SET balance = balance + ?, updated_at = ? WHERE id = ?",
        cmd.amount,
        tx.epoch,
        cmd.patient_id,
    )
    tx.audit(
        cmd.actor,
        "patient.top_up",
        "patient",
        cmd.patient_id,
        hospital_id=row["hospital_id"],
        before={"balance": row["balance"]},
        after={"balance": row["balance"] + cmd.amount},
    )
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", cmd.patient_id)
    return patient_from(row)


def _top_up_replayed(cmd: TopUp, prior) -> Gen:
    """Already applied: the patient as they stand, if ``prior`` is this very top-up."""
    same = (prior["patient_id"], prior["amount"], prior["method"]) == (
        cmd.patient_id,
        cmd.amount,
        cmd.method,
    )
    if not same:
        raise IdempotencyKeyReused(key=cmd.reference or "")
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", cmd.patient_id)
    return patient_from(row)
