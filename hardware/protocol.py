"""The kiosk protocol, version 1 (docs/kiosk-protocol.md): what goes over MQTT between the
engine and its kiosks, as both sides read and write it.

Pure: bytes in, typed values out, and back; no MQTT client, no device. What cannot be read
comes back as :class:`Unreadable` (never an exception), saying which kind of problem it is
(what a receiver logs once) and the ``job_id`` when that could still be read.

- :func:`topic` / :func:`parse_topic`: ``guahao/v1/kiosk/<id>/<leaf>``.
- jobs (engine → kiosk): :func:`job` writes one, :func:`read_job` reads its envelope (the
  kiosk reads each kind's payload with :mod:`hardware.agent.payloads`);
- acks (kiosk → engine): :func:`ack_done` / :func:`ack_failed`, :func:`read_ack`;
- requests (kiosk → engine): :func:`request`, :func:`read_request`;
- replies (engine → kiosk): :func:`reply`, :func:`read_reply`;
- status (kiosk → engine, retained): :func:`status`, :data:`LAST_WILL`, :data:`GOODBYE`,
  :func:`read_status`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hardware.devices.base import ALL_DEVICE_ERRORS, DeviceError, PrinterNotReady

VERSION = 1
ROOT = "guahao/v1/kiosk"
KIOSK_ID = re.compile(r"k[0-9a-f]{8}")
"""A kiosk's id and MQTT user name: safe in a topic and in a mosquitto ACL pattern."""

JOB_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
"""What a job id may be: the engine's ids, and nothing that could not go in a log line or
a file name as it is."""
REQUEST_ID = JOB_ID
"""A request id (the kiosk's UUIDs) is held to the same: it is a key of the engine's reply
cache and goes into its log."""

STATUS, REQUESTS, REPLIES, JOBS, ACKS = "status", "requests", "replies", "jobs", "acks"
LEAVES = (STATUS, REQUESTS, REPLIES, JOBS, ACKS)

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


def parse_topic(name: str) -> tuple[str, str] | None:
    """The kiosk id and the leaf of one of the protocol's topics; None for any other."""
    head, _, rest = name.rpartition("/")
    root, _, kiosk_id = head.rpartition("/")
    if root != ROOT or rest not in LEAVES or not KIOSK_ID.fullmatch(kiosk_id):
        return None
    return kiosk_id, rest


def dump(payload: Mapping[str, Any]) -> bytes:
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
    """A message that cannot be read: ``problem`` is one of the four kinds above (what
    is logged once), ``detail`` says more, ``job_id`` is set when it could still be read."""

    problem: str
    detail: str
    job_id: str | None = None


def _object(data: bytes) -> dict[str, Any] | Unreadable:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        return Unreadable(NOT_JSON, f"{err}"[:200])
    if not isinstance(value, dict):
        return Unreadable(NOT_OBJECT, f"a JSON {type(value).__name__}")
    version = value.get("v")
    if type(version) is not int or version != VERSION:
        return Unreadable(UNKNOWN_VERSION, f"v={version!r}"[:60], _job_id(value))
    return value


def _job_id(value: dict[str, Any]) -> str | None:
    job_id = value.get("job_id")
    return job_id if isinstance(job_id, str) and JOB_ID.fullmatch(job_id) else None


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a string")
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return instant


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


