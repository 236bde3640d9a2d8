"""Reads of the catalogue: a hospital, its departments and doctors (科室、医生列表), a
doctor's card, doctors found by name or specialty (fuzzy, as a caller types it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.unit import MAX_ROWS, Row, Tx, Unit, one, rows
from .model import Department, Doctor, Hospital
from .repo import department_from, doctor_from, hospital_by_code, hospital_by_id, hospital_for


def departments(
    tx: Tx,
    hospital_code: str,
    actor: Actor,
    *,
    active_only: bool = True,
    after: str | None = None,
    limit: int | None = None,
) -> Unit[list[Department]]:
    """A hospital's active (or all) departments by code (科室列表); ``after`` the code of
    the last one of the page before, ``limit`` a page's size (None: all of them)."""
    hospital = yield from hospital_for(actor, hospital_code)
    where: list[str] = ["hospital_id = ?"]
    args: list[Any] = [hospital.id]
    if active_only:
        where.append("active = 1")
    if after is not None:
        where.append("code > ?")
        args.append(after)
    page = [] if limit is None else [min(limit, MAX_ROWS)]
    found = yield rows(
        f"SELECT * FROM departments WHERE {' AND '.join(where)} ORDER BY code"
        + (" LIMIT ?" if page else ""),
        *args,
        *page,
    )
    result: list[Department] = [department_from(r) for r in found]
    return result


def doctors(tx: Tx, hospital_code: str, department_code: str, actor: Actor) -> Unit[list[Doctor]]:
    """A department's active doctors by work number, with title and fee (医生列表)."""
    hospital = yield from hospital_for(actor, hospital_code)
    found = yield rows(
        "SELECT doc.* FROM doctors doc JOIN departments dep ON dep.id = doc.department_id "
        "WHERE doc.hospital_id = ? AND dep.code = ? AND doc.active = 1 ORDER BY doc.work_no",
        hospital.id,
        department_code,
    )
    result: list[Doctor] = [doctor_from(r) for r in found]
    return result


FUZZY_CUTOFF = 0.6  # difflib ratio: one wrong character of three (高血亚/高血压) scores 0.67

MAX_MATCHES = 20

_TERM_SEPARATORS = re.compile(r"[\s,，、;；/|]+")

_DOCTOR_SQL = (
    "SELECT doc.*, dep.code AS department_code, dep.name AS department_name "
    "FROM doctors doc JOIN departments dep ON dep.id = doc.department_id "
    "WHERE doc.hospital_id = ? AND doc.active = 1 AND dep.active = 1"
)


@dataclass(frozen=True, slots=True)
class DoctorCard:
    """A doctor with the department a patient books into."""

    doctor: Doctor
    department_code: str
    department_name: str


def _card(row: Row) -> DoctorCard:
    return DoctorCard(doctor_from(row), row["department_code"], row["department_name"])


def doctor(tx: Tx, hospital_code: str, work_no: str, actor: Actor) -> Unit[DoctorCard]:
    """The active doctor with this work number, or ``NotFound("doctor", work_no)``."""
    hospital = yield from hospital_for(actor, hospital_code)
    row = yield one(_DOCTOR_SQL + " AND doc.work_no = ?", hospital.id, work_no)
    if row is None:
        raise NotFound("doctor", work_no)
    return _card(row)


def doctor_cards(
    tx: Tx,
    hospital_code: str,
    actor: Actor,
    *,
    department_code: str | None = None,
    after: str | None = None,
    limit: int = MAX_ROWS,
) -> Unit[list[DoctorCard]]:
    """A hospital's doctors by work number, inactive ones too, each with its department
    (the hospital system's list); ``after`` the work number of the last of the page before."""
    hospital = yield from hospital_for(actor, hospital_code)
    where: list[str] = ["doc.hospital_id = ?"]
    args: list[Any] = [hospital.id]
    if department_code is not None:
        where.append("dep.code = ?")
        args.append(department_code)
    if after is not None:
        where.append("doc.work_no > ?")
        args.append(after)
    found = yield rows(
        "SELECT doc.*, dep.code AS department_code, dep.name AS department_name "
        "FROM doctors doc JOIN departments dep ON dep.id = doc.department_id "
        f"WHERE {' AND '.join(where)} ORDER BY doc.work_no LIMIT ?",
        *args,
        min(limit, MAX_ROWS),
    )
    return [_card(r) for r in found]


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def rank(keyword: str, name: str, specialty: str) -> tuple[int, float] | None:
    """How well a doctor matches (lower first; None: not at all): (tier, -similarity)."""
    needle = _fold(keyword)
    if not needle:
        return None
    name, specialty = _fold(name), _fold(specialty)
    if name == needle:
        return (0, 0.0)
    if needle in name:
        return (1, 0.0)
    if needle in specialty:
        return (2, 0.0)
    if len(needle) < 2:  # one character is too little to guess a typo from
        return None
    terms = [name, specialty, *(t for t in _TERM_SEPARATORS.split(specialty) if t)]
    best = max(SequenceMatcher(None, needle, term).ratio() for term in terms)
    return (3, -best) if best >= FUZZY_CUTOFF else None


