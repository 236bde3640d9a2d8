"""Complaints (投诉) and their statuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ComplaintStatus(StrEnum):
    """Where a complaint (投诉) is: the caller speaking, then in, then an operator's."""

    RECORDING = "recording"  # the caller is leaving the message
    RECEIVED = "received"  # the message is in, nobody has it yet (待处理)
    IN_PROGRESS = "in_progress"  # an operator has it (处理中)
    RESOLVED = "resolved"  # 已办结: the caller is told the outcome


OPERATOR_STATUSES = frozenset(
    {ComplaintStatus.RECEIVED, ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED}
)
"""What an operator may set (the recording is over before an operator sees it)."""

REPLY_STATUSES = frozenset({ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED})
"""What a reply leaves it at: an interim answer, or the outcome."""


@dataclass(frozen=True, slots=True)
class Complaint:
    tracking_no: str
    hospital_id: int | None
    channel: str
    call_sid: str | None
    caller_masked: str
    patient_id: int | None
    status: ComplaintStatus
    recording_url: str | None
    recording_seconds: int | None
    resolution: str | None
    created_at: datetime
    updated_at: datetime
    assignee: str | None = None  # the operator it is given to (user name)
