"""Hospital, department and doctor rows, and a hospital named by its code for an actor."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.unit import Row, Unit, one
from .model import Department, Doctor, Hospital


def hospital_for(actor: Actor, code: str) -> Unit[Hospital]:
    """Hospital ``code`` if ``actor`` may see it; another hospital is "not found" exactly
    as a missing one (:func:`booking_core.kernel.tenancy.check`)."""
    hospital = yield from hospital_by_code(code)
    tenancy.check(actor, hospital.id, "hospital", code)
    return hospital


def hospital_from(row: Row) -> Hospital:
    return Hospital(row["id"], row["code"], row["name"], row["timezone"])


def department_from(row: Row) -> Department:
    aliases = tuple(a for a in row["aliases"].split(",") if a)
    return Department(
        row["id"], row["hospital_id"], row["code"], row["name"], aliases, bool(row["active"])
    )


def doctor_from(row: Row) -> Doctor:
    return Doctor(
        row["id"],
        row["hospital_id"],
        row["department_id"],
        row["work_no"],
        row["name"],
        row["title"],
        row["specialty"],
        row["fee"],
        bool(row["active"]),
    )


def hospital_by_code(code: str) -> Unit[Hospital]:
    row = yield one("SELECT * FROM hospitals WHERE code = ?", code)
    if row is None:
        raise NotFound("hospital", code)
    return hospital_from(row)


def hospital_by_id(hospital_id: int) -> Unit[Hospital]:
    row = yield one("SELECT * FROM hospitals WHERE id = ?", hospital_id)
    if row is None:
        raise NotFound("hospital", hospital_id)
    return hospital_from(row)


def department_by_code(hospital_id: int, code: str) -> Unit[Department]:
    row = yield one(
        "SELECT * FROM departments WHERE hospital_id = ? AND code = ?", hospital_id, code
    )
    if row is None:
        raise NotFound("department", code)
    return department_from(row)


def doctor_by_work_no(hospital_id: int, work_no: str) -> Unit[Doctor]:
    row = yield one(
        "SELECT * FROM doctors WHERE hospital_id = ? AND work_no = ?", hospital_id, work_no
    )
    if row is None:
        raise NotFound("doctor", work_no)
    return doctor_from(row)


def zone(hospital: Hospital) -> ZoneInfo:
    return ZoneInfo(hospital.timezone)
