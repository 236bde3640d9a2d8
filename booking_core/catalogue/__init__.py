"""Hospitals, departments and doctors (医院、科室、医生).

Doors import this package, never its modules: ``from booking_core import catalogue``."""

from .commands import UpsertDepartment, UpsertDoctor, UpsertHospital
from .model import Department, Doctor, Hospital
from .queries import (
    FUZZY_CUTOFF,
    MAX_MATCHES,
    DoctorCard,
    catalogue,
    department_with_id,
    departments,
    doctor,
    doctor_cards,
    doctor_with_id,
    doctors,
    find_doctors,
    hospital,
    hospital_departments,
    hospital_doctors,
    hospital_timezone,
    hospital_with_id,
    rank,
    visible_hospitals,
)

__all__ = [
    "FUZZY_CUTOFF",
    "MAX_MATCHES",
    "Department",
    "Doctor",
    "DoctorCard",
    "Hospital",
    "UpsertDepartment",
    "UpsertDoctor",
    "UpsertHospital",
    "catalogue",
    "department_with_id",
    "departments",
    "doctor",
    "doctor_cards",
    "doctor_with_id",
    "doctors",
    "find_doctors",
    "hospital",
    "hospital_departments",
    "hospital_doctors",
    "hospital_timezone",
    "hospital_with_id",
    "rank",
    "visible_hospitals",
]
