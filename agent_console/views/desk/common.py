"""What the desk's views share: masked patient rows, local times, errors as flashes."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core.kernel.errors import BookingError, InvalidInput
from booking_core.kernel.identity import mask_name
from booking_core.patients import Patient
from booking_core.schedule import SlotView

from ...i18n import DEFAULT_LANGUAGE, MESSAGES, language, translate

FILTERS = ("department", "doctor", "day", "time")


def local(instant: datetime | None, tz: str) -> str:
    if instant is None:
        return ""
    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def masked_id(p: Patient) -> str:
    return f"**************{p.id_last4}" if p.id_last4 else ""


def patient_row(p: Patient) -> dict[str, Any]:
    """A patient in a list: name ``张*``, phone ``138****5678``, ID number's last 4 only."""
    return {
        "id": p.id,
        "name": mask_name(p.name),
        "card_no": p.card_no,
        "phone": p.phone_masked,
        "id_number": masked_id(p),
    }


def slot_row(s: SlotView) -> dict[str, Any]:
    return {
        "slot_id": s.slot_id,
        "day": s.day,
        "start": s.start.strftime("%H:%M"),
        "end": s.end.strftime("%H:%M"),
        "period": s.period,
        "department_code": s.department_code,
        "department": s.department_name,
        "doctor_work_no": s.doctor_work_no,
        "doctor": s.doctor_name,
        "doctor_title": s.doctor_title,
        "room": s.room,
        "fee": s.fee,
        "free": s.free,
    }


def flash(request: web.Request, err: BookingError, tz: str) -> dict[str, Any]:
    """The core's refusal in the console's words (instants in the hospital's time; a
    booking's status in words, never its code; a limit worded by its rule where the
    catalogue has ``limit_reached.<rule>``, a refusal by its reason where it has
    ``<code>.<reason>``)."""
    params = {k: local(v, tz) if isinstance(v, datetime) else str(v) for k, v in err.params.items()}
    lang = language(request)
    words = MESSAGES.get(lang, MESSAGES[DEFAULT_LANGUAGE])
    shown = dict(params)
    key = err.code
    if "status" in shown:
        status_key = f"status_{shown['status']}"
        shown["status"] = words[status_key] if status_key in words else words["status_other"]
    if err.code == "limit_reached" and f"limit_reached.{params.get('rule')}" in words:
        key = f"limit_reached.{params['rule']}"
    elif f"{err.code}.{params.get('reason')}" in words:  # not_eligible.age_under, day_closed.…
        key = f"{err.code}.{params['reason']}"
    return {
        "error": err.code,
        "message": translate(lang, key, **shown),
        "params": params,
    }


def filters(request: web.Request) -> dict[str, str]:
    """The slot filter as typed (department code, doctor work number, day, time)."""
    return {k: request.query.get(k, "").strip() for k in FILTERS}


def parse_day(text: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("day", "YYYY-MM-DD") from None
    if not date(2000, 1, 1) <= day <= date(2999, 12, 31):  # as the API: no day near date.max
        raise InvalidInput("day", "YYYY-MM-DD from 2000-01-01 to 2999-12-31")
    return day


def parse_time(text: str) -> time | None:
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidInput("time", "HH:MM") from None


def query_string(values: dict[str, str]) -> str:
    kept = {k: v for k, v in values.items() if v}
    return "?" + urlencode(kept) if kept else ""
