"""Commands of the back office (后台): complaints assigned and answered, a week of sessions
(排班) created at once. One handler each, in :mod:`booking_core.handlers.office`."""

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
