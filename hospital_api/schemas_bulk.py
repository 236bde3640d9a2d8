"""Schemas of a schedule sent in bulk (排班导入): ``POST /hospitals/{code}/schedule``.

The body is read in two steps, so that every bad row is reported and not only the first:
its outline (:class:`ScheduleOutline`: three lists, nothing else) and then each row on its
own against its row schema, as strictly as every other body. A row that does not match is
reported by its list and index with the rest of the import's bad rows."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from booking_core.schedule import MAX_DEPARTMENTS, MAX_DOCTORS, MAX_SESSIONS

from .schemas import DEPARTMENT_CODE, WORK_NO, Body, Fen, Name, Out, SessionIn

MAX_SCHEDULE_BODY_BYTES = 4 * 1024 * 1024
"""This route's largest body: a week of two sessions a day for 350 doctors is about 1 MB
(a session row is about 150 bytes), the most sessions one import takes; the API's other
routes keep ``max_body_bytes``."""


class DepartmentRowIn(Body):
    code: str = Field(pattern=DEPARTMENT_CODE, description="3-digit department code")
    name: str = Name
    aliases: list[str] = Field(default_factory=list, max_length=20)
    active: bool = True


class DoctorRowIn(Body):
    work_no: str = Field(pattern=WORK_NO, description="5-digit work number (工号)")
    department: str = Field(pattern=DEPARTMENT_CODE, description="3-digit department code")
    name: str = Name
    title: str = Field("", max_length=50)
    specialty: str = Field("", max_length=200)
    fee: int = Fen
    active: bool = True


class ScheduleIn(Body):
    """A hospital's departments, doctors and sessions, imported all or nothing. Departments
    and doctors are created or updated; sessions are created (one already there is a bad
    row unless identical, then left as it is)."""

    departments: list[DepartmentRowIn] = Field(default_factory=list, max_length=MAX_DEPARTMENTS)
    doctors: list[DoctorRowIn] = Field(default_factory=list, max_length=MAX_DOCTORS)
    sessions: list[SessionIn] = Field(default_factory=list, max_length=MAX_SESSIONS)


class ScheduleOutline(Body):
    """:class:`ScheduleIn` with its rows not read yet (the first step)."""

    departments: list[Any] = Field(default_factory=list, max_length=MAX_DEPARTMENTS)
    doctors: list[Any] = Field(default_factory=list, max_length=MAX_DOCTORS)
    sessions: list[Any] = Field(default_factory=list, max_length=MAX_SESSIONS)


class CountsOut(Out):
    created: int
    updated: int
    unchanged: int


class ScheduleOut(Out):
    hospital: str
    departments: CountsOut
    doctors: CountsOut
    sessions: CountsOut
    slots: int = Field(description="slots made")
    session_ids: list[int] = Field(description="the sessions made, in the order sent")
