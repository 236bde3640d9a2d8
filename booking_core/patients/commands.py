"""Commands about patients (实名制患者): register, reveal what is masked."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from .model import Patient

# --- patients ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterPatient(Command[Patient]):
    hospital_code: str
    name: str
    id_number: str | None
    phone: str | None
    card_no: str | None = None


REVEALABLE = ("id_number", "phone")


@dataclass(frozen=True, kw_only=True)
class RevealPatient(Command[dict[str, str]]):
    patient_id: int
    fields: tuple[str, ...] = REVEALABLE
