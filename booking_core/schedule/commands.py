"""Commands that create clinic sessions (排班), one or a week's worth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from ..kernel.unit import Command
from .model import ClinicSession, Period


@dataclass(frozen=True, kw_only=True)
class CreateSession(Command[ClinicSession]):
    """A doctor's session on one day, cut into slots of ``slot_minutes`` with
    ``places_per_slot`` places each."""

    hospital_code: str
    doctor_work_no: str
    day: date
    period: Period
    start: time
    end: time
    slot_minutes: int
    places_per_slot: int
    room: str = ""
    fee: int | None = None  # None: the doctor's fee


@dataclass(frozen=True, kw_only=True)
class CreateSessions(Command[list[ClinicSession]]):
    """Several sessions at once, all or none (a week's 排班 copied from a template week)."""

    sessions: tuple[CreateSession, ...]
