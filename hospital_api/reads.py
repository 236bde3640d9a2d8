"""Read functions the API needs beyond the core's queries (same sans-I/O shape:
generators run by ``services.read``)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from booking_core import operators
from booking_core.catalogue import Hospital
from booking_core.catalogue.repo import hospital_by_id
from booking_core.kernel.actor import Actor
from booking_core.kernel.errors import NotFound
from booking_core.kernel.unit import Query, Tx, one
from booking_core.schedule import ClinicSession, Slot
from booking_core.schedule.repo import session_by_id, slots_of_session

Gen = Generator[Query, Any, Any]


def token_with_hospital(tx: Tx, token_hash: str) -> Gen:
    """The token row and the code of its hospital (None for a platform token)."""
    row = yield from operators.token_by_hash(tx, token_hash)
    if row is None or row["hospital_id"] is None:
        return row, None
    hospital = yield from hospital_by_id(row["hospital_id"])
    return row, hospital.code


def hospital_of(tx: Tx, hospital_id: int) -> Gen:
    return (yield from hospital_by_id(hospital_id))


@dataclass(frozen=True, slots=True)
class SessionDetail:
    session: ClinicSession
    hospital: Hospital
    doctor_work_no: str
    department_code: str
    slots: list[Slot]


def session_detail(tx: Tx, session_id: int, actor: Actor) -> Gen:
    """A clinic session with its slots; NotFound outside the actor's hospital."""
    session = yield from session_by_id(session_id)
    if not actor.may_access(session.hospital_id):
        raise NotFound("session", session_id)
    hospital = yield from hospital_by_id(session.hospital_id)
    names = yield one(
        "SELECT doc.work_no, dep.code AS department_code FROM sessions se "
        "JOIN doctors doc ON doc.id = se.doctor_id "
        "JOIN departments dep ON dep.id = se.department_id WHERE se.id = ?",
        session_id,
    )
    slots = yield from slots_of_session(session_id)
    return SessionDetail(session, hospital, names["work_no"], names["department_code"], slots)
