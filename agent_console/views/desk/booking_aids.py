"""What the desk's booking screens add around the core (#14): the booking filter pre-filled
from a taken call's IVR choices (screen pop), which of a patient's bookings the desk offers
to cancel, and a slot list's page key in a URL."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web

from booking_core.bookings import BookingStatus, BookingView
from booking_core.kernel.errors import InvalidInput
from booking_core.kernel.paging import PageKey

from ...i18n_desk import CANCEL_REASONS

MAX_KEY_LENGTH = 80  # a day, a time, a work number and an id: far less


def prefilled(chosen: dict[str, str], call: dict[str, Any] | None) -> dict[str, str]:
    """The booking filter: what the agent typed, or else what the caller chose on the
    phone menu (department code, doctor work number, day) before they were passed on
    (then ``from_call`` is ``"1"``: the form says where its values came from)."""
    if call is None or any(chosen.values()):
        return chosen
    day = str(call.get("day") or "")
    try:
        date.fromisoformat(day)
    except ValueError:
        day = ""  # not a day the form can hold: left for the agent to choose
    heard = {
        "department": str(call.get("department") or ""),
        "doctor": str(call.get("doctor") or ""),
        "day": day,
    }
    if not any(heard.values()):
        return chosen
    return {**chosen, **heard, "from_call": "1"}


def cancellable(view: BookingView, now: datetime) -> bool:
    """Whether the desk offers to cancel it: held or confirmed, its session not begun (the
    core has the last word: its cancel deadline may have passed already)."""
    return view.booking.status in (BookingStatus.HELD, BookingStatus.CONFIRMED) and (
        view.starts_at > now
    )


def page_key_text(key: PageKey) -> str:
    """A slot list's page key (:func:`booking_core.schedule.slot_key`) for a URL."""
    return "~".join(str(part) for part in key)


def parse_page_key(text: str) -> PageKey | None:
    """The page key of ``?after=`` (None: the first page); anything else is refused."""
    if not text:
        return None
    parts = text.split("~")
    if len(text) > MAX_KEY_LENGTH or len(parts) < 4:
        raise InvalidInput("after", "a page key from the list's next-page link")
    day, start, slot_id = parts[0], parts[1], parts[-1]
    work_no = "~".join(parts[2:-1])
    try:
        date.fromisoformat(day)
        datetime.strptime(start, "%H:%M")
    except ValueError:
        raise InvalidInput("after", "a page key from the list's next-page link") from None
    if not slot_id.isdigit() or len(slot_id) > 18:
        raise InvalidInput("after", "a page key from the list's next-page link")
    return (day, start, work_no, int(slot_id))


DONE_ON_RECORD = ("cancelled", "appealed", "waiting", "left_waitlist")  # just done (``?done=``)


def record_extras(
    request: web.Request, bookings: list[BookingView], now: datetime
) -> dict[str, Any]:
    """What the patient's record shows for the desk's booking work: which bookings it offers
    to cancel (by number), the reasons to choose from, and what was just done."""
    done = request.query.get("done", "")
    number = request.query.get("no", "")
    return {
        "cancellable": [b.booking.booking_no for b in bookings if cancellable(b, now)],
        "cancel_reasons": list(CANCEL_REASONS),
        "done": done if done in DONE_ON_RECORD else None,
        "done_no": number if number.isdigit() and len(number) <= 12 else "",
    }
