"""Hospital, department and doctor rows, and a read scoped to the actor's hospital."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.unit import Row, Unit, one
from .model import Department, Doctor, Hospital


def scope(
    actor: Actor, hospital_code: str | None, column: str
) -> Unit[tuple[list[str], list[Any]]]:
    """(where clauses, args) limiting ``column`` to the actor's or the named hospital."""
    where: list[str] = []
    args: list[Any] = []
    if hospital_code:
        hospital = yield from hospital_by_code(hospital_code)
        if not actor.may_access(hospital.id):
            raise NotFound("hospital", hospital_code)
        where.append(f"{column} = ?")
        args.append(hospital.id)
    elif actor.hospital_id is not None:
        where.append(f"{column} = ?")
        args.append(actor.hospital_id)
    return where, args


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
