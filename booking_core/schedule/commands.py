"""Commands that create clinic sessions (排班): one, a week's worth, or a whole schedule
imported with its departments and doctors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from ..kernel.unit import Command
from .model import ClinicSession, Period, RowProblem, ScheduleImport


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


# --- a schedule imported in bulk (排班导入): the JSON endpoint and the Excel template --------


@dataclass(frozen=True)
class DepartmentLine:
    """A department (科室) of an imported schedule. ``index`` is where the door found it (the
    position in a JSON list, the row number of a sheet): bad rows are reported by it."""

    index: int
    code: str  # 3 digits
    name: str
    aliases: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class DoctorLine:
    """A doctor (医生) of an imported schedule; ``fee`` in fen."""

    index: int
    work_no: str  # 工号, 5 digits
    department_code: str
    name: str
    title: str = ""
    specialty: str = ""
    fee: int = 0
    active: bool = True


@dataclass(frozen=True)
class SessionLine:
    """A clinic session (排班) of an imported schedule, as :class:`CreateSession` has it."""

    index: int
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
class ImportSchedule(Command[ScheduleImport]):
    """A hospital's departments, doctors and sessions, all or nothing (排班导入).

    Every row is checked first and every bad one reported: one bad row and nothing is
    written (:class:`~booking_core.kernel.errors.ImportRejected` lists them). Then, in one
    unit of work, departments and doctors are created or updated and each session is made
    with its slots exactly as ``CreateSession`` makes it. A session the doctor already has
    (same day and period) is a bad row, unless it is identical (same times, room, fee and
    slots, open): then it is left as it is, so the same file can be sent again. ``refused``
    are rows the door could not read (wrong types): they make the import refused too, and
    are reported with the rest. ``check_only`` checks and writes nothing (a preview)."""

    hospital_code: str
    departments: tuple[DepartmentLine, ...] = ()
    doctors: tuple[DoctorLine, ...] = ()
    sessions: tuple[SessionLine, ...] = ()
    refused: tuple[RowProblem, ...] = ()
    check_only: bool = False
