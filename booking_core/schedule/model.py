"""Clinic sessions (排班) and their slots (号源). Clinic days are hospital-local dates,
clock times hospital-local times; instants aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any


class Period(StrEnum):
    MORNING = "morning"  # 上午
    AFTERNOON = "afternoon"  # 下午
    EVENING = "evening"  # 夜间


class SessionStatus(StrEnum):
    OPEN = "open"
    STOPPED = "stopped"  # 停诊


@dataclass(frozen=True, slots=True)
class ClinicSession:
    """A doctor's clinic session on one day (出诊/排班)."""

    id: int
    hospital_id: int
    department_id: int
    doctor_id: int
    day: date
    period: Period
    start: time
    end: time
    room: str
    fee: int
    status: SessionStatus
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """A time slot inside a session (号源), with ``capacity`` places."""

    id: int
    session_id: int
    start: time
    end: time
    starts_at: datetime
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass(frozen=True, slots=True)
class SlotView:
    """A slot with what a person choosing it needs to hear."""

    slot_id: int
    session_id: int
    hospital_code: str
    department_code: str
    department_name: str
    doctor_work_no: str
    doctor_name: str
    doctor_title: str
    day: date
    period: Period
    start: time
    end: time
    room: str
    fee: int
    capacity: int
    booked: int
    # filled by ``queries.search_slots`` from the hospital's rules, at the read's instant:
    window: str = "open"  # rules.SlotWindow: "not_yet_open" (before 放号), "open", "closed"
    opens_at: datetime | None = None  # 放号: the first instant it can be booked (UTC)
    closes_at: datetime | None = None  # the booking cut-off (UTC)
    # channel pools (号源池): what the reading channel may book in the whole session (its
    # own pool and the public one); None where the hospital has no pools
    pool_free: int | None = None

    @property
    def free(self) -> int:
        """Free places this reader's channel may book (all free places without pools)."""
        free = max(self.capacity - self.booked, 0)
        return free if self.pool_free is None else min(free, self.pool_free)

    @property
    def bookable(self) -> bool:
        """A place can be booked now: released, before the cut-off, not full."""
        return self.window == "open" and self.free > 0


ROW_REASONS: dict[str, str] = {
    "needed": "needed",
    "too_long": "at most {most} characters",
    "digits": "{width} digits, like {example}",
    "repeats_row": "repeats row {row}",
    "unknown_department": "no department {department} in the hospital or in this import",
    "unknown_doctor": "no doctor {work_no} in the hospital or in this import",
    "fee_range": "from 0 to {most} fen",
    "already_scheduled": "already scheduled (session {session_id})",
    "invalid_input": "{reason}",
}
"""Why the core refuses a row of an import, by code (each door words the codes; the English
here is the reason the API gives): ``invalid_input`` is a session's own check, as
``CreateSession`` makes it, its ``reason`` in the words of :class:`InvalidInput`."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A bad row of an imported schedule: which list (``departments``, ``doctors``,
    ``sessions``), its index as the door numbered it, the field and why — ``reason`` in
    English, ``code`` and ``params`` for a door to word it (the core's codes are
    :data:`ROW_REASONS`'; a door's own refusals bring theirs). ``key``: the code or work
    number of a department or doctor row the door could not read whole, when it could read
    that much; rows that name it are then not reported for naming an unknown one (the row
    itself is reported)."""

    list: str
    index: int
    field: str
    reason: str
    key: str = ""
    code: str = "invalid_input"
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, where: str, index: int, field: str, code: str, **params: object) -> RowProblem:
        """A problem of the core's, its reason worded from :data:`ROW_REASONS`."""
        words = {k: str(v) for k, v in params.items()}
        reason = ROW_REASONS[code].format(**words)
        return cls(where, index, field, reason, code=code, params=tuple(words.items()))

    def plain(self) -> dict[str, Any]:
        return {
            "list": self.list,
            "index": self.index,
            "field": self.field,
            "reason": self.reason,
            "code": self.code,
            "params": dict(self.params),
        }


@dataclass(frozen=True, slots=True)
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class ScheduleImport:
    """What an import did, or (``applied`` False, a check only) would do."""

    applied: bool
    departments: ImportCounts
    doctors: ImportCounts
    sessions: ImportCounts  # never updated: a different session at the same time is refused
    slots: int  # slots made (or to be made)
    session_ids: tuple[int, ...] = ()  # the sessions made
