"""Commands that change a hospital's catalogue: the hospital, its departments and doctors."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from .model import Department, Doctor, Hospital

# --- schedules (排班) ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UpsertHospital(Command[tuple[Hospital, bool]]):
    code: str
    name: str
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, kw_only=True)
class UpsertDepartment(Command[tuple[Department, bool]]):
    hospital_code: str
    code: str  # 3 digits
    name: str
    aliases: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class UpsertDoctor(Command[tuple[Doctor, bool]]):
    hospital_code: str
    work_no: str  # 5 digits
    department_code: str
    name: str
    title: str = ""
    specialty: str = ""
    fee: int = 0
    active: bool = True
