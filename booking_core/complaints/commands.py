"""Commands about complaints (投诉): opened on a call, its recording attached, its status
set, assigned to an operator and replied to."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from .model import ComplaintStatus


@dataclass(frozen=True, kw_only=True)
class OpenComplaint(Command[str]):
    """A complaint (投诉) about to be recorded on a call; returns its tracking number."""

    call_sid: str


@dataclass(frozen=True, kw_only=True)
class AttachRecording(Command[str | None]):
    """A complaint's recording: from the recording's own callback or the end of the
    recording step, whichever comes first (both may come; the second changes nothing new)."""

    call_sid: str
    recording_sid: str | None = None
    recording_url: str | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class SetComplaintStatus(Command[str]):
    """An operator moved a complaint on: in_progress or resolved."""

    tracking_no: str
    status: ComplaintStatus
    resolution: str = ""


@dataclass(frozen=True, kw_only=True)
class AssignComplaint(Command[str]):
    """Give a complaint (投诉) to an operator to deal with (its ``assignee``; the audit log
    keeps who gave it to whom)."""

    tracking_no: str
    assignee: str  # an operator's user name


@dataclass(frozen=True, kw_only=True)
class ReplyToComplaint(Command[str]):
    """Answer a complaint: its status and resolution change, and a ``complaint.replied``
    event tells the caller the outcome by text (the caller's number travels encrypted)."""

    tracking_no: str
    reply: str
    status: ComplaintStatus = ComplaintStatus.RESOLVED  # or IN_PROGRESS: an interim answer
