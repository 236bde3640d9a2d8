"""Finding the caller (患者查询): one search box an agent types into, fuzzy where it helps.

What is typed decides how it is looked up: an 18-character ID number or an 11-digit
mobile goes through the blind index (exact, as :func:`queries.find_patients`); other
digits are a card number, and four digits are also the last four of a phone (from
``patients.phone_masked``, which keeps ``138****5678``); anything with letters or
Chinese is part of a name (``LIKE``). Always within the actor's hospital.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from . import queries
from .domain import Actor, Hospital, Patient
from .errors import InvalidIdNumber, InvalidInput, NotFound
from .pii import Cipher
from .repo.patients import PATIENT_COLUMNS, patient_from
from .repo.schedule import doctor_from
from .store.base import Query, Tx, one, rows

Gen = Generator[Query, Any, Any]

SEARCH_ROWS = 50  # a screenful: an agent narrows the search rather than pages through
SEARCH_KINDS = ("auto", "name", "card", "phone", "phone4", "id")
_ID = re.compile(r"\d{17}[\dXx]")
_MOBILE = re.compile(r"1\d{10}")


def search_kind(text: str) -> str:
    """How ``text`` will be looked up when the agent did not say (``auto``)."""
    if _ID.fullmatch(text):
        return "id"
    if _MOBILE.fullmatch(text):
        return "phone"
    if text.isdigit():
        return "phone4" if len(text) == 4 else "card"
    return "name"


def _scope(actor: Actor) -> tuple[list[str], list[Any]]:
    if actor.hospital_id is None:
        return [], []
    return ["hospital_id = ?"], [actor.hospital_id]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_patients(
    tx: Tx, actor: Actor, cipher: Cipher, text: str, kind: str = "auto", *, limit: int = SEARCH_ROWS
) -> Gen:
    """Patients matching ``text`` (see the module's docstring), at most ``limit``."""
    text = "".join(text.split())
    if not text:
        return []
    if kind not in SEARCH_KINDS:
        raise InvalidInput("by", " | ".join(SEARCH_KINDS))
    if kind == "auto":
        kind = search_kind(text)
    where, args = _scope(actor)
    found: list[Patient] = []
    if kind in ("id", "phone"):
        try:
            by = {"id_number": text} if kind == "id" else {"phone": text}
            found = yield from queries.find_patients(tx, actor, cipher, **by)
        except (InvalidIdNumber, InvalidInput):
            found = []
        if kind == "phone" or found:
            return found[:limit]
        kind = "card"  # 18 digits that are no valid ID number may still be a card
    if kind in ("card", "phone4"):
        match = ["card_no = ?"]
        margs: list[Any] = [text]
        if kind == "phone4" and text.isdigit():
            match.append("phone_masked LIKE ?")
            margs.append(f"%****{text}")
        where.append("(" + " OR ".join(match) + ")")
        args += margs
    else:  # a part of a name
        where.append("name LIKE ? ESCAPE '\\'")
        args.append(_like(text))
    found_rows = yield rows(
        f"SELECT {PATIENT_COLUMNS} FROM patients WHERE {' AND '.join(where)} "
        "ORDER BY name, id LIMIT ?",
        *args,
        min(limit, SEARCH_ROWS),
    )
    return [patient_from(r) for r in found_rows]


def patient_hospital(tx: Tx, patient_id: int, actor: Actor) -> Gen:
    """The hospital a patient is registered at (its code and time zone), if the actor may
    see the patient; else NotFound."""
    row = yield one(
        "SELECT h.id, h.code, h.name, h.timezone FROM patients p "
        "JOIN hospitals h ON h.id = p.hospital_id WHERE p.id = ?",
        patient_id,
    )
    if row is None or not actor.may_access(row["id"]):
        raise NotFound("patient", patient_id)
    return Hospital(id=row["id"], code=row["code"], name=row["name"], timezone=row["timezone"])


def hospital_doctors(tx: Tx, hospital_id: int) -> Gen:
    """A hospital's active doctors by work number (for the booking filter)."""
    found = yield rows(
        "SELECT * FROM doctors WHERE hospital_id = ? AND active = 1 ORDER BY work_no", hospital_id
    )
    return [doctor_from(r) for r in found]


def hospital_timezone(tx: Tx, hospital_id: int | None, default: str = "Asia/Shanghai") -> Gen:
    """The time zone a hospital's people read times in (``default`` for the platform)."""
    if hospital_id is None:
        return default
    row = yield one("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
    return default if row is None else row["timezone"]
