"""Clinic sessions and their slots, and slot searches (排班、号源).

Doors import this package, never its modules: ``from booking_core import schedule``."""

from .commands import CreateSession, CreateSessions
from .model import ClinicSession, Period, SessionStatus, Slot, SlotView
from .queries import (
    SESSION_ROW_SQL,
    SessionDetail,
    SessionRow,
    SlotSearch,
    list_sessions,
    search_slots,
    session_detail,
    session_key,
    session_row_from,
    slot_key,
)

__all__ = [
    "SESSION_ROW_SQL",
    "ClinicSession",
    "CreateSession",
    "CreateSessions",
    "Period",
    "SessionDetail",
    "SessionRow",
    "SessionStatus",
    "Slot",
    "SlotSearch",
    "SlotView",
    "list_sessions",
    "search_slots",
    "session_detail",
    "session_key",
    "session_row_from",
    "slot_key",
]
