"""Commands of the back office (后台): complaints assigned and answered, a week of sessions
(排班) created at once, a blacklist (黑名单) imported from a CSV file. One handler each, in
:mod:`booking_core.handlers.office`."""

from __future__ import annotations

from dataclasses import dataclass

from .commands import Command, CreateSession


@dataclass(frozen=True, kw_only=True)
class AssignComplaint(Command):
    """Give a complaint (投诉) to an operator to deal with (kept in the audit log)."""

    tracking_no: str
    assignee: str  # an operator's user name


@dataclass(frozen=True, kw_only=True)
class ReplyToComplaint(Command):
    """Answer a complaint: its status and resolution change, and a ``complaint.replied``
    event tells the caller the outcome by text (the caller's number travels encrypted)."""

    tracking_no: str
    reply: str
    status: str = "resolved"  # or "in_progress": an interim answer


@dataclass(frozen=True, kw_only=True)
class CreateSessions(Command):
    """Several sessions at once, all or none (a week's 排班 copied from a template week)."""

    sessions: tuple[CreateSession, ...]


@dataclass(frozen=True)
class BanLine:
    """One line of a blacklist file as typed: ``card_no,until,reason`` (``until`` the last
    banned day, ``YYYY-MM-DD``, hospital-local)."""

    line: int  # its number in the file, for the report
    card_no: str
    until: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ImportBlacklist(Command):
    """A blacklist file, all or none, safe to import again. Every line is checked first; one
    bad line and nothing is added (the answer lists every bad line). A line whose ban is
    already on the list (same patient, same last day, not lifted), or repeats an earlier
    line, is skipped and reported as such, so an import cut off part-way can simply be
    run again. Returns :class:`BlacklistImport`."""

    hospital_code: str | None  # the operator's own, or the one a platform admin named
    lines: tuple[BanLine, ...]
    check_only: bool = False  # report what would happen, add nothing (the door found a bad line)


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
