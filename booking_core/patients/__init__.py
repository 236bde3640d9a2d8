"""Real-name registration, search, reveal and patient cards (实名、就诊卡).

Doors import this package, never its modules: ``from booking_core import patients``."""

from .commands import REVEALABLE, RegisterPatient, RevealPatient
from .model import Patient
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
    "REVEALABLE",
    "SEARCH_KINDS",
    "SEARCH_ROWS",
    "Patient",
    "RegisterPatient",
    "RevealPatient",
    "find_patients",
    "find_patients_page",
    "get_patient",
    "patient_by_card",
    "patient_hospital",
    "reveal_patient",
    "search_kind",
    "search_patients",
]
