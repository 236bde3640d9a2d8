"""Schemas of what hospital systems feed in and read in bulk (issue #13): the HIS's
blacklist, API tokens, and the pages every list answers with. Kept beside
:mod:`.schemas` (same rules: strict bodies, lenient queries) so that one stays readable."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from booking_core.blacklist import HisBan

from .schemas import HOSPITAL_CODE, MAX_ID, Body, Day, Out, Query

MAX_PAGE = 500  # the most rows one page holds (the store's own bound on a read)
DEFAULT_PAGE = 100


class Paged(Query):
    """``limit`` and ``cursor`` of a list: a page that is not the last gives ``next_cursor``
    (and a ``Link: <…>; rel="next"`` header) to get the rest."""

    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="rows per page")
    cursor: str | None = Field(
        None,
        max_length=512,
        description="the `next_cursor` of the page before, with the same filters; opaque "
        "(a cursor that was not given by this API, or given for other filters, is 400)",
    )


class PageOut(Out):
    next_cursor: str | None = Field(
        description="null when this page is the last; else pass it as `cursor` for the next"
    )


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
