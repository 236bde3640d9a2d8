"""Clinic sessions (排班) and their slots (号源), one at a time or in bulk (all or nothing);
a whole schedule imported (departments, doctors, sessions) in :mod:`.imports`."""

from __future__ import annotations

from dataclasses import replace

from ..catalogue.repo import doctor_by_work_no, hospital_for, zone
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit
from .commands import CreateSession, CreateSessions, ImportSchedule
from .imports import import_schedule
from .making import clashing_session, insert_session, plan_session
from .model import ClinicSession
from .repo import session_by_id

MAX_SESSIONS_AT_ONCE = 500


def create_sessions(tx: Tx, cmd: CreateSessions, deps: Deps) -> Unit[list[ClinicSession]]:
    if len(cmd.sessions) > MAX_SESSIONS_AT_ONCE:
        raise InvalidInput("sessions", f"at most {MAX_SESSIONS_AT_ONCE} at once")
    made = []
    for one_session in cmd.sessions:
        made.append((yield from create_session(tx, replace(one_session, actor=cmd.actor), deps)))
    return made


def create_session(tx: Tx, cmd: CreateSession, deps: Deps) -> Unit[ClinicSession]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    doctor = yield from doctor_by_work_no(hospital.id, cmd.doctor_work_no)
    plan = plan_session(cmd, zone(hospital), doctor.fee)
    clash = yield from clashing_session(doctor.id, cmd)
    if clash is not None:
        raise InvalidInput("period", f"the doctor already has session {clash} then")
    session_id = yield from insert_session(tx, cmd, hospital, doctor, plan)
    return (yield from session_by_id(session_id))


HANDLERS = handler_table(
    on(CreateSession, create_session),
    on(CreateSessions, create_sessions),
    on(ImportSchedule, import_schedule),
)
