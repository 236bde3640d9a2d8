"""Finding doctors (查医生): one by work number (工号), or many by name or specialty,
forgiving a typo. Query functions run with ``await services.read(fn, ...)``.

:func:`find_doctors` ranks exact name matches first, then names containing the keyword,
then specialties (擅长) containing it, then near misses by :mod:`difflib` similarity
(``心衰`` finds ``心力衰竭``, ``高血亚`` finds ``高血压``).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from .domain import Actor, Doctor
from .errors import NotFound
from .repo.schedule import doctor_from, hospital_by_code
from .store.base import Query, Tx, one, rows

Gen = Generator[Query, Any, Any]

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


def _card(row) -> DoctorCard:
    return DoctorCard(doctor_from(row), row["department_code"], row["department_name"])


def doctor(tx: Tx, hospital_code: str, work_no: str, actor: Actor) -> Gen:
    """The active doctor with this work number, or ``NotFound("doctor", work_no)``."""
    hospital = yield from hospital_by_code(hospital_code)
    if not actor.may_access(hospital.id):
        raise NotFound("hospital", hospital_code)
    row = yield one(_DOCTOR_SQL + " AND doc.work_no = ?", hospital.id, work_no)
    if row is None:
        raise NotFound("doctor", work_no)
    return _card(row)


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
) -> Gen:
    """Active doctors whose name or specialty matches ``keyword``, best first."""
    hospital = yield from hospital_by_code(hospital_code)
    if not actor.may_access(hospital.id):
        raise NotFound("hospital", hospital_code)
    found = yield rows(_DOCTOR_SQL + " ORDER BY doc.work_no", hospital.id)
    ranked = []
    for row in found:
        score = rank(keyword, row["name"], row["specialty"])
        if score is not None:
            ranked.append((score, row["work_no"], row))
    ranked.sort(key=lambda item: (item[0], item[1]))
    result: list[DoctorCard] = [_card(row) for _, _, row in ranked[:limit]]
    return result
