"""The checks every booking passes, from the rules in force: the booking window and
release (放号), the cut-off, cancel and reschedule deadlines, limits, ban lengths.
Pure functions of an instant, a rule set and the hospital's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..kernel.errors import (
    BookingClosed,
    BookingHoursClosed,
    CancelDeadlinePassed,
    DayClosed,
    LimitReached,
    OutsideBookingWindow,
    RescheduleDeadlinePassed,
)
from .calendar import parse_closed_hours
from .model import RuleKey, RuleSet

MAX_CLOSED_RUN_DAYS = 60
"""The longest run of closed days a release date steps back over (春节 is 8 or 9 days; an
entry error closing a whole year must not make the release search endless)."""

# --- pure checks -------------------------------------------------------------------


def local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def at_local(day: date, clock_time: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=tz)


def release_instant(day: date, rules: RuleSet, tz: ZoneInfo) -> datetime:
    """When the places of ``day`` are released (放号): N days before, at the release time.

    Releases skip closed days (节假日): when the date N days before ``day`` is closed in
    the hospital's calendar, ``day`` is released at the release time of the last open day
    before it (so the days a holiday would release all open on the working day before it,
    节前集中放号). The window is counted in calendar days, not open days."""
    window = int(rules.value(RuleKey.BOOKING_WINDOW_DAYS))
    release = time.fromisoformat(rules.value(RuleKey.RELEASE_TIME))
    on = day - timedelta(days=window)
    for _ in range(MAX_CLOSED_RUN_DAYS):
        if rules.calendar.is_open(on):
            break
        on -= timedelta(days=1)
    return at_local(on, release, tz)


def check_open_day(day: date, rules: RuleSet) -> None:
    """Refuse a booking for a clinic day the calendar closes (a holiday, a weekend, the
    hospital's own entry), with the day and why."""
    closure = rules.calendar.closure(day)
    if closure is not None:
        raise DayClosed(day=day, reason=str(closure.reason), name=closure.name)


def booking_hours_open_at(now: datetime, rules: RuleSet, tz: ZoneInfo) -> datetime | None:
    """When booking opens again if ``now`` falls in the closed hours (停止预约时段), else
    None (the rule switched off or "", or outside them). The end is exclusive: closed
    00:00-06:30 refuses 06:29:59 and takes 06:30:00."""
    if not rules.on(RuleKey.CLOSED_HOURS) or not rules.value(RuleKey.CLOSED_HOURS):
        return None
    hours = parse_closed_hours(rules.value(RuleKey.CLOSED_HOURS))
    here = local(now, tz)
    if not hours.covers(here.time().replace(tzinfo=None)):
        return None
    opens = at_local(here.date(), hours.end, tz)
    return opens if opens > here else opens + timedelta(days=1)


def check_booking_hours(now: datetime, rules: RuleSet, tz: ZoneInfo) -> None:
    """Refuse a booking made during the closed hours, saying when booking opens."""
    opens_at = booking_hours_open_at(now, rules, tz)
    if opens_at is not None:
        raise BookingHoursClosed(opens_at=opens_at)


def booking_cutoff(session_starts_at: datetime, rules: RuleSet) -> datetime:
    minutes = rules.limit(RuleKey.BOOKING_CUTOFF_MINUTES) or 0
    return session_starts_at - timedelta(minutes=minutes)


@dataclass(frozen=True, slots=True)
class BookingWindow:
    """What a hospital's booking window (预约周期) and release time (放号) open at ``now``:
    the days ``today`` .. ``last_open_day``; the next day opens at ``next_opens_at``.
    ``days`` is the rule's N ("today and the next N days"); before the release time the
    last open day is today + N - 1, from it on today + N."""

    today: date  # hospital-local
    days: int
    last_open_day: date
    next_opens_at: datetime  # hospital-local

    @property
    def next_day(self) -> date:
        return self.last_open_day + timedelta(days=1)


def booking_window(now: datetime, rules: RuleSet, tz: ZoneInfo) -> BookingWindow:
    """The days open for booking at ``now``: the same rule ``check_booking_window`` applies
    to one booking (a day is open once its ``release_instant`` has passed)."""
    today = local(now, tz).date()
    days = int(rules.value(RuleKey.BOOKING_WINDOW_DAYS))
    last = today + timedelta(days=days)
    if now < release_instant(last, rules, tz):
        last -= timedelta(days=1)
    # releases that skip closed days open later days early (before a holiday): count them
    for _ in range(MAX_CLOSED_RUN_DAYS):
        if now < release_instant(last + timedelta(days=1), rules, tz):
            break
        last += timedelta(days=1)
    return BookingWindow(today, days, last, release_instant(last + timedelta(days=1), rules, tz))


class SlotWindow(StrEnum):
    """Whether a slot can be booked at an instant: 放号 not yet, open, or past the cut-off."""

    NOT_YET_OPEN = "not_yet_open"
    OPEN = "open"
    CLOSED = "closed"


def slot_window(
    now: datetime, day: date, session_starts_at: datetime, rules: RuleSet, tz: ZoneInfo
) -> SlotWindow:
    """What ``check_booking_window`` would say of a booking at ``now``, without raising;
    a day the calendar closes (节假日) is closed, as ``check_open_day`` would refuse it."""
    if not rules.calendar.is_open(day):
        return SlotWindow.CLOSED
    if now < release_instant(day, rules, tz):
        return SlotWindow.NOT_YET_OPEN
    if now >= booking_cutoff(session_starts_at, rules):
        return SlotWindow.CLOSED
    return SlotWindow.OPEN


def check_booking_window(
    now: datetime, day: date, session_starts_at: datetime, rules: RuleSet, tz: ZoneInfo
) -> None:
    """Refuse too early (before 放号) with the opening instant, too late with the cut-off."""
    opens_at = release_instant(day, rules, tz)
    if now < opens_at:
        raise OutsideBookingWindow(opens_at=opens_at)
    check_booking_cutoff(now, session_starts_at, rules, tz)


def check_booking_cutoff(
    now: datetime, session_starts_at: datetime, rules: RuleSet, tz: ZoneInfo
) -> None:
    """Refuse at and after the cut-off (with channel pools the release is the pools')."""
    closes_at = booking_cutoff(session_starts_at, rules).astimezone(tz)
    if now >= closes_at:
        raise BookingClosed(closed_at=closes_at)


def cancel_deadline(session_starts_at: datetime, rules: RuleSet) -> datetime:
    minutes = rules.limit(RuleKey.CANCEL_DEADLINE_MINUTES) or 0
    return session_starts_at - timedelta(minutes=minutes)


def check_cancel_deadline(
    now: datetime, session_starts_at: datetime, rules: RuleSet, tz: ZoneInfo
) -> None:
    deadline = cancel_deadline(session_starts_at, rules)
    if now >= deadline:
        raise CancelDeadlinePassed(deadline=deadline.astimezone(tz))


def reschedule_deadline(
    day: date, session_starts_at: datetime, rules: RuleSet, tz: ZoneInfo
) -> datetime:
    """N days (default 1): until the end of the Nth day before the clinic day (local
    midnight). Switched off or 0: until the session starts, like a cancellation."""
    days = rules.limit(RuleKey.RESCHEDULE_DEADLINE_DAYS)
    if not days:
        return session_starts_at.astimezone(tz)
    return at_local(day - timedelta(days=days - 1), time(0, 0), tz)


def check_reschedule_deadline(
    now: datetime, day: date, session_starts_at: datetime, rules: RuleSet, tz: ZoneInfo
) -> None:
    deadline = reschedule_deadline(day, session_starts_at, rules, tz)
    if now >= deadline:
        raise RescheduleDeadlinePassed(deadline=deadline)


def check_limit(key: RuleKey, count: int, rules: RuleSet) -> None:
    """``count`` is what the patient (or phone) already has; one more must stay within."""
    limit = rules.limit(key)
    if limit is not None and count >= limit:
        raise LimitReached(rule=str(key), limit=limit)


def ban_end(now: datetime, rules: RuleSet, tz: ZoneInfo) -> datetime:
    """A ban of N days ends at local midnight after the Nth day, counting today as day 1."""
    days = int(rules.value(RuleKey.BLACKLIST_BAN_DAYS))
    today = now.astimezone(tz).date()
    return at_local(today + timedelta(days=days), time(0, 0), tz)
