"""Reads of patients: exact look-ups (phone, card and ID through the blind index), the
agent's one search box (fuzzy where it helps: a part of the name, traditional characters
folded to simplified, or the name's pinyin initials, 拼音码 ``zs`` for 张三) and a patient's
hospital."""

from __future__ import annotations

import re
from typing import Any

from ..catalogue.model import Hospital
from ..catalogue.repo import hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import InvalidIdNumber, InvalidInput, NotFound
from ..kernel.identity import normalize_id_number, normalize_phone
from ..kernel.pii import Cipher
from ..kernel.unit import MAX_ROWS, Tx, Unit, one, rows
from .model import Patient
from .names import fold_name, is_pinyin_query
from .repo import PATIENT_COLUMNS, patient_from


def patient_by_card(tx: Tx, actor: Actor, hospital_code: str | None, card_no: str) -> Unit[int]:
    """The patient id of a card number in the actor's (or the named) hospital."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "hospital_id", named)
    where.append("card_no = ?")
    args.append(card_no.strip())
    found = yield rows("SELECT id FROM patients WHERE " + " AND ".join(where), *args)
    if len(found) != 1:
        raise NotFound("patient", card_no)
    return found[0]["id"]


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


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_patients(
    tx: Tx, actor: Actor, cipher: Cipher, text: str, kind: str = "auto", *, limit: int = SEARCH_ROWS
) -> Unit[list[Patient]]:
    """Patients matching ``text`` (see the module's docstring), at most ``limit``."""
    text = "".join(text.split())
    if not text:
        return []
    if kind not in SEARCH_KINDS:
        raise InvalidInput("by", " | ".join(SEARCH_KINDS))
    if kind == "auto":
        kind = search_kind(text)
    where, args = tenancy.scope(actor, "hospital_id")
    found: list[Patient] = []
    if kind in ("id", "phone"):
        try:
            by = {"id_number": text} if kind == "id" else {"phone": text}
            found = yield from find_patients(tx, actor, cipher, **by)
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
    elif is_pinyin_query(text):  # letters: a part of a name, or its pinyin initials (拼音码)
        where.append("(name LIKE ? ESCAPE '\\' OR name_keys LIKE ?)")
        args += [_like(text), f"% {text.lower()}%"]
    else:  # a part of a name, traditional characters folded (張三 finds 张三)
        where.append("name LIKE ? ESCAPE '\\'")
        args.append(_like(fold_name(text)))
    found_rows = yield rows(
        f"SELECT {PATIENT_COLUMNS} FROM patients WHERE {' AND '.join(where)} "
        "ORDER BY name, id LIMIT ?",
        *args,
        min(limit, SEARCH_ROWS),
    )
    return [patient_from(r) for r in found_rows]


def patient_hospital(tx: Tx, patient_id: int, actor: Actor) -> Unit[Hospital]:
    """The hospital a patient is registered at (its code and time zone), if the actor may
    see the patient; else NotFound."""
    row = yield one(
        "SELECT h.id, h.code, h.name, h.timezone FROM patients p "
        "JOIN hospitals h ON h.id = p.hospital_id WHERE p.id = ?",
        patient_id,
    )
    if row is None:
        raise NotFound("patient", patient_id)
    tenancy.check(actor, row["id"], "patient", patient_id)
    return Hospital(id=row["id"], code=row["code"], name=row["name"], timezone=row["timezone"])


def find_patients(
    tx: Tx,
    actor: Actor,
    cipher: Cipher,
    *,
    hospital_code: str | None = None,
    phone: str | None = None,
    card_no: str | None = None,
    id_number: str | None = None,
) -> Unit[list[Patient]]:
    """Exact look-up by phone, card or ID number (phones and IDs through the blind index)."""
    found: list[Patient] = yield from find_patients_page(
        tx,
        actor,
        cipher,
        hospital_code=hospital_code,
        phone=phone,
        card_no=card_no,
        id_number=id_number,
    )
    return found


def find_patients_page(
    tx: Tx,
    actor: Actor,
    cipher: Cipher,
    *,
    hospital_code: str | None = None,
    phone: str | None = None,
    card_no: str | None = None,
    id_number: str | None = None,
    after: int | None = None,
    limit: int = MAX_ROWS,
) -> Unit[list[Patient]]:
    """:func:`find_patients` by id, a page at a time: ``after`` the id of the last patient
    of the page before."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "hospital_id", named)
    if phone:
        where.append("phone_index = ?")
        args.append(cipher.blind_index(normalize_phone(phone), context="phone"))
    if card_no:
        where.append("card_no = ?")
        args.append(card_no.strip())
    if id_number:
        where.append("id_index = ?")
        args.append(cipher.blind_index(normalize_id_number(id_number), context="id_number"))
    if not (phone or card_no or id_number):
        return []
    if after is not None:
        where.append("id > ?")
        args.append(after)
    found = yield rows(
        f"SELECT {PATIENT_COLUMNS} FROM patients WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
        *args,
        min(limit, MAX_ROWS),
    )
    return [patient_from(r) for r in found]


def get_patient(tx: Tx, patient_id: int, actor: Actor) -> Unit[Patient]:
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", patient_id)
    if row is None:
        raise NotFound("patient", patient_id)
    tenancy.check(actor, row["hospital_id"], "patient", patient_id)
    return patient_from(row)


def reveal_patient(
    tx: Tx, patient_id: int, actor: Actor, cipher: Cipher
) -> Unit[dict[str, str | None]]:
    """The clear ID number and phone (for a person allowed to see them; audit it)."""
    row = yield one("SELECT * FROM patients WHERE id = ?", patient_id)
    if row is None:
        raise NotFound("patient", patient_id)
    tenancy.check(actor, row["hospital_id"], "patient", patient_id)
    id_number = row["id_number_enc"] and cipher.decrypt(row["id_number_enc"], context="id_number")
    phone = row["phone_enc"] and cipher.decrypt(row["phone_enc"], context="phone")
    return {"id_number": id_number, "phone": phone}
