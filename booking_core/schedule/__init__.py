"""Clinic sessions and their slots, and slot searches (排班、号源).

Doors import this package, never its modules: ``from booking_core import schedule``."""

from .commands import (
    CreateSession,
    CreateSessions,
    DepartmentLine,
    DoctorLine,
    ImportSchedule,
    SessionLine,
)
from .imports import MAX_DEPARTMENTS, MAX_DOCTORS, MAX_SESSIONS
from .model import (
    ClinicSession,
    ImportCounts,
    Period,
    RowProblem,
    ScheduleImport,
    SessionStatus,
    Slot,
    SlotView,
)
from .queries import (
    FEED_PAGE_MAX,
    SESSION_ROW_SQL,
    FeedQuery,
    FeedSession,
    FeedSlot,
    SessionDetail,
    SessionRow,
    SlotSearch,
    feed_sessions,
    feed_slots,
    list_sessions,
    search_slots,
    session_detail,
    session_row_from,
)

__all__ = [
    "FEED_PAGE_MAX",
    "MAX_DEPARTMENTS",
    "MAX_DOCTORS",
    "MAX_SESSIONS",
    "SESSION_ROW_SQL",
    "ClinicSession",
    "CreateSession",
    "CreateSessions",
    "DepartmentLine",
    "DoctorLine",
    "FeedQuery",
    "FeedSession",
    "FeedSlot",
    "ImportCounts",
    "ImportSchedule",
    "Period",
    "RowProblem",
    "ScheduleImport",
    "SessionDetail",
    "SessionLine",
    "SessionRow",
    "SessionStatus",
    "Slot",
    "SlotSearch",
    "SlotView",
    "feed_sessions",
    "feed_slots",
    "list_sessions",
    "search_slots",
    "session_detail",
    "session_row_from",
]
