"""Who may book a department (就诊资格): age, sex, and a first visit with an ID number.

The ``eligibility`` rule's value is a JSON object keyed by department code, ``"*"`` for
every department without its own entry::

    {"PED": {"age_under": 14},            儿科: under 14 on the clinic day
     "GER": {"age_from": 60},             老年科: 60 and over
     "OBS": {"sex": "F"},                 产科: women
     "*":   {"first_visit_id": "hospital"}}  a first visit needs a resident ID number

``first_visit_id``: ``"department"`` (no earlier visit to this department) or
``"hospital"`` (none to any department of the hospital): such a patient must have a
resident ID number on record. A visit is a booking checked in or completed.

Age is counted on the clinic day, from the birth date in the patient's ID number (a child
turning 14 on the day of the visit is 14 then); a patient with no ID number on record
cannot show their age or sex, so a department that limits them asks for one first
(``id_required``). The check is pure: :func:`check_eligibility` takes what is known of
the patient (:class:`PatientFacts`), the store and the ID's decryption stay with the
caller (``booking_core.patients.eligibility``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from ..kernel.errors import InvalidInput, NotEligible

MAX_AGE = 150
ALL_DEPARTMENTS = "*"
FIRST_VISIT_SCOPES = ("department", "hospital")
_FIELDS = ("age_under", "age_from", "sex", "first_visit_id")


class Ineligible(StrEnum):
    """Why a patient may not book a department (``NotEligible.reason``)."""

    AGE_UNDER = "age_under"  # the department takes patients under ``limit`` years only
    AGE_FROM = "age_from"  # … ``limit`` years old and over only
    SEX = "sex"  # … of sex ``limit`` (F or M) only
    ID_REQUIRED = "id_required"  # a first visit, or age/sex to check: an ID number on record


@dataclass(frozen=True, slots=True)
class Eligibility:
    """One department's conditions (None: no such condition)."""

    age_under: int | None = None
    age_from: int | None = None
    sex: str | None = None  # "F" | "M"
    first_visit_id: str | None = None  # "department" | "hospital"

    @property
    def needs_birth_date(self) -> bool:
        return self.age_under is not None or self.age_from is not None


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """What the check knows of a patient: their birth date and sex (from the ID number;
    None / "U" without one), whether an ID number is on record, and whether they visited
    before (only asked when a first-visit condition applies)."""

    birth_date: date | None
    sex: str  # "M" | "F" | "U"
    has_id: bool
    visited_before: bool = True


def _age_field(entry: Mapping[str, Any], name: str, code: str) -> int | None:
    value = entry.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AGE:
        raise InvalidInput("value", f"eligibility {code}.{name} takes years, 1 to {MAX_AGE}")
    return value


def _entry(code: str, entry: Any) -> Eligibility:
    if not isinstance(entry, dict) or not entry:
        raise InvalidInput("value", f"eligibility {code} takes an object of conditions")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise InvalidInput("value", f"eligibility {code}: unknown {', '.join(unknown)}")
    sex = entry.get("sex")
    if sex is not None and sex not in ("F", "M"):
        raise InvalidInput("value", f"eligibility {code}.sex takes F or M")
    first = entry.get("first_visit_id")
    if first is not None and first not in FIRST_VISIT_SCOPES:
        raise InvalidInput("value", f"eligibility {code}.first_visit_id: department | hospital")
    found = Eligibility(
        _age_field(entry, "age_under", code), _age_field(entry, "age_from", code), sex, first
    )
    under, since = found.age_under, found.age_from
    if under is not None and since is not None and since >= under:
        raise InvalidInput("value", f"eligibility {code}: age_from must be below age_under")
    return found


def parse_eligibility(value: Any) -> dict[str, Eligibility]:
    """The rule's JSON value by department code, each entry checked (or InvalidInput)."""
    if not isinstance(value, dict):
        raise InvalidInput("value", "eligibility takes an object keyed by department code")
    parsed: dict[str, Eligibility] = {}
    for code, entry in value.items():
        if not isinstance(code, str) or not code.strip() or len(code) > 32:
            raise InvalidInput("value", "eligibility keys are department codes (or *)")
        parsed[code] = _entry(code, entry)
    return parsed


def department_eligibility(value: Any, department_code: str) -> Eligibility | None:
    """A department's conditions under the rule's ``value`` (its own entry, else ``*``)."""
    parsed = parse_eligibility(value)
    return parsed.get(department_code) or parsed.get(ALL_DEPARTMENTS)


def age_on(birth: date, day: date) -> int:
    """Whole years old on ``day`` (a 29 February birthday counts from 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def check_eligibility(
    conditions: Eligibility, facts: PatientFacts, day: date, *, department: str
) -> None:
    """Refuse a patient ``conditions`` exclude on clinic ``day`` (NotEligible, the reason
    and the limit: the age, the sex); ``department`` is named in the refusal."""
    if conditions.first_visit_id and not facts.has_id and not facts.visited_before:
        raise NotEligible(reason=Ineligible.ID_REQUIRED.value, department=department, limit="")
    if conditions.needs_birth_date and facts.birth_date is None:
        raise NotEligible(reason=Ineligible.ID_REQUIRED.value, department=department, limit="")
    if conditions.sex is not None and facts.sex not in ("F", "M"):
        raise NotEligible(reason=Ineligible.ID_REQUIRED.value, department=department, limit="")
    if facts.birth_date is not None:
        age = age_on(facts.birth_date, day)
        if conditions.age_under is not None and age >= conditions.age_under:
            raise NotEligible(
                reason=Ineligible.AGE_UNDER.value, department=department, limit=conditions.age_under
            )
        if conditions.age_from is not None and age < conditions.age_from:
            raise NotEligible(
                reason=Ineligible.AGE_FROM.value, department=department, limit=conditions.age_from
            )
    if conditions.sex is not None and facts.sex != conditions.sex:
        raise NotEligible(reason=Ineligible.SEX.value, department=department, limit=conditions.sex)
