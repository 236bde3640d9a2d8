"""Schemas of what hospital systems feed in and read in bulk (issue #13): the HIS's
blacklist, API tokens, and the pages every list answers with. Kept beside
:mod:`.schemas` (same rules: strict bodies, lenient queries) so that one stays readable."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from booking_core.blacklist import HisBan
from booking_core.schedule import Period

from .schemas import (
    DEPARTMENT_CODE,
    HOSPITAL_CODE,
    MAX_ID,
    WORK_NO,
    BlacklistList,
    BlacklistQuery,
    Body,
    BookingList,
    BookingQuery,
    Day,
    DepartmentOut,
    DoctorOut,
    Out,
    PatientList,
    PatientQuery,
    PatientSearchIn,
    Query,
    SlotList,
    SlotQuery,
)

MAX_PAGE = 200  # the most rows one page holds (below the store's bound on one read)
DEFAULT_PAGE = 50
CURSOR_HELP = (
    "the `next_cursor` of the page before, with the same filters; opaque (a cursor that was "
    "not given by this API, or given for other filters, is 400)"
)


class Paged(Query):
    """``limit`` and ``cursor`` of a list: a page that is not the last gives ``next_cursor``
    (and a ``Link: <…>; rel="next"`` header) to get the rest."""

    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="rows per page")
    cursor: str | None = Field(None, min_length=1, max_length=512, description=CURSOR_HELP)


class PageOut(Out):
    next_cursor: str | None = Field(
        description="null when this page is the last; else pass it as `cursor` for the next"
    )


class BookingPageQuery(BookingQuery, Paged):
    pass


class BookingPage(BookingList, PageOut):
    pass


class SlotPageQuery(SlotQuery, Paged):
    pass


class SlotPage(SlotList, PageOut):
    pass


class PatientPageQuery(PatientQuery, Paged):
    pass


class PatientSearchPageIn(PatientSearchIn):
    """:class:`PatientSearchIn` with the page asked for (in the body, as the look-up)."""

    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="rows per page")
    cursor: str | None = Field(None, min_length=1, max_length=512, description=CURSOR_HELP)


class PatientPage(PatientList, PageOut):
    pass


class BlacklistPageQuery(BlacklistQuery, Paged):
    source: Literal["admin", "his", "no_show"] | None = Field(
        None, description="only the bans of this source (his: what the HIS sent)"
    )


class BlacklistPage(BlacklistList, PageOut):
    pass


# --- a hospital's departments, doctors and sessions (科室、医生、排班) ----------------------


class DepartmentQuery(Paged):
    pass


class DepartmentPage(PageOut):
    items: list[DepartmentOut]


class DoctorQuery(Paged):
    department: str | None = Field(None, pattern=DEPARTMENT_CODE)


class DoctorPage(PageOut):
    items: list[DoctorOut]


class SessionQuery(Paged):
    from_: Day | None = Field(
        None, alias="from", description="first day (hospital-local); default today"
    )
    to: Day | None = Field(None, description="last day, inclusive; default 30 days after `from`")
    doctor: str | None = Field(None, pattern=WORK_NO)


class SessionSummaryOut(Out):
    id: int
    hospital: str
    department: str
    department_name: str
    doctor: str
    doctor_name: str
    date: dt.date
    period: Period
    start: str
    end: str
    starts_at: str = Field(description="hospital time")
    room: str
    status: str
    slot_minutes: int
    places_per_slot: int
    capacity: int
    booked: int
    free: int


class SessionPage(PageOut):
    items: list[SessionSummaryOut]


# --- the HIS's blacklist (HIS 黑名单同步) ------------------------------------------------


class HisBanIn(Body):
    card_no: str | None = Field(None, min_length=1, max_length=20, description="就诊卡号")
    id_number: str | None = Field(
        None, min_length=1, max_length=32, description="resident ID number (居民身份证号)"
    )
    until: Day = Field(description="last banned day, hospital-local, inclusive")
    reason: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _someone(self) -> HisBanIn:
        if self.card_no is None and self.id_number is None:
            raise ValueError("give card_no or id_number (or both, of the same patient)")
        return self


class HisBlacklistIn(Body):
    """The hospital's whole HIS blacklist: it replaces the one the HIS sent before."""

    hospital: str | None = Field(None, pattern=HOSPITAL_CODE, description="default: the token's")
    entries: list[HisBanIn] = Field(max_length=20_000)

    def bans(self) -> tuple[HisBan, ...]:
        """The entries as the core takes them (the API and the engine's pull alike)."""
        return tuple(
            HisBan(card_no=e.card_no, id_number=e.id_number, until=e.until, reason=e.reason)
            for e in self.entries
        )


class HisBlacklistOut(Out):
    hospital: str
    added: list[int] = Field(description="ids of the bans put on the list")
    lifted: list[int] = Field(description="ids of the bans the HIS no longer sends, lifted")
    unchanged: list[int] = Field(description="ids of the bans sent again as they were")


# --- API tokens -------------------------------------------------------------------------


class TokenOut(Out):
    """An API token as listed: never the token, nor its hash."""

    id: int = Field(ge=1, le=MAX_ID)
    name: str
    role: Literal["his", "kiosk", "admin"]
    hospital: str | None = Field(description="null: a platform token")
    created_at: str
    revoked_at: str | None


class TokenQuery(Paged):
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE)
    all: bool = Field(False, description="also revoked tokens")


class TokenList(PageOut):
    items: list[TokenOut]
