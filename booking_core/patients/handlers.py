"""Patient registration (实名注册) and revealing a masked field (audited)."""

from __future__ import annotations

from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..events.model import PatientRegistered
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, PatientExists
from ..kernel.identity import (
    mask_id_number,
    mask_phone,
    new_card_no,
    normalize_id_number,
    normalize_phone,
)
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, one, val
from ..rules.model import RuleKey
from ..rules.repo import cached_rules
from .commands import REVEALABLE, RegisterPatient, RevealPatient
from .model import Patient
from .queries import reveal_patient as read_revealed
from .repo import PATIENT_COLUMNS, patient_from

MAX_NAME_LENGTH = 30


def register_patient(tx: Tx, cmd: RegisterPatient, deps: Deps) -> Unit[Patient]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    rules = yield from cached_rules(deps.cache, hospital.id)
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
    tx.emit(PatientRegistered(hospital_id=hospital.id, patient_id=patient_id, card_no=card_no))
    tx.audit(
        cmd.actor,
        AuditAction.PATIENT_REGISTERED,
        "patient",
        patient_id,
        hospital_id=hospital.id,
        after=masked,
    )
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", patient_id)
    return patient_from(row)


def reveal_patient(tx: Tx, cmd: RevealPatient, deps: Deps) -> Unit[dict[str, str]]:
    """The clear values of ``cmd.fields`` (NotFound for another hospital's patient)."""
    fields = tuple(dict.fromkeys(cmd.fields))
    if not fields or any(f not in REVEALABLE for f in fields):
        raise InvalidInput("fields", " | ".join(REVEALABLE))
    clear = yield from read_revealed(tx, cmd.patient_id, cmd.actor, deps.cipher)
    hospital_id = yield one("SELECT hospital_id FROM patients WHERE id = ?", cmd.patient_id)
    tx.audit(
        cmd.actor,
        AuditAction.PATIENT_REVEAL,
        "patient",
        cmd.patient_id,
        hospital_id=hospital_id["hospital_id"],
        after={"fields": list(fields), "channel": str(cmd.actor.channel)},
    )
    return {f: clear[f] or "" for f in fields}


HANDLERS = handler_table(
    on(RegisterPatient, register_patient),
    on(RevealPatient, reveal_patient),
)
