"""Request and response schemas (pydantic v2), also the source of the OpenAPI document.

Request bodies are strict: unknown fields are refused, and JSON types are not
coerced ("5" is not an int). Query strings are parsed leniently (they are text).
Money is integer fen (分); dates are ISO dates; clock times ``HH:MM`` in the
hospital's zone; instants ISO 8601 with the hospital's offset.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from booking_core.bookings import BookingStatus
from booking_core.kernel.actor import Channel
from booking_core.rules import PeriodType, RuleKey
from booking_core.schedule import Period

HOSPITAL_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
DEPARTMENT_CODE = r"^[0-9]{3}$"  # ASCII digits: ``\d`` would also take ١٢٣
WORK_NO = r"^[0-9]{5}$"
BOOKING_NO = r"^[0-9]{9}$"

MAX_ID = 2**63 - 1  # what SQLite's INTEGER and PostgreSQL's bigint hold
MAX_FEN = 100_000_000  # a million yuan: far above any fee or top-up
MAX_RULE_NUMBER = 1_000_000  # whole-number rule values; each key's own range is checked too

FIRST_DAY = dt.date(2000, 1, 1)  # clinic days, bans and searches stay this far inside the
LAST_DAY = dt.date(2999, 12, 31)  # calendar, so no date arithmetic on them can leave it
Day = Annotated[
    dt.date, Field(ge=FIRST_DAY, le=LAST_DAY, description=f"a day from {FIRST_DAY} to {LAST_DAY}")
]

Name = Field(min_length=1, max_length=100)
Fen = Field(ge=0, le=MAX_FEN, description="integer fen (分)")


def Id(description: str | None = None, default: Any = ...) -> Any:
    """A row id: 1 .. 2^63-1."""
    return Field(default, ge=1, le=MAX_ID, description=description)


# the schema of each path parameter, by name (the views check the same patterns)
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "code": {"type": "string", "pattern": HOSPITAL_CODE, "description": "hospital code"},
    "dept": {"type": "string", "pattern": DEPARTMENT_CODE, "description": "3-digit department"},
    "work_no": {"type": "string", "pattern": WORK_NO, "description": "5-digit work number (工号)"},
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "a positive id"},
    "no": {"type": "string", "pattern": BOOKING_NO, "description": "9-digit booking number"},
    "key": {"type": "string", "enum": [k.value for k in RuleKey], "description": "rule key"},
}


def _no_nul(value: Any) -> Any:
    """PostgreSQL's text cannot hold U+0000, and no name, reason or number needs it."""
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(t, str) and "\x00" in t for t in texts):
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    _text = field_validator("*", mode="after")(_no_nul)


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _text = field_validator("*", mode="after")(_no_nul)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- problems -----------------------------------------------------------------------


class FieldError(Out):
    field: str = Field(description="dotted path of the offending field")
    message: str
    type: str
    list: str | None = Field(None, description="a bulk import's bad row: its list …")
    index: int | None = Field(None, description="… and its index in the list, from 0")


