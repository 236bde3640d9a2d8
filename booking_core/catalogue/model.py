"""Hospitals, departments and doctors (医院、科室、医生)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hospital:
    id: int
    code: str
    name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Department:
    id: int
    hospital_id: int
    code: str  # 3 digits, typed on a keypad
    name: str
    aliases: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, slots=True)
class Doctor:
    id: int
    hospital_id: int
    department_id: int
    work_no: str  # 工号, 5 digits
    name: str
    title: str
    specialty: str
    fee: int  # 挂号费, fen
    active: bool = True