def find_doctors(
    tx: Tx, hospital_code: str, keyword: str, actor: Actor, *, limit: int = MAX_MATCHES
) -> Unit[list[DoctorCard]]:
    """Active doctors whose name or specialty matches ``keyword``, best first."""
    hospital = yield from hospital_for(actor, hospital_code)
    found = yield rows(_DOCTOR_SQL + " ORDER BY doc.work_no", hospital.id)
    ranked = []
    for row in found:
        score = rank(keyword, row["name"], row["specialty"])
        if score is not None:
            ranked.append((score, row["work_no"], row))
    ranked.sort(key=lambda item: (item[0], item[1]))
    result: list[DoctorCard] = [_card(row) for _, _, row in ranked[:limit]]
    return result


# --- departments and doctors ----------------------------------------------------------


def catalogue(
    tx: Tx, actor: Actor, hospital_code: str | None
) -> Unit[tuple[list[dict[str, Any]], list[tuple[str, str, Doctor]]]]:
    """(departments, doctors) of the actor's or the named hospital, inactive ones included."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "h.id", named)
    clause = " WHERE " + " AND ".join(where) if where else ""
    deps = yield rows(
        "SELECT dep.*, h.code AS hospital_code FROM departments dep "
        "JOIN hospitals h ON h.id = dep.hospital_id" + clause + " ORDER BY h.code, dep.code",
        *args,
    )
    docs = yield rows(
        "SELECT doc.*, h.code AS hospital_code, dep.code AS department_code FROM doctors doc "
        "JOIN hospitals h ON h.id = doc.hospital_id "
        "JOIN departments dep ON dep.id = doc.department_id"
        + clause
        + " ORDER BY h.code, doc.work_no",
        *args,
    )
    departments = [
        {
            "hospital": r["hospital_code"],
            "code": r["code"],
            "name": r["name"],
            "active": bool(r["active"]),
        }
        for r in deps
    ]
    doctors = [(r["hospital_code"], r["department_code"], doctor_from(r)) for r in docs]
    return departments, doctors


def hospital_doctors(tx: Tx, hospital_id: int) -> Unit[list[Doctor]]:
    """A hospital's active doctors by work number (for the booking filter)."""
    found = yield rows(
        "SELECT * FROM doctors WHERE hospital_id = ? AND active = 1 ORDER BY work_no", hospital_id
    )
    return [doctor_from(r) for r in found]


def hospital_timezone(tx: Tx, hospital_id: int | None, default: str = "Asia/Shanghai") -> Unit[str]:
    """The time zone a hospital's people read times in (``default`` for the platform)."""
    if hospital_id is None:
        return default
    row = yield one("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
    return default if row is None else row["timezone"]


def hospital(tx: Tx, code: str) -> Unit[Hospital]:
    return (yield from hospital_by_code(code))


def hospital_with_id(tx: Tx, hospital_id: int) -> Unit[Hospital]:
    return (yield from hospital_by_id(hospital_id))


# --- by id, for feeds that name rows by their ids (FHIR, SMART Scheduling Links) ---------


def visible_hospitals(tx: Tx, actor: Actor) -> Unit[list[Hospital]]:
    """The hospitals an actor sees: its own, or every one for a platform-wide actor."""
    where, args = tenancy.scope(actor, "id")
    sql = "SELECT * FROM hospitals" + (" WHERE " + " AND ".join(where) if where else "")
    found = yield rows(sql + " ORDER BY id", *args)
    return [Hospital(r["id"], r["code"], r["name"], r["timezone"]) for r in found]


def hospital_departments(tx: Tx, hospital_id: int) -> Unit[list[Department]]:
    """A hospital's active departments by code."""
    found = yield rows(
        "SELECT * FROM departments WHERE hospital_id = ? AND active = 1 ORDER BY code",
        hospital_id,
    )
    return [department_from(r) for r in found]


def department_with_id(tx: Tx, department_id: int, actor: Actor) -> Unit[Department]:
    """A department by id; NotFound outside the actor's hospital."""
    row = yield one("SELECT * FROM departments WHERE id = ?", department_id)
    if row is None:
        raise NotFound("department", department_id)
    tenancy.check(actor, row["hospital_id"], "department", department_id)
    return department_from(row)


def doctor_with_id(tx: Tx, doctor_id: int, actor: Actor) -> Unit[Doctor]:
    """A doctor by id; NotFound outside the actor's hospital."""
    row = yield one("SELECT * FROM doctors WHERE id = ?", doctor_id)
    if row is None:
        raise NotFound("doctor", doctor_id)
    tenancy.check(actor, row["hospital_id"], "doctor", doctor_id)
    return doctor_from(row)
