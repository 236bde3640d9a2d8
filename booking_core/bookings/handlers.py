"""The bookings' command table: each command of :mod:`.commands` and the unit that runs it
(booking itself in :mod:`.admission`, changes in :mod:`.changes`, doctor stops in
:mod:`.stops`, the background sweeps in :mod:`.sweeps`, the waitlist (候补) in
:mod:`.waitlist_join` and :mod:`.waitlist`, extra places (加号) in :mod:`.extra_places`)."""

from __future__ import annotations

from ..kernel.registry import handler_table, on
from .admission import book_slot
from .changes import cancel_booking, check_in, confirm_booking, pay_booking, reschedule_booking
from .commands import (
    AddExtraPlaces,
    BookSlot,
    CancelBooking,
    CheckIn,
    ConfirmBooking,
    ExpireHolds,
    JoinWaitlist,
    LeaveWaitlist,
    PayBooking,
    RescheduleBooking,
    ResendConfirmation,
    RunDraws,
    StopSession,
    SweepNoShows,
    SweepWaitlists,
)
from .extra_places import add_extra_places
from .lottery import run_draws
from .resend import resend_confirmation
from .stops import stop_session
from .sweeps import expire_holds, sweep_no_shows
from .waitlist import sweep_waitlists
from .waitlist_join import join_waitlist, leave_waitlist

HANDLERS = handler_table(
    on(BookSlot, book_slot),
    on(PayBooking, pay_booking),
    on(ConfirmBooking, confirm_booking),
    on(CancelBooking, cancel_booking),
    on(RescheduleBooking, reschedule_booking),
    on(CheckIn, check_in),
    on(ResendConfirmation, resend_confirmation),
    on(StopSession, stop_session),
    on(ExpireHolds, expire_holds),
    on(RunDraws, run_draws),
    on(SweepNoShows, sweep_no_shows),
    on(JoinWaitlist, join_waitlist),
    on(LeaveWaitlist, leave_waitlist),
    on(SweepWaitlists, sweep_waitlists),
    on(AddExtraPlaces, add_extra_places),
)
