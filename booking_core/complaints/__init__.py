"""Complaints and their tracking numbers (投诉).

Doors import this package, never its modules: ``from booking_core import complaints``."""

from .commands import (
    AssignComplaint,
    AttachRecording,
    OpenComplaint,
    ReplyToComplaint,
    SetComplaintStatus,
)
from .model import OPERATOR_STATUSES, REPLY_STATUSES, Complaint, ComplaintStatus
from .queries import complaint, complaint_history, complaints

__all__ = [
    "OPERATOR_STATUSES",
    "REPLY_STATUSES",
    "AssignComplaint",
    "AttachRecording",
    "Complaint",
    "ComplaintStatus",
    "OpenComplaint",
    "ReplyToComplaint",
    "SetComplaintStatus",
    "complaint",
    "complaint_history",
    "complaints",
]
