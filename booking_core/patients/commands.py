"""Commands about patients (实名制患者): register, reveal what is masked."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from .model import Patient

# --- patients ------------------------------------------------------------------------

MAX_NAME_LENGTH = 30


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


MAX_REASON_LENGTH = 200


@dataclass(frozen=True, kw_only=True)
class ChangePatientPhone(Command[Patient]):
    """A patient's phone changed at the desk (the caller's new number), with the reason
    (required): audited with the number before and after, masked."""

    patient_id: int
    phone: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RevealCaller(Command[str]):
    """The calling number of a call transferred to the agents, in clear (to pre-fill the
    registration form), for an operator of the call's hospital; the read is audited."""

    call_sid: str


FILL_BATCH = 200


@dataclass(frozen=True, kw_only=True)
class FillPatientKeys(Command[int]):
    """Fill the pinyin keys and birth year of up to ``limit`` patients registered before
    they were kept (schema version 18); answers how many were filled (0: none left)."""

    limit: int = FILL_BATCH
