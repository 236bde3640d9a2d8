"""The kiosk protocol, version 1 (docs/kiosk-protocol.md), as the kiosk reads and writes it.

Pure: bytes in, typed values out, and back; no MQTT client, no device. What the kiosk
cannot read comes back as :class:`Unreadable` (never an exception): the agent logs it once
per kind of problem and, when a job id could be read, acks the job ``bad_payload``.

- :func:`read_job` reads a job's envelope; the ``parse_*`` functions its payload (raising
  :class:`BadPayload` with what is wrong).
- :func:`ack_done` / :func:`ack_failed`: the one acknowledgement of a job.
- :func:`request` / :func:`read_reply`: what a patient asks at the kiosk, and the answer.
- :func:`status`: the retained status, and :data:`LAST_WILL`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from hardware.devices.base import ALL_DEVICE_ERRORS, DeviceError, PrinterNotReady
from hardware.devices.ticket import Ticket

VERSION = 1
ROOT = "guahao/v1/kiosk"
KIOSK_ID = re.compile(r"k[0-9a-f]{8}")
"""A kiosk's id and MQTT user name: safe in a topic and in a mosquitto ACL pattern."""

JOB_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
"""What the kiosk accepts as a job id: the engine's ids, and nothing that could not go in a
log line or a file name as it is."""

STATUS, REQUESTS, REPLIES, JOBS, ACKS = "status", "requests", "replies", "jobs", "acks"

BAD_PAYLOAD, UNKNOWN_KIND, EXPIRED = "bad_payload", "unknown_kind", "expired"
DEVICE_REASONS = tuple(
    error.code for error in ALL_DEVICE_ERRORS if error not in (DeviceError, PrinterNotReady)
)
"""The device error codes a job can fail with (the base classes are never raised)."""
ACK_REASONS = (*DEVICE_REASONS, BAD_PAYLOAD, UNKNOWN_KIND, EXPIRED)
"""Every ``reason`` of a failed ack: docs/kiosk-protocol.md lists the same (a test checks)."""

DONE, FAILED = "done", "failed"


def topic(kiosk_id: str, leaf: str) -> str:
    """``guahao/v1/kiosk/<id>/<leaf>``."""
    return f"{ROOT}/{kiosk_id}/{leaf}"


def dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- what cannot be read ----------------------------------------------------------------

NOT_JSON, NOT_OBJECT, UNKNOWN_VERSION, BAD_ENVELOPE = (
    "not JSON",
    "not a JSON object",
    "an unknown version",
    "a broken envelope",
)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A message the kiosk cannot read: ``problem`` is one of the four kinds above (what
    is logged once), ``detail`` says more, ``job_id`` is set when it could still be read."""

    problem: str
    detail: str
    job_id: str | None = None


class BadPayload(ValueError):
    """A job's payload does not fit its kind (a field missing, of the wrong type, or
    refused by the ticket's own checks)."""


def _object(data: bytes) -> dict[str, Any] | Unreadable:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        return Unreadable(NOT_JSON, f"{err}"[:200])
    if not isinstance(value, dict):
        return Unreadable(NOT_OBJECT, f"a JSON {type(value).__name__}")
    version = value.get("v")
    if type(version) is not int or version != VERSION:
        job_id = value.get("job_id")
        readable = job_id if isinstance(job_id, str) and JOB_ID.fullmatch(job_id) else None
        return Unreadable(UNKNOWN_VERSION, f"v={version!r}"[:60], readable)
    return value


# --- jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """A job's envelope: ``{"v": 1, "job_id", "kind", "created_at", "expires_at"?, "payload"}``."""

    job_id: str
    kind: str
    payload: dict[str, Any]
    created_at: str = ""
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def read_job(data: bytes) -> Job | Unreadable:
    value = _object(data)
    if isinstance(value, Unreadable):
        return value
    job_id = value.get("job_id")
    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        return Unreadable(BAD_ENVELOPE, f"job_id {str(job_id)[:70]!r}")
    kind, payload = value.get("kind"), value.get("payload", {})
    if not isinstance(kind, str) or not kind or not isinstance(payload, dict):
        return Unreadable(BAD_ENVELOPE, "kind must be a string and payload an object", job_id)
    created_at, expires = value.get("created_at", ""), value.get("expires_at")
    expires_at = None
    if expires is not None:
        try:
            expires_at = _instant(expires)
        except ValueError as err:
            return Unreadable(BAD_ENVELOPE, f"expires_at: {err}", job_id)
    return Job(job_id, kind, payload, str(created_at), expires_at)


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a string")
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return instant


