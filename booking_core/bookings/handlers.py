"""The bookings' command table: each command of :mod:`.commands` and the unit that runs it
(booking itself in :mod:`.admission`, changes in :mod:`.changes`, doctor stops in
:mod:`.stops`, the background sweeps in :mod:`.sweeps`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..kernel.unit import Command
from .admission import book_slot
from .changes import cancel_booking, check_in, pay_booking, reschedule_booking
from .commands import (
    BookSlot,
    CancelBooking,
    CheckIn,
    ExpireHolds,
    PayBooking,
    RescheduleBooking,
    StopSession,
    SweepNoShows,
)
from .stops import stop_session
from .sweeps import expire_holds, sweep_no_shows

HANDLERS: dict[type[Command], Callable[..., Any]] = {
    BookSlot: book_slot,
    PayBooking: pay_booking,
    CancelBooking: cancel_booking,
    RescheduleBooking: reschedule_booking,
    CheckIn: check_in,
    StopSession: stop_session,
    ExpireHolds: expire_holds,
    SweepNoShows: sweep_no_shows,
}
