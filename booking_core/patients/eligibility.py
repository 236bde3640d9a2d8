"""What the eligibility check (就诊资格, ``booking_core.rules.eligibility``) needs to know of
a patient, read from the store: the birth date in the encrypted ID number (decrypted here
only when the department limits age, never kept), the sex its last four tell, whether an ID
number is on record, and, for a first-visit condition, whether they visited before.

:func:`check_patient_eligible` is the one call a booking makes (``bookings.admission.admit``);
the waitlist may call it the same way before it offers a place."""

from __future__ import annotations

from datetime import date

from ..kernel.identity import sex_of
from ..kernel.pii import Cipher
from ..kernel.unit import Row, Unit, val
from ..rules.eligibility import (
    Eligibility,
    PatientFacts,
    check_eligibility,
    department_eligibility,
)
from ..rules.model import RuleKey, RuleSet

VISITED = "('checked_in', 'completed')"
"""A visit: a booking the patient came to (取号), whatever happened after."""


def birth_date_of(id_number: str) -> date | None:
    """The birth date in an 18-digit resident ID number (digits 7 to 14)."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def patient_facts(
    patient: Row, conditions: Eligibility, department_id: int, cipher: Cipher
) -> Unit[PatientFacts]:
    """The facts ``conditions`` need of ``patient`` (a row with ``id``, ``hospital_id``
    and ``id_last4``); the store is asked only for what they use."""
    last4 = patient["id_last4"] or ""
    has_id = len(last4) == 4
    birth = None
    if conditions.needs_birth_date and has_id:
        token = yield val("SELECT id_number_enc FROM patients WHERE id = ?", patient["id"])
        if token:
            birth = birth_date_of(cipher.decrypt(token, context="id_number"))
    visited = True
    if conditions.first_visit_id and not has_id:
        by_department = conditions.first_visit_id == "department"
        where = "department_id = ?" if by_department else "hospital_id = ?"
        scope = department_id if by_department else patient["hospital_id"]
        earlier = yield val(
            f"SELECT count(*) FROM bookings WHERE patient_id = ? AND {where} "
            f"AND status IN {VISITED}",
            patient["id"],
            scope,
        )
        visited = bool(earlier)
    sex = sex_of(last4) if has_id else "U"
    return PatientFacts(birth_date=birth, sex=sex, has_id=has_id, visited_before=visited)


def check_patient_eligible(patient: Row, rules: RuleSet, ctx: Row, cipher: Cipher) -> Unit[None]:
    """Refuse (``NotEligible``) a patient the department of ``ctx`` (a slot's context:
    ``department_code``, ``department_name``, ``department_id``, ``day``) does not take
    on its clinic day; nothing is read when the department has no conditions."""
    if not rules.on(RuleKey.ELIGIBILITY):
        return
    conditions = department_eligibility(rules.value(RuleKey.ELIGIBILITY), ctx["department_code"])
    if conditions is None:
        return
    facts = yield from patient_facts(patient, conditions, ctx["department_id"], cipher)
    check_eligibility(
        conditions, facts, date.fromisoformat(ctx["day"]), department=ctx["department_name"]
    )
