"""Patients (实名制患者) and their blacklist entries (黑名单)."""

from __future__ import annotations

from typing import Any

from ..kernel.errors import NotFound
from ..kernel.unit import Row, Unit, one
from .model import Patient

PATIENT_COLUMNS = (
    "id, hospital_id, name, card_no, id_last4, phone_masked, balance, sms_opt_out, birth_year"
)


def patient_from(row: Row) -> Patient:
    return Patient(
        id=row["id"],
        hospital_id=row["hospital_id"],
        name=row["name"],
        card_no=row["card_no"],
        id_last4=row["id_last4"],
        phone_masked=row["phone_masked"],
        balance=row["balance"],
        sms_opt_out=bool(row["sms_opt_out"]),
        birth_year=row["birth_year"],
    )


def patient_by_id(patient_id: int, *, lock: bool = False) -> Unit[Any]:
    """The patient row (with ``phone_index``); ``lock`` serialises one patient's bookings
    on PostgreSQL (their limits are counted inside the transaction)."""
    row = yield one(
        f"SELECT {PATIENT_COLUMNS}, phone_index FROM patients WHERE id = ?", patient_id, lock=lock
    )
    if row is None:
        raise NotFound("patient", patient_id)
    return row
