"""The webhook envelope: an outbox event as the JSON body a subscriber receives.

``{"id": "msg_<event id>", "type": <topic>, "timestamp": <recorded, ISO 8601 UTC>,
"hospital": <hospital code or null>, "key": <aggregate>, "data": <payload>}``: compact,
UTF-8 (Chinese as it is, not escaped), keys in that order. The id is the ``webhook-id``
header too: the same for every attempt and redelivery of one event.
"""

from __future__ import annotations

import json
from datetime import UTC

from .model import OutboxEvent


def message_id(event: OutboxEvent) -> str:
    return f"msg_{event.id}"


def webhook_body(event: OutboxEvent, hospital_code: str | None) -> bytes:
    body = {
        "id": message_id(event),
        "type": event.topic,
        "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "hospital": hospital_code,
        "key": event.key,
        "data": event.payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
