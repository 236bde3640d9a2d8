"""Real-name registration, search, reveal and patient cards (实名、就诊卡).

Doors import this package, never its modules: ``from booking_core import patients``."""

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
from .names import COMPOUND_SURNAMES, clean_name, fold_name, name_keys, tell_apart
from .queries import (
    SEARCH_KINDS,
    SEARCH_ROWS,
    find_patients,
    find_patients_page,
    get_patient,
    patient_by_card,
    patient_hospital,
    reveal_patient,
    search_kind,
    search_patients,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "MAX_NAME_LENGTH",
    "MAX_REASON_LENGTH",
    "REVEALABLE",
    "SEARCH_KINDS",
    "SEARCH_ROWS",
    "ChangePatientPhone",
    "FillPatientKeys",
    "Patient",
    "RegisterPatient",
    "RevealCaller",
    "RevealPatient",
    "clean_name",
    "find_patients",
    "find_patients_page",
    "fold_name",
    "get_patient",
    "name_keys",
    "patient_by_card",
    "patient_hospital",
    "reveal_patient",
    "search_kind",
    "search_patients",
    "tell_apart",
]
