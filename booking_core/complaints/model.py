"""Complaints (投诉) and their statuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

COMPLAINT_STATUSES = ("recording", "received", "in_progress", "resolved")
"""recording: the caller is speaking; received: the message is in; then an operator's."""


@dataclass(frozen=True, slots=True)
class Complaint:
    tracking_no: str
    hospital_id: int | None
    channel: str
    call_sid: str | None
    caller_masked: str
    patient_id: int | None
    status: str
    recording_url: str | None
    recording_seconds: int | None
    resolution: str | None
    created_at: datetime
    updated_at: datetime
