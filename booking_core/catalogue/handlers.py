"""Hospitals, departments and doctors (医院、科室、医生) written by admins and the HIS."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..events.audit import AuditAction
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, execute, one, val
from .commands import UpsertDepartment, UpsertDoctor, UpsertHospital
from .model import Department, Doctor, Hospital
from .repo import department_by_code, doctor_by_work_no, hospital_by_code, hospital_for


def upsert_hospital(tx: Tx, cmd: UpsertHospital, deps: Deps) -> Unit[tuple[Hospital, bool]]:
    try:
        ZoneInfo(cmd.timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidInput("timezone", "not an IANA time zone") from err
    row = yield one("SELECT * FROM hospitals WHERE code = ?", cmd.code)
    if row is None:
        # a new hospital is the platform's: a hospital's actor cannot create another
        tenancy.check(cmd.actor, None, "hospital", cmd.code, forbidden="create_hospital")
        new_id = yield val(
            "INSERT INTO hospitals (code, name, timezone, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            cmd.code,
            cmd.name,
            cmd.timezone,
            tx.epoch,
            tx.epoch,
        )
        before = None
    else:
        tenancy.check(cmd.actor, row["id"], "hospital", cmd.code)
        new_id = row["id"]
        yield execute(
            "UPDATE hospitals SET name = ?, timezone = ?, updated_at = ? WHERE id = ?",
            cmd.name,
            cmd.timezone,
            tx.epoch,
            new_id,
        )
        before = {"name": row["name"], "timezone": row["timezone"]}
    after = {"code": cmd.code, "name": cmd.name, "timezone": cmd.timezone}
    tx.audit(
        cmd.actor,
        AuditAction.HOSPITAL_UPSERT,
        "hospital",
        cmd.code,
        hospital_id=new_id,
        before=before,
        after=after,
    )
    return (yield from hospital_by_code(cmd.code)), before is None


def upsert_department(tx: Tx, cmd: UpsertDepartment, deps: Deps) -> Unit[tuple[Department, bool]]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    aliases = ",".join(a.strip() for a in cmd.aliases if a.strip())
    row = yield one(
        "SELECT * FROM departments WHERE hospital_id = ? AND code = ?", hospital.id, cmd.code
    )
    if row is None:
        yield execute(
            "INSERT INTO departments (hospital_id, code, name, aliases, active, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            hospital.id,
            cmd.code,
            cmd.name,
            aliases,
            int(cmd.active),
            tx.epoch,
        )
    else:
        yield execute(
            "UPDATE departments SET name = ?, aliases = ?, active = ?, updated_at = ? WHERE id = ?",
            cmd.name,
            aliases,
            int(cmd.active),
            tx.epoch,
            row["id"],
        )
    before = None if row is None else {"name": row["name"], "active": bool(row["active"])}
    tx.audit(
        cmd.actor,
        AuditAction.DEPARTMENT_UPSERT,
        "department",
        f"{cmd.hospital_code}/{cmd.code}",
        hospital_id=hospital.id,
        before=before,
        after={"name": cmd.name, "aliases": aliases, "active": cmd.active},
    )
    return (yield from department_by_code(hospital.id, cmd.code)), row is None


def upsert_doctor(tx: Tx, cmd: UpsertDoctor, deps: Deps) -> Unit[tuple[Doctor, bool]]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    department = yield from department_by_code(hospital.id, cmd.department_code)
    if cmd.fee < 0:
        raise InvalidInput("fee", "must be >= 0 fen")
    row = yield one(
        "SELECT * FROM doctors WHERE hospital_id = ? AND work_no = ?", hospital.id, cmd.work_no
    )
    values = (department.id, cmd.name, cmd.title, cmd.specialty, cmd.fee, int(cmd.active), tx.epoch)
    if row is None:
        yield execute(
            "INSERT INTO doctors (department_id, name, title, specialty, fee, active, updated_at, "
            "hospital_id, work_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            *values,
            hospital.id,
            cmd.work_no,
        )
    else:
        yield execute(
            "UPDATE doctors SET department_id = ?, name = ?, title = ?, specialty = ?, fee = ?, "
            "active = ?, updated_at = ? WHERE id = ?",
            *values,
            row["id"],
        )
    before = None if row is None else {"name": row["name"], "fee": row["fee"]}
    tx.audit(
        cmd.actor,
        AuditAction.DOCTOR_UPSERT,
        "doctor",
        f"{cmd.hospital_code}/{cmd.work_no}",
        hospital_id=hospital.id,
        before=before,
        after={"name": cmd.name, "department": cmd.department_code, "fee": cmd.fee},
    )
    return (yield from doctor_by_work_no(hospital.id, cmd.work_no)), row is None


HANDLERS = handler_table(
    on(UpsertHospital, upsert_hospital),
    on(UpsertDepartment, upsert_department),
    on(UpsertDoctor, upsert_doctor),
)
