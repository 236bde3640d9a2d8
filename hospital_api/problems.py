"""Every error as RFC 9457 ``application/problem+json``, from one table keyed by code.

``{"type": "/api/v1/problems/<code>", "title", "status", "detail", "code", ...params}``:
domain errors (:mod:`booking_core.kernel.errors`) by their ``.code`` with their ``.params``
spread in; the door's own refusals (bad JSON, schema, size, auth, routing) raise
:class:`Problem`. Dates and datetimes are ISO 8601 (datetimes with their offset).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from aiohttp import web

from booking_core.kernel.errors import BookingError, GuahaoError, SystemFault

PROBLEM_TYPE_BASE = "/api/v1/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 1  # the store comes back within a second or two, or an agent must help

# code → (HTTP status, title, detail template over the error's params)
DOMAIN_PROBLEMS: dict[str, tuple[int, str, str]] = {
    "not_found": (404, "Not found", "No {entity} {key}."),
    "invalid_input": (422, "Invalid input", "{field}: {reason}."),
    "invalid_id_number": (
        422,
        "Invalid resident ID number",
        "The resident ID number is not valid ({reason}).",
    ),
    "real_name_mismatch": (
        422,
        "Name does not match",
        "The name given does not match the registered patient.",
    ),
    "idempotency_key_reused": (
        422,
        "Idempotency key reused",
        "Idempotency-Key {key} was already used for a different request.",
    ),
    "forbidden": (403, "Forbidden", "This token may not {action}."),
    "call_ended": (409, "Call ended", "Call {call_sid} has already ended."),
    "agent_not_available": (
        409,
        "Agent not available",
        "The agent is {state}; only an available agent takes a caller.",
    ),
    "import_rejected": (
        422,
        "Import rejected",
        "Some rows are wrong (listed in errors), so nothing was imported.",
    ),
    "patient_exists": (
        409,
        "Patient already registered",
        "This patient is already registered as patient {patient_id} (card {card_no}).",
    ),
    "slot_full": (409, "Slot full", "Slot {slot_id} has no free place left."),
    "channel_full": (
        409,
        "Channel pool full",
        "Slot {slot_id} has no place left for channel {channel}; other channels' pools still"
        " have some until they roll into the public pool.",
    ),
    "already_booked": (
        409,
        "Already booked",
        "The patient already holds booking {booking_no} in this slot.",
    ),
    "blacklisted": (409, "Blacklisted", "The patient may not book until {until}: {reason}."),
    "no_ban_to_appeal": (
        409,
        "No ban to appeal",
        "Patient {patient_id} has no ban in force: there is nothing to appeal.",
    ),
    "appeal_pending": (
        409,
        "Appeal pending",
        "This ban already has appeal {appeal_id}, filed at {filed_at}, waiting for a decision.",
    ),
    "outside_window": (409, "Not open yet", "Booking for this day opens at {opens_at}."),
    "booking_closed": (409, "Booking closed", "Booking for this session closed at {closed_at}."),
    "limit_reached": (409, "Limit reached", "The {rule} limit of {limit} is reached."),
    "not_eligible": (
        409,
        "Not eligible",
        "The patient may not book {department}: {reason} (limit {limit}).",
    ),
    "day_closed": (409, "Day closed", "{day} is closed to booking: {reason} {name}."),
    "closed_hours": (
        409,
        "Booking hours closed",
        "Booking is closed at this hour; it opens at {opens_at}.",
    ),
    "cancel_deadline_passed": (
        409,
        "Too late to cancel",
        "Cancelling was possible until {deadline}.",
    ),
    "reschedule_deadline_passed": (
        409,
        "Too late to reschedule",
        "Rescheduling was possible until {deadline}.",
    ),
    "invalid_state": (409, "Not possible now", "A {status} booking cannot {action}."),
    "session_unavailable": (409, "Session unavailable", "Session {session_id} is {status}."),
    "check_in_not_open": (409, "Check-in not open", "Check-in opens at {opens_at}."),
    "check_in_closed": (409, "Check-in closed", "Check-in closed at {closed_at}."),
    "insufficient_balance": (
        409,
        "Insufficient balance",
        "The card balance is {balance} fen; {needed} fen are needed.",
    ),
    "substitute_full": (
        409,
        "Target session too small",
        "The target session has {available} free places; {needed} are needed.",
    ),
    "queued": (
        202,
        "Queued for the release draw",
        "The places were just released (fair admission, 公平放号): the request is queued and "
        "drawn by lot at {draw_at}; the outcome is texted to the booker and sent as "
        "booking.created (drawn) or draw.refused.",
    ),
    "already_queued": (
        409,
        "Already queued",
        "The patient is already queued in this session's draw at {draw_at}: one request each.",
    ),
    "waitlist_not_needed": (
        409,
        "Places are free",
        "Session {session_id} has {free} free places: book one instead of waiting.",
    ),
    "already_waiting": (
        409,
        "Already waiting",
        "The patient is already on the waitlist of session {session_id} (position {position}).",
    ),
    "waitlist_closed": (
        409,
        "Waitlist closed",
        "The waitlist of session {session_id} takes nobody ({reason}).",
    ),
    "extra_places_exhausted": (
        409,
        "Extra places exhausted",
        "Session {session_id} has had {added} of its {limit} extra places.",
    ),
    "store_unavailable": (
        503,
        "Service unavailable",
        "The booking store is unavailable; nothing was changed. Try again shortly.",
    ),
}

# the door's own problems: code → (status, title)
DOOR_PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed_json": (400, "Malformed JSON"),
    "invalid_cursor": (400, "Invalid cursor"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "body_too_large": (413, "Request body too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "invalid_request": (422, "Invalid request"),
    "client_disconnected": (499, "Client closed request"),  # logged and counted, never sent
    "internal_error": (500, "Internal error"),
}

# params whose names the problem's own members use
_RESERVED = frozenset({"type", "title", "status", "detail", "code", "instance", "errors"})
_RENAMED = {"status": "state"}


class Problem(Exception):
    """A refusal by the door itself, before or beside the core."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title = DOOR_PROBLEMS[code]
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def plain(value: Any) -> Any:
    """A JSON-ready value: ISO 8601 for dates and times, enum values, lists for tuples."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def domain_status(err: GuahaoError) -> int:
    known = DOMAIN_PROBLEMS.get(err.code)
    if known is not None:
        return known[0]
    return 503 if isinstance(err, SystemFault) else 409 if isinstance(err, BookingError) else 500


def body(status: int, code: str, title: str, detail: str, extra: dict[str, Any]) -> dict:
    doc: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    for key, value in extra.items():
        if key in _RESERVED and key != "errors":
            key = _RENAMED.get(key, f"param_{key}")
        doc[key] = plain(value)
    return doc


def response(status: int, doc: dict, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def from_domain(err: GuahaoError) -> web.Response:
    status = domain_status(err)
    params = {k: plain(v) for k, v in err.params.items()}
    _, title, template = DOMAIN_PROBLEMS.get(err.code, (status, err.code, err.code))
    try:
        detail = template.format(**params)
    except (KeyError, IndexError, ValueError):
        detail = title
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return response(status, body(status, err.code, title, detail, params), headers)


def from_problem(problem: Problem) -> web.Response:
    doc = body(problem.status, problem.code, problem.title, problem.detail, problem.extra)
    return response(problem.status, doc, problem.headers)


def from_http(exc: web.HTTPException) -> web.Response:
    """aiohttp's own refusals (no route, wrong method, too large) in our words."""
    if exc.status == 404:
        problem = Problem("not_found", "No such endpoint.")
    elif exc.status == 405:
        allowed = sorted(getattr(exc, "allowed_methods", ()) or ())
        problem = Problem(
            "method_not_allowed",
            f"Use {', '.join(allowed) or 'another method'} on this endpoint.",
            headers={"Allow": ", ".join(allowed)},
            allowed=allowed,
        )
    elif exc.status == 413:
        problem = Problem("body_too_large", "The request body is too large.")
    else:
        code = exc.reason.lower().replace(" ", "_") if exc.reason else "error"
        doc = body(exc.status, code, exc.reason or "Error", exc.text or exc.reason or "", {})
        return response(exc.status, doc, None)
    return from_problem(problem)


def internal() -> web.Response:
    return from_problem(Problem("internal_error", "Something went wrong on our side."))
