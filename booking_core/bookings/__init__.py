"""Book, pay, cancel, reschedule, check in, doctor stops and the sweeps (预约、停诊).

Doors import this package, never its modules: ``from booking_core import bookings``."""

from .commands import (
    BookSlot,
    CancelBooking,
    CheckIn,
    ConfirmBooking,
    ExpireHolds,
    PayBooking,
    RescheduleBooking,
    ResendConfirmation,
    RunDraws,
    StopSession,
    SweepNoShows,
)
from .model import (
    ACTIVE_SQL,
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    BookingView,
    CancelReason,
    DrawOutcome,
)
from .queries import (
    MAX_EXPORT,
    MAX_PAGE,
    BookingPage,
    BookingQuery,
    StopPreview,
    booking_key,
    export_bookings,
    get_booking,
    list_bookings,
    query_bookings,
    stop_preview,
)
from .resend import RESENDABLE, RESENDS_PER_HOUR

__all__ = [
    "ACTIVE_SQL",
    "ACTIVE_STATUSES",
    "MAX_EXPORT",
    "MAX_PAGE",
    "RESENDABLE",
    "RESENDS_PER_HOUR",
    "BookSlot",
    "Booking",
    "BookingPage",
    "BookingQuery",
    "BookingStatus",
    "BookingView",
    "CancelBooking",
    "CancelReason",
    "CheckIn",
    "ConfirmBooking",
    "DrawOutcome",
    "ExpireHolds",
    "PayBooking",
    "RescheduleBooking",
    "ResendConfirmation",
    "RunDraws",
    "StopPreview",
    "StopSession",
    "SweepNoShows",
    "booking_key",
    "export_bookings",
    "get_booking",
    "list_bookings",
    "query_bookings",
    "stop_preview",
]
