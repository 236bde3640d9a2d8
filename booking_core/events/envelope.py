"""The webhook envelope (Webhook 消息体): what the engine POSTs to a hospital's subscriber for
one outbox event, and the Standard Webhooks headers that sign it. ``docs/events.md`` shows
a whole request made by these functions; the webhook sender uses the same ones.

The body is compact JSON (UTF-8, Chinese as is)::

    {"id": "msg_1042", "type": "booking.created", "timestamp": "2026-07-11T00:31:02Z",
     "hospital": "H001", "key": "482716396", "data": {...the payload...}}

``id`` is the event's, so it is the same on every attempt and every redelivery: a receiver
dedupes on it. The headers (https://www.standardwebhooks.com/): ``webhook-id`` (the body's
``id``), ``webhook-timestamp`` (the attempt's Unix seconds) and ``webhook-signature``:
``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` keyed by the secret's
bytes (base64 after ``whsec_``), one per secret, space-separated, while a rotation
overlaps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

from .model import OutboxEvent

MESSAGE_ID_PREFIX = "msg_"


def message_id(event_id: int) -> str:
    """The webhook id of an outbox event: the same on every retry and redelivery."""
    return f"{MESSAGE_ID_PREFIX}{event_id}"


def webhook_body(event: OutboxEvent, hospital_code: str | None) -> bytes:
    """The body POSTed for ``event``: its id, topic (``type``), when it was recorded
    (``timestamp``, ISO 8601 UTC), the hospital's code (None: a platform-wide event),
    its key and its payload (``data``), in that order; compact JSON, UTF-8."""
    body = {
        "id": message_id(event.id),
        "type": event.topic,
        "timestamp": _utc(event.created_at),
        "hospital": hospital_code,
        "key": event.key,
        "data": event.payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_headers(
    msg_id: str, at: datetime, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at ``at``: ``body`` signed with each of
    ``secrets`` (``whsec_`` and base64; two during a rotation's overlap, the newest first)."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    if at.tzinfo is None:
        raise ValueError(f"an attempt's time must say its offset: {at!r}")
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def _utc(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"an event's created_at must say its offset: {at!r}")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
