"""The webhook envelope (#13): the body the engine POSTs for an outbox event, the same on
every attempt, compact UTF-8 JSON in a fixed order; its headers signed as the Standard
Webhooks specification says, verified by its library, one signature per secret during a
rotation; the specification's fixed vector pins what "signed" means."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from booking_core.events import (
    EVENT_TYPES,
    OutboxEvent,
    SessionStopped,
    SlotChanged,
    message_id,
    webhook_body,
    webhook_headers,
)
from booking_core.events.examples import EXAMPLES

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the specification's example secret
RECORDED = datetime(2026, 7, 10, 2, 14, 5, tzinfo=UTC)


def _row(event, event_id=1042, created_at=RECORDED, attempts=0) -> OutboxEvent:
    return OutboxEvent(
        id=event_id,
        topic=event.topic,
        hospital_id=event.hospital_id,
        key=event.key,
        payload=event.payload(),
        created_at=created_at,
        attempts=attempts,
    )


def test_the_body_is_the_event_in_its_envelope_compact_and_in_order():
    stopped = EXAMPLES[SessionStopped]
    body = webhook_body(_row(stopped), "H001")
    assert json.loads(body) == {
        "id": "msg_1042",
        "type": "session.stopped",
        "timestamp": "2026-07-10T02:14:05Z",
        "hospital": "H001",
        "key": "4",
        "data": stopped.payload(),
    }
    assert body.startswith(b'{"id":"msg_1042","type":"session.stopped","timestamp":')
    assert b", " not in body
    assert b": " not in body
    assert "医生出差".encode() in body  # UTF-8, not \\u escapes


def test_the_body_is_the_same_on_every_attempt_and_names_no_hospital_for_the_platform():
    rule = EXAMPLES[EVENT_TYPES["rule.changed"]]
    first = webhook_body(_row(rule), None)
    again = webhook_body(_row(rule, attempts=7), None)
    assert first == again
    assert json.loads(first)["hospital"] is None
    assert message_id(1042) == json.loads(first)["id"] == "msg_1042"


def test_the_timestamp_is_utc_whatever_offset_the_row_carries():
    shanghai = RECORDED.astimezone(timezone(timedelta(hours=8)))
    body = webhook_body(_row(EXAMPLES[SlotChanged], created_at=shanghai), "H001")
    assert json.loads(body)["timestamp"] == "2026-07-10T02:14:05Z"
    naive = RECORDED.replace(tzinfo=None)
    with pytest.raises(ValueError, match="offset"):
        webhook_body(_row(EXAMPLES[SlotChanged], created_at=naive), "H001")


def test_a_standard_webhooks_library_verifies_the_headers():
    body = webhook_body(_row(EXAMPLES[SlotChanged]), "H001")
    now = datetime.now(UTC)
    headers = webhook_headers("msg_1042", now, body, [SECRET])
    assert headers["webhook-id"] == "msg_1042"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b'"free":1', b'"free":2'), headers)


def test_during_a_rotation_each_secret_verifies_on_its_own():
    new = "whsec_" + base64.b64encode(b"\x07" * 32).decode()
    body = webhook_body(_row(EXAMPLES[SlotChanged]), "H001")
    headers = webhook_headers("msg_1042", datetime.now(UTC), body, [new, SECRET])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers)
    assert Webhook(SECRET).verify(body, headers)
    stranger = "whsec_" + base64.b64encode(b"\x09" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(body, headers)


def test_headers_need_a_secret_and_an_aware_time():
    with pytest.raises(ValueError, match="secret"):
        webhook_headers("msg_1", datetime.now(UTC), b"{}", [])
    with pytest.raises(ValueError, match="offset"):
        webhook_headers("msg_1", datetime(2026, 7, 10), b"{}", [SECRET])


def test_the_signature_is_the_specifications_fixed_vector():
    """The Standard Webhooks specification's example (its libraries' tests pin it too)."""
    headers = webhook_headers(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        datetime.fromtimestamp(1614265330, UTC),
        b'{"test": 2432232314}',
        [SECRET],
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
