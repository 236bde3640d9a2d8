"""Patient registration (实名注册) and revealing a masked field (audited)."""

from __future__ import annotations

from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..events.model import PatientRegistered
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import InvalidIdNumber, InvalidInput, NotFound, PatientExists
from ..kernel.identity import (
    mask_id_number,
    mask_phone,
    new_card_no,
    normalize_id_number,
    normalize_phone,
)
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, execute, one, rows, val
from ..rules.model import RuleKey
from ..rules.repo import cached_rules
from .commands import (
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
    REVEALABLE,
    ChangePatientPhone,
    FillPatientKeys,
    RegisterPatient,
    RevealCaller,
    RevealPatient,
)
from .model import Patient
from .names import birth_year_of, clean_name, name_keys
from .queries import reveal_patient as read_revealed
from .repo import PATIENT_COLUMNS, patient_from


def register_patient(tx: Tx, cmd: RegisterPatient, deps: Deps) -> Unit[Patient]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    rules = yield from cached_rules(deps.cache, hospital.id)
    name = clean_name(cmd.name or "")  # 張三 is registered as 张三
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
        "phone_enc, phone_index, phone_masked, name_keys, birth_year, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        hospital.id,
        name,
        card_no,
        c.encrypt(id_number, context="id_number") if id_number else None,
        id_index,
        id_number[-4:] if id_number else "",
        c.encrypt(phone, context="phone") if phone else None,
        c.blind_index(phone, context="phone") if phone else None,
        mask_phone(phone) if phone else "",
        name_keys(name),
        birth_year_of(id_number) if id_number else None,
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


def change_patient_phone(tx: Tx, cmd: ChangePatientPhone, deps: Deps) -> Unit[Patient]:
    """The patient's phone replaced (its blind index and mask with it); the reason and the
    numbers before and after, masked, in the audit log."""
    reason = " ".join((cmd.reason or "").split())
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput("reason", f"1 to {MAX_REASON_LENGTH} characters")
    row = yield one(
        "SELECT id, hospital_id, phone_masked, phone_index FROM patients WHERE id = ?",
        cmd.patient_id,
        lock=True,
    )
    if row is None:
        raise NotFound("patient", cmd.patient_id)
    tenancy.check(cmd.actor, row["hospital_id"], "patient", cmd.patient_id)
    phone = normalize_phone(cmd.phone or "")
    c = deps.cipher
    index = c.blind_index(phone, context="phone")
    if index == row["phone_index"]:
        raise InvalidInput("phone", "the same number as now")
    yield execute(
        "UPDATE patients SET phone_enc = ?, phone_index = ?, phone_masked = ?, updated_at = ? "
        "WHERE id = ?",
        c.encrypt(phone, context="phone"),
        index,
        mask_phone(phone),
        tx.epoch,
        cmd.patient_id,
    )
    tx.audit(
        cmd.actor,
        AuditAction.PATIENT_PHONE_CHANGE,
        "patient",
        cmd.patient_id,
        hospital_id=row["hospital_id"],
        before={"phone": row["phone_masked"] or None},
        after={"phone": mask_phone(phone), "reason": reason},
    )
    changed = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", cmd.patient_id)
    return patient_from(changed)


def reveal_caller(tx: Tx, cmd: RevealCaller, deps: Deps) -> Unit[str]:
    """The clear calling number of a transferred call of the actor's hospital ("" when the
    carrier gave none); NotFound for another hospital's call or one never transferred."""
    row = yield one(
        "SELECT hospital_id, caller_enc, transferred_at FROM calls WHERE call_sid = ?",
        cmd.call_sid,
    )
    if row is None or row["transferred_at"] is None:
        raise NotFound("call", cmd.call_sid)
    tenancy.check(cmd.actor, row["hospital_id"], "call", cmd.call_sid)
    caller = deps.cipher.decrypt(row["caller_enc"], context="phone") if row["caller_enc"] else ""
    tx.audit(
        cmd.actor,
        AuditAction.CALL_CALLER_REVEAL,
        "call",
        cmd.call_sid,
        hospital_id=row["hospital_id"],
        after={"caller": mask_phone(caller) if caller else None, "channel": str(cmd.actor.channel)},
    )
    return caller


def fill_patient_keys(tx: Tx, cmd: FillPatientKeys, deps: Deps) -> Unit[int]:
    """Pinyin keys and birth year for patients registered before schema version 18."""
    found = yield rows(
        "SELECT id, name, id_number_enc FROM patients WHERE name_keys IS NULL ORDER BY id LIMIT ?",
        max(1, min(cmd.limit, 1000)),
    )
    for r in found:
        year = None
        if r["id_number_enc"]:
            try:
                id_number = deps.cipher.decrypt(r["id_number_enc"], context="id_number")
                year = birth_year_of(normalize_id_number(id_number))
            except InvalidIdNumber:
                year = None
        yield execute(
            "UPDATE patients SET name_keys = ?, birth_year = ? WHERE id = ?",
            name_keys(r["name"]),
            year,
            r["id"],
        )
    return len(found)


HANDLERS = handler_table(
    on(RegisterPatient, register_patient),
    on(RevealPatient, reveal_patient),
    on(ChangePatientPhone, change_patient_phone),
    on(RevealCaller, reveal_caller),
    on(FillPatientKeys, fill_patient_keys),
)
