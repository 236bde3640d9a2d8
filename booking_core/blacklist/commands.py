"""Commands about bans (黑名单): add, lift, import a file of them, replace the HIS's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..kernel.unit import Command
from .model import Appeal, BanSource, BlacklistEntry, BlacklistImport, HisBlacklistReplaced


@dataclass(frozen=True, kw_only=True)
class AddToBlacklist(Command[BlacklistEntry]):
    patient_id: int
    until: date  # last banned day, hospital-local, inclusive
    reason: str
    source: BanSource = BanSource.ADMIN  # or HIS (NO_SHOW is the sweep's own)
    platform_wide: bool = False


@dataclass(frozen=True, kw_only=True)
class LiftBan(Command[BlacklistEntry]):
    entry_id: int


@dataclass(frozen=True)
class BanLine:
    """One line of a blacklist file as typed: ``card_no,until,reason`` (``until`` the last
    banned day, ``YYYY-MM-DD``, hospital-local)."""

    line: int  # its number in the file, for the report
    card_no: str
    until: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ImportBlacklist(Command[BlacklistImport]):
    """A blacklist file, all or none, safe to import again. Every line is checked first; one
    bad line and nothing is added (the answer lists every bad line). A line whose ban is
    already on the list (same patient, same last day, not lifted), or repeats an earlier
    line, is skipped and reported as such, so an import cut off part-way can simply be
    run again. Returns :class:`BlacklistImport`."""

    hospital_code: str | None  # the operator's own, or the one a platform admin named
    lines: tuple[BanLine, ...]
    check_only: bool = False  # report what would happen, add nothing (the door found a bad line)


@dataclass(frozen=True, kw_only=True)
class HisBan:
    """One ban as the hospital's system (HIS) sends it: the patient by card number or by
    resident ID number (one of the two), the last banned day (hospital-local, inclusive)
    and why."""

    card_no: str | None = None
    id_number: str | None = None
    until: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReplaceHisBlacklist(Command[HisBlacklistReplaced]):
    """The hospital's HIS-sourced bans (source ``his``) become exactly ``entries``, in one
    unit: every entry is checked first and one bad entry changes nothing (the answer lists
    every bad one by its index); then the bans the HIS sent before and no longer sends are
    lifted and the new ones added. A ban sent again unchanged (same patient, last day and
    reason) is kept as it is, with no event: a feed that repeats itself does not churn.
    Bans of other sources (an administrator's, the no-show rule's) are never touched."""

    hospital_code: str
    entries: tuple[HisBan, ...]


@dataclass(frozen=True, kw_only=True)
class FileAppeal(Command[Appeal]):
    """A patient appeals against their ban in force (申诉): by text (``SS 理由``) or an agent
    at the desk. The ban is the one that ends last (at their hospital, or platform-wide);
    none is ``no_ban_to_appeal``, an appeal of that ban still open is ``appeal_pending``."""

    patient_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class DecideAppeal(Command[Appeal]):
    """An administrator decides an open appeal: ``grant`` lifts the ban; a rejection needs
    the ``answer`` the patient is texted (a grant may carry one too)."""

    appeal_id: int
    grant: bool
    answer: str = ""