def _field(payload: dict[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = payload.get(name)
    if value is None and optional:
        return None
    if type(value) is not kind:  # bool is no int here
        raise BadPayload(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _text(payload: dict[str, Any], name: str, *, optional: bool = False) -> str:
    value = _field(payload, name, str, optional=optional)
    if value is not None and any(unicodedata.category(c) == "Cc" for c in value):
        raise BadPayload(f"{name} has a control character")
    return value


def _amount(payload: dict[str, Any], name: str = "amount") -> int:
    amount = _field(payload, name, int)
    if amount <= 0:
        raise BadPayload(f"{name} must be a positive number of fen")
    return amount


def parse_ticket(payload: dict[str, Any], printed_at: datetime) -> Ticket:
    """The ticket of a ``print_ticket`` job; ``printed_at`` is now (the kiosk's clock)."""
    try:
        start, end = (_hhmm(_text(payload, name)) for name in ("start", "end"))
        tz = _text(payload, "tz", optional=True) or "Asia/Shanghai"
        return Ticket(
            hospital=_text(payload, "hospital"),
            department=_text(payload, "department"),
            doctor=_text(payload, "doctor"),
            doctor_title=_text(payload, "doctor_title"),
            room=_text(payload, "room"),
            day=date.fromisoformat(_text(payload, "day")),
            start=start,
            end=end,
            queue_no=_field(payload, "queue_no", int),
            booking_no=_text(payload, "booking_no"),
            masked_name=_text(payload, "masked_name"),
            fee=_field(payload, "fee", int),
            paid_by=_text(payload, "paid_by"),
            printed_at=printed_at,
            tz=tz,
        )
    except BadPayload:
        raise
    except ValueError as err:  # the Ticket's own checks, a date that is none
        raise BadPayload(str(err)) from err


def _hhmm(value: str) -> time:
    if not re.fullmatch(r"\d\d:\d\d", value):
        raise BadPayload(f"a time is HH:MM, not {value!r}")
    return time.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Charge:
    amount: int
    purpose: str
    booking_no: str | None
    card_no: str | None


def parse_charge(payload: dict[str, Any]) -> Charge:
    purpose = _text(payload, "purpose")
    if purpose not in ("booking", "top_up"):
        raise BadPayload(f"purpose must be booking or top_up, not {purpose[:20]!r}")
    booking_no = _text(payload, "booking_no", optional=True)
    card_no = _text(payload, "card_no", optional=True)
    if not (booking_no if purpose == "booking" else card_no):
        raise BadPayload("a booking charge names its booking_no, a top-up its card_no")
    return Charge(_amount(payload), purpose, booking_no, card_no)


def parse_reversal(payload: dict[str, Any]) -> str:
    """The terminal reference of the charge to reverse."""
    reference = _text(payload, "terminal_ref")
    if not reference:
        raise BadPayload("terminal_ref is empty")
    return reference


def parse_refund(payload: dict[str, Any]) -> tuple[int, str]:
    """The amount and the terminal reference of the charge it comes from."""
    return _amount(payload), parse_reversal(payload)


MESSAGE_SECONDS_MAX = 120


def parse_message(payload: dict[str, Any]) -> tuple[str, float]:
    """The text of a ``show_message`` job and how long it stays (1-120 s; 10 when left out)."""
    text = _field(payload, "text", str)
    seconds = payload.get("seconds", 10)
    if not text.strip() or len(text) > 500:
        raise BadPayload("text must be 1-500 characters")
    if type(seconds) not in (int, float) or not 1 <= seconds <= MESSAGE_SECONDS_MAX:
        raise BadPayload(f"seconds must be 1-{MESSAGE_SECONDS_MAX}")
    return text, float(seconds)


# --- acks ---------------------------------------------------------------------------------


def ack_done(job_id: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"v": VERSION, "job_id": job_id, "outcome": DONE, "detail": detail or {}}


def ack_failed(
    job_id: str, reason: str, message: str, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    ack: dict[str, Any] = {
        "v": VERSION,
        "job_id": job_id,
        "outcome": FAILED,
        "reason": reason,
        "message": message[:300],
    }
    if detail:
        ack["detail"] = detail
    return ack


# --- requests and replies -----------------------------------------------------------------


def request(request_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": VERSION, "request_id": request_id, "kind": kind, **fields}


@dataclass(frozen=True, slots=True)
class Reply:
    """The engine's answer: ``ok`` and the reply's fields, or the refusal's ``code`` and
    its Chinese ``message`` for the screen."""

    request_id: str
    ok: bool
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        message = self.body.get("message")
        return message if isinstance(message, str) else ""


def read_reply(data: bytes) -> Reply | Unreadable:
    value = _object(data)
    if isinstance(value, Unreadable):
        return value
    request_id, ok = value.get("request_id"), value.get("ok")
    if not isinstance(request_id, str) or not isinstance(ok, bool):
        return Unreadable(BAD_ENVELOPE, "a reply needs request_id (string) and ok (true/false)")
    return Reply(request_id, ok, value)


# --- status -------------------------------------------------------------------------------

LAST_WILL = {"v": VERSION, "online": False, "reason": "lost"}
GOODBYE = {"v": VERSION, "online": False, "reason": "stopped"}


def status(agent: str, at: datetime, devices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "v": VERSION,
        "online": True,
        "agent": agent,
        "at": at.isoformat(timespec="seconds"),
        "devices": devices,
    }
