"""Complaints and their tracking numbers (投诉).

Doors import this package, never its modules: ``from booking_core import complaints``."""

from .commands import (
    AssignComplaint,
    AttachRecording,
    OpenComplaint,
    ReplyToComplaint,
    SetComplaintStatus,
)
from .model import COMPLAINT_STATUSES, Complaint
from .queries import complaint, complaint_assignee, complaint_history, complaints

__all__ = [
    "COMPLAINT_STATUSES",
    "AssignComplaint",
    "AttachRecording",
    "Complaint",
    "OpenComplaint",
    "ReplyToComplaint",
    "SetComplaintStatus",
    "complaint",
    "complaint_assignee",
    "complaint_history",
    "complaints",
]
