"""A ban (黑名单) as the core keeps it. Instants are aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BanSource(StrEnum):
    """Who put a patient on the blacklist (stored with the ban)."""

    NO_SHOW = "no_show"  # the no-show sweep, by the hospital's rule (爽约)
    ADMIN = "admin"  # an administrator, on the console or through the API
    HIS = "his"  # the hospital's own system, through the API
    CREDIT = "credit"  # the credit ladder (信用): a strike whose step is a ban


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    id: int
    hospital_id: int | None  # None: every hospital on the platform
    patient_id: int
    reason: str
    source: BanSource
    starts_at: datetime
    ends_at: datetime
    lifted_at: datetime | None = None


@dataclass(frozen=True)
class LineRefused:
    line: int
    code: str  # a BookingError code, worded by the door
    params: dict[str, str]


@dataclass(frozen=True)
class BlacklistImport:
    added: tuple[int, ...]  # the new entries' ids; empty when any line was refused
    skipped: tuple[int, ...]  # line numbers whose ban was already there
    refused: tuple[LineRefused, ...]


@dataclass(frozen=True)
class EntryRefused:
    """An entry of a HIS blacklist that was refused, by its index in the list (from 0)."""

    index: int
    code: str  # a BookingError code, worded by the door
    params: dict[str, str]


@dataclass(frozen=True)
class HisBlacklistReplaced:
    """What :class:`~.commands.ReplaceHisBlacklist` did: nothing at all when ``refused``."""

    added: tuple[int, ...]  # entries put on the list
    lifted: tuple[int, ...]  # entries the HIS no longer sends, lifted
    unchanged: tuple[int, ...]  # entries sent again as they were, left alone
    refused: tuple[EntryRefused, ...]

    @property
    def done(self) -> bool:
        return not self.refused


class AppealStatus(StrEnum):
    """An appeal's state (申诉): open until an administrator decides it."""

    OPEN = "open"
    GRANTED = "granted"  # the ban was lifted
    REJECTED = "rejected"  # the ban stands


@dataclass(frozen=True, slots=True)
class Appeal:
    """A patient's appeal against a ban (申诉). Instants are aware UTC datetimes."""

    id: int
    hospital_id: int  # the patient's hospital
    ban_id: int
    patient_id: int
    reason: str
    channel: str  # sms, agent, api
    filed_by: str
    filed_at: datetime
    status: AppealStatus
    decided_at: datetime | None = None
    decided_by: str | None = None
    answer: str | None = None