def job(
    job_id: str,
    kind: str,
    payload: Mapping[str, Any],
    created_at: datetime,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """A job as the engine publishes it (instants with their offset)."""
    envelope: dict[str, Any] = {
        "v": VERSION,
        "job_id": job_id,
        "kind": kind,
        "created_at": created_at.isoformat(timespec="seconds"),
    }
    if expires_at is not None:
        envelope["expires_at"] = expires_at.isoformat(timespec="seconds")
    return envelope | {"payload": dict(payload)}


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


@dataclass(frozen=True, slots=True)
class Ack:
    """The one outcome of a job, as the engine records it. ``bad`` is set when the ack
    itself could not be read but its ``job_id`` could: the job is then taken as failed
    ``bad_payload`` and ``message`` says what was wrong with the ack."""

    job_id: str
    outcome: str
    reason: str = ""
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    bad: bool = False

    @property
    def done(self) -> bool:
        return self.outcome == DONE


def read_ack(data: bytes) -> Ack | Unreadable:
    """An ack; an unreadable one whose job id can be read comes back as a ``bad`` Ack."""
    value = _object(data)
    if isinstance(value, Unreadable):
        return _bad_ack(value)
    job_id = _job_id(value)
    if job_id is None:
        return Unreadable(BAD_ENVELOPE, f"job_id {str(value.get('job_id'))[:70]!r}")
    outcome, reason = value.get("outcome"), value.get("reason", "")
    message, detail = value.get("message", ""), value.get("detail", {})
    if outcome not in (DONE, FAILED):
        return _bad_ack(Unreadable(BAD_ENVELOPE, f"outcome {str(outcome)[:20]!r}", job_id))
    if not isinstance(reason, str) or not isinstance(message, str) or not isinstance(detail, dict):
        problem = "reason and message must be strings and detail an object"
        return _bad_ack(Unreadable(BAD_ENVELOPE, problem, job_id))
    if outcome == FAILED and not reason:
        return _bad_ack(Unreadable(BAD_ENVELOPE, "a failed ack names its reason", job_id))
    if _too_big(detail):  # no store keeps it: the job failed, as an ack that cannot be read
        problem = f"detail holds an integer beyond ±{INTEGER_MAX}"
        return _bad_ack(Unreadable(BAD_ENVELOPE, problem, job_id))
    return Ack(job_id, outcome, reason, message[:300], detail)


INTEGER_MAX = 2**53
"""The largest integer an ack's detail may hold (JSON's exact integers): a terminal's amount
or answer code is far below; beyond it no database column takes it."""


def _too_big(value: Any) -> bool:
    """Whether a JSON value holds an integer beyond ±:data:`INTEGER_MAX`."""
    if isinstance(value, dict):
        return any(_too_big(v) for v in value.values())
    if isinstance(value, list):
        return any(_too_big(v) for v in value)
    return isinstance(value, int) and abs(value) > INTEGER_MAX


def _bad_ack(unreadable: Unreadable) -> Ack | Unreadable:
    if unreadable.job_id is None:
        return unreadable
    message = f"the ack was {unreadable.problem}: {unreadable.detail}"
    return Ack(unreadable.job_id, FAILED, BAD_PAYLOAD, message[:300], bad=True)


# --- requests and replies -----------------------------------------------------------------


def request(request_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": VERSION, "request_id": request_id, "kind": kind, **fields}


@dataclass(frozen=True, slots=True)
class Request:
    """What a patient asked at a kiosk: ``kind`` and the request's own fields."""

    request_id: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


def read_request(data: bytes) -> Request | Unreadable:
    value = _object(data)
    if isinstance(value, Unreadable):
        return value
    request_id, kind = value.get("request_id"), value.get("kind")
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        return Unreadable(BAD_ENVELOPE, f"request_id {str(request_id)[:70]!r}")
    if not isinstance(kind, str) or not kind:
        return Unreadable(BAD_ENVELOPE, "kind must be a string")
    fields = {k: v for k, v in value.items() if k not in ("v", "request_id", "kind")}
    return Request(request_id, kind, fields)


def reply(request_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The reply to a request: ``body`` is ``{"ok": true, …}`` or ``{"ok": false, "code",
    "params", "message"}``; the version and the request id are the protocol's own."""
    if not isinstance(body.get("ok"), bool):
        raise ValueError("a reply says ok: true or false")
    return {**body, "v": VERSION, "request_id": request_id}


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


@dataclass(frozen=True, slots=True)
class Status:
    """A kiosk's status: online with each device's state (``{"printer": {"state": "ok"}}``),
    or offline with the ``reason`` (``lost``: the broker's last will; ``stopped``)."""

    online: bool
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str = ""
    agent: str = ""
    at: datetime | None = None


def read_status(data: bytes) -> Status | Unreadable:
    value = _object(data)
    if isinstance(value, Unreadable):
        return value
    online, devices = value.get("online"), value.get("devices", {})
    reason, agent = value.get("reason", ""), value.get("agent", "")
    if not isinstance(online, bool):
        return Unreadable(BAD_ENVELOPE, "online must be true or false")
    if not isinstance(devices, dict) or not all(isinstance(d, dict) for d in devices.values()):
        return Unreadable(BAD_ENVELOPE, "devices must map each device to an object")
    if not isinstance(reason, str) or not isinstance(agent, str):
        return Unreadable(BAD_ENVELOPE, "reason and agent must be strings")
    at = None
    if value.get("at") is not None:
        try:
            at = _instant(value["at"])
        except ValueError as err:
            return Unreadable(BAD_ENVELOPE, f"at: {err}")
    return Status(online, devices, reason, agent, at)