class Problem(BaseModel):
    """RFC 9457 problem details; the error's parameters are further members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="/api/v1/problems/<code>")
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None


# --- schedules (排班) -----------------------------------------------------------------


class HospitalIn(Body):
    name: str = Name
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA time zone; omitted: the engine's `timezone` setting for a new "
        "hospital, unchanged for an existing one",
    )


class HospitalOut(Out):
    code: str
    name: str
    timezone: str


class DepartmentIn(Body):
    name: str = Name
    aliases: list[str] = Field(default_factory=list, max_length=20)
    active: bool = True


class DepartmentOut(Out):
    hospital: str
    code: str
    name: str
    aliases: list[str]
    active: bool


class DoctorIn(Body):
    department: str = Field(pattern=DEPARTMENT_CODE, description="3-digit department code")
    name: str = Name
    title: str = Field("", max_length=50)
    specialty: str = Field("", max_length=200)
    fee: int = Fen
    active: bool = True


class DoctorOut(Out):
    hospital: str
    work_no: str
    department: str
    name: str
    title: str
    specialty: str
    fee: int
    active: bool


class SessionIn(Body):
    doctor: str = Field(pattern=WORK_NO, description="5-digit doctor work number (工号)")
    date: Day
    period: Period
    start: dt.time
    end: dt.time
    slot_minutes: int = Field(ge=5, le=240)
    places_per_slot: int = Field(ge=1, le=500)
    room: str = Field("", max_length=50)
    fee: int | None = Field(None, ge=0, le=MAX_FEN, description="fen; default the doctor's")


class SessionSlotOut(Out):
    id: int
    start: str
    end: str
    starts_at: str
    capacity: int
    booked: int
    free: int


class SessionOut(Out):
    id: int
    hospital: str
    department: str
    doctor: str
    date: dt.date
    period: Period
    start: str
    end: str
    starts_at: str
    ends_at: str
    room: str
    fee: int
    status: str
    slots: list[SessionSlotOut]


class StopIn(Body):
    """停诊: move every booking to ``target_session_id`` or cancel them all."""

    mode: Literal["move", "cancel"]
    target_session_id: int | None = Id(default=None)
    reason: str = Field("", max_length=200)


class StopOut(Out):
    session_id: int
    mode: str
    target_session_id: int | None
    moved: int
    cancelled: int
    reason: str


class SlotQuery(Query):
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE)
    department: str | None = Field(None, pattern=DEPARTMENT_CODE)
    doctor: str | None = Field(None, pattern=WORK_NO)
    date: Day | None = None
    date_to: Day | None = None
    time: dt.time | None = Field(None, description="the slot containing this clock time")
    all: bool = Field(
        False,
        description="also full slots, and those not released yet (放号) or past the booking "
        "cut-off; without it, only what can be booked now",
    )
    referral: bool = Field(
        False,
        description="what a referral (医联体/转诊) may book: the hospital's referral pool "
        "(号源池) and the public one; without it, what this token's channel may book",
    )


class SlotOut(Out):
    slot_id: int
    session_id: int
    hospital: str
    department: str
    department_name: str
    doctor: str
    doctor_name: str
    doctor_title: str
    date: dt.date
    period: Period
    start: str
    end: str
    starts_at: str
    room: str
    fee: int
    capacity: int
    booked: int
    free: int
    window: Literal["not_yet_open", "open", "closed"] = Field(
        description="not released yet (放号), open for booking, or past the cut-off"
    )
    bookable: bool = Field(description="open and not full: a booking now would be taken")
    opens_at: str = Field(description="when its places are released (放号), hospital time")
    closes_at: str = Field(description="the booking cut-off, hospital time")


class BookingWindowOut(Out):
    """预约周期 and 放号 now: days ``today`` .. ``last_open_day`` can be booked."""

    today: dt.date
    days: int = Field(description="the booking window: today and the next N days")
    last_open_day: dt.date
    next_day: dt.date = Field(description="the next day to be released")
    next_opens_at: str = Field(description="when next_day is released, hospital time")


class SlotList(Out):
    items: list[SlotOut]
    window: BookingWindowOut


# --- patients -------------------------------------------------------------------------


class PatientIn(Body):
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE, description="default: the token's")
    name: str = Name
    id_number: str | None = Field(
        None,
        max_length=32,
        description="18-digit resident ID (居民身份证号), checksum checked. Required, with "
        "`phone`, while the hospital's `real_name` rule is on (the default): without them "
        "the answer is 422 invalid_input",
    )
    phone: str | None = Field(None, max_length=20, description="required under `real_name`")
    card_no: str | None = Field(None, max_length=20)


class PatientOut(Out):
    id: int
    hospital: str
    name: str
    card_no: str
    id_last4: str = Field(description="only the last 4 characters of the ID number")
    phone: str = Field(description="masked: 138****5678")
    balance: int
    sms_opt_out: bool


KEPT_OUT_OF_URLS = "refused here (422): send it in the body of POST /patients/search"


class PatientQuery(Query):
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE)
    phone: str | None = Field(None, max_length=20, description=KEPT_OUT_OF_URLS)
    card_no: str | None = Field(None, max_length=20)
    id_number: str | None = Field(None, max_length=32, description=KEPT_OUT_OF_URLS)


class PatientSearchIn(Body):
    """A patient look-up in the body, so a phone or ID number stays out of URLs (and so out
    of proxy and access logs)."""

    hospital: str | None = Field(None, pattern=HOSPITAL_CODE)
    phone: str | None = Field(None, max_length=20)
    card_no: str | None = Field(None, max_length=20)
    id_number: str | None = Field(None, max_length=32)


class PatientList(Out):
    items: list[PatientOut]


class TopUpIn(Body):
    amount: int = Field(gt=0, le=MAX_FEN, description="fen")
    method: Literal["cash", "card", "transfer"] = "cash"
    reference: str | None = Field(
        None,
        max_length=100,
        description="the receipt or transaction number: sent again with it, the request moves "
        "money once and answers as the first did (another request under it: 422)",
    )


# --- bookings (预约) -------------------------------------------------------------------


class BookingIn(Body):
    slot_id: int = Id()
    patient_id: int = Id()
    patient_name: str | None = Field(None, max_length=100, description="checked (实名)")
    referral: bool = Field(
        False,
        description="a referral (医联体/转诊; his and admin tokens): drawn first from the "
        "hospital's referral pool (号源池) where it keeps one",
    )


class BookingOut(Out):
    booking_no: str
    status: BookingStatus
    hospital: str
    department: str
    department_name: str
    doctor: str
    doctor_name: str
    doctor_title: str
    session_id: int
    slot_id: int
    patient_id: int
    patient_name: str
    patient_card_no: str
    date: dt.date
    period: Period
    start: str
    end: str
    starts_at: str
    room: str
    place_no: int
    queue_no: int | None
    channel: Channel
    fee: int
    paid: int
    created_at: str
    hold_expires_at: str | None
    cancel_reason: str | None


class BookingQuery(Query):
    patient: int | None = Id(default=None)
    date: Day | None = None
    session: int | None = Id(default=None)
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE)


class BookingList(Out):
    items: list[BookingOut]


class PayIn(Body):
    method: Literal["balance", "card", "cash"]
    amount: int | None = Field(
        None,
        ge=0,
        le=MAX_FEN,
        description="fen taken (a window's till): refused (422) unless it is what is due",
    )
    reference: str | None = Field(
        None,
        max_length=100,
        description="the receipt or transaction number: sent again with it, the request moves "
        "money once and answers as the first did (another request under it: 422)",
    )


class CancelIn(Body):
    by_hospital: bool = Field(False, description="the hospital cancels: no deadline applies")


class CheckInIn(Body):
    reference: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="the caller's own number for this check-in (a HIS registration number): "
        "sent again with it, the check-in answers as the first did (same queue number); "
        "under another booking: 422",
    )


class RescheduleIn(Body):
    slot_id: int = Id()


# --- blacklist (黑名单) and rules (规则) -----------------------------------------------


class BlacklistIn(Body):
    patient_id: int = Id()
    until: Day = Field(
        description=f"last banned day, hospital-local, inclusive, at most {LAST_DAY}"
    )
    reason: str = Field(min_length=1, max_length=200)
    platform_wide: bool = False


class BlacklistOut(Out):
    id: int
    patient_id: int
    hospital: str | None = Field(description="None: banned on the whole platform")
    reason: str
    source: str
    starts_at: str
    ends_at: str
    lifted_at: str | None


class BlacklistQuery(Query):
    patient: int | None = Id(default=None)
    all: bool = Field(False, description="also lifted and ended bans")


class BlacklistList(Out):
    items: list[BlacklistOut]


RuleNumber = Annotated[int, Field(ge=0, le=MAX_RULE_NUMBER)]
RuleText = Annotated[str, Field(max_length=16)]


class RuleIn(Body):
    value: bool | RuleNumber | RuleText = Field(
        description="true/false for switches, HH:MM for release_time, else a whole number "
        f"0..{MAX_RULE_NUMBER:,} (days at most 3,650, minutes at most 525,600)"
    )
    enabled: bool = True
    priority: int = Field(0, ge=0, le=1000)
    hospital: str | None = Field(
        None,
        pattern=HOSPITAL_CODE,
        description="absent: the token's hospital (the platform for a platform token); "
        "null: the platform",
    )
    period_type: PeriodType | None = None
    period_value: int | None = Field(None, ge=1, le=3650)


class RuleOut(Out):
    key: str
    value: Any
    enabled: bool
    priority: int
    hospital: str | None
    period_type: PeriodType | None
    period_value: int | None


class RuleQuery(Query):
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE)


class RulesOut(Out):
    hospital: str | None
    effective: list[RuleOut] = Field(description="the winning record for every rule key")
    stored: list[RuleOut] = Field(description="the records stored for the platform and hospital")


# --- the waitlist (候补) and extra places (加号) ----------------------------------------


class WaitlistIn(Body):
    """The patient who joins (or leaves) the session's waitlist."""

    patient_id: int = Id()


class WaitlistEntryOut(Out):
    entry_id: int
    session_id: int
    patient_id: int
    day: dt.date
    channel: str
    status: str = Field(
        description="waiting, offered (a held booking is theirs until offer_expires_at), "
        "accepted, lapsed, declined, left or closed"
    )
    joined_at: dt.datetime
    position: int = Field(description="place among those waiting (1: next); 0 when not waiting")
    offer_booking_no: str | None = None
    offer_expires_at: dt.datetime | None = None


class WaitlistOut(Out):
    session_id: int
    entries: list[WaitlistEntryOut]


class ExtraPlacesIn(Body):
    """加号: places added for a named patient (booked at once, one place) or the waitlist."""

    places: int = Field(1, ge=1, le=50)
    patient_id: int | None = Id(default=None)
    slot_id: int | None = Id(default=None, description="default: the session's last slot")


class ExtraPlacesOut(Out):
    session_id: int
    slot_id: int
    places: int
    added_total: int = Field(description="the session's extra places so far, these included")
    booking_no: str | None = None
    offered: int = Field(description="how many places were offered to the waitlist at once")
