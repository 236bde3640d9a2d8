"""docs/events.md is written from the code (#13): the file is what the command writes; every
event type has its place on the page, a WHEN text and an example its JSON Schema accepts;
the page's webhook request is signed as a receiver checks it, and says what the feeds do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from datetime import timedelta

import jsonschema_rs  # schemathesis's JSON Schema validator (a test dependency through it)
import pytest

from booking_core import feeds
from booking_core.events import EVENT_TYPES, BookingEvent, SlotChanged
from booking_core.events import document as events_document
from booking_core.events.document import COMMAND, DOCUMENT, EXAMPLE_SECRET, render, stale
from booking_core.events.document_prose import GROUPS, WHEN
from booking_core.events.examples import EXAMPLES
from booking_core.events.schema import payload_rows, payload_schema

EVENT_TYPE_IDS = [t.__name__ for t in EVENT_TYPES.values()]
ROOT = DOCUMENT.parents[1]


@pytest.fixture(scope="module")
def page() -> str:
    return render()


# --- the page is the code's -------------------------------------------------------------


def test_docs_events_md_is_what_the_code_writes():
    assert stale() is None, stale()


def test_a_stale_page_is_told_with_the_command_that_writes_it(tmp_path):
    page = tmp_path / "events.md"
    page.write_text(render().replace("Places left", "Places free"), encoding="utf-8")
    problem = stale(page)
    assert problem is not None
    assert COMMAND in problem
    assert "-| `free` | integer | Places free (never below 0) |" in problem
    assert "+| `free` | integer | Places left (never below 0) |" in problem


def test_the_command_prints_the_page_and_checks_the_file():
    run = [sys.executable, "-m", "booking_core.events.document"]
    printed = subprocess.run(run, cwd=ROOT, capture_output=True, check=True, timeout=60)
    assert printed.stdout.decode() == render()
    assert subprocess.run([*run, "--check"], cwd=ROOT, timeout=60).returncode == 0


def test_every_event_type_is_on_the_page_once_with_when_it_is_emitted(page):
    grouped = [t for group in GROUPS for t in group.types]
    assert sorted(t.__name__ for t in grouped) == sorted(EVENT_TYPE_IDS)
    assert set(WHEN) == set(EVENT_TYPES.values())
    for event_type in EVENT_TYPES.values():
        assert page.count(f"\n### {event_type.__name__}\n") == 1
        assert f"Topic `{event_type.topic}`, key `{event_type.key_field}`." in page
        section = page.split(f"\n### {event_type.__name__}\n", 1)[1].split("\n### ", 1)[0]
        own = issubclass(event_type, BookingEvent)  # the shared fields are listed once
        for name, kind, meaning in payload_rows(event_type, own=own):
            assert f"| `{name}` | {kind} | {meaning} |" in section, (event_type, name)
        assert ("[the booking fields](#the-booking-fields)" in section) == own


def test_a_type_without_a_group_or_words_stops_the_page(monkeypatch):
    class Unsaid(SlotChanged):
        topic = "slot.unsaid"

    monkeypatch.setattr(events_document, "EVENT_TYPES", {**EVENT_TYPES, Unsaid.topic: Unsaid})
    with pytest.raises(LookupError, match=r"in no group.*Unsaid.*without a WHEN text.*Unsaid"):
        render()


# --- every example, as its schema says --------------------------------------------------


def _validator(event_type):
    return jsonschema_rs.validator_for(payload_schema(event_type), validate_formats=True)


@pytest.mark.parametrize("event_type", EVENT_TYPES.values(), ids=EVENT_TYPE_IDS)
def test_every_example_is_a_payload_its_json_schema_accepts(event_type, page):
    example = EXAMPLES[event_type]
    assert type(example) is event_type
    payload = example.payload()
    errors = [e.message for e in _validator(event_type).iter_errors(payload)]
    assert errors == []
    assert json.dumps(payload, ensure_ascii=False, indent=2) in page


def test_a_json_schema_refuses_what_its_type_would_not_take():
    """The negative control: the schemas are not so loose that anything passes."""
    booking = EXAMPLES[EVENT_TYPES["booking.created"]].payload()
    validator = _validator(EVENT_TYPES["booking.created"])
    assert validator.is_valid(booking)
    assert not validator.is_valid({k: v for k, v in booking.items() if k != "fee"})
    assert not validator.is_valid(booking | {"fee": "50.00"})
    assert not validator.is_valid(booking | {"channel": "fax"})
    assert not validator.is_valid(booking | {"day": "2026-07-32"})
    assert validator.is_valid(booking | {"waitlist": 4})  # a newer engine's field


# --- the webhook section ----------------------------------------------------------------


def test_the_documented_request_carries_the_signature_of_its_body(page):
    """The page's example, checked by hand as a receiver without a library would."""
    request = page.split("```http\n", 1)[1].split("\n```", 1)[0]
    head, body = request.split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    assert int(headers["Content-Length"]) == len(body.encode())
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    key = base64.b64decode(EXAMPLE_SECRET.removeprefix("whsec_"))
    mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{mac}"
    assert json.loads(body)["id"] == headers["webhook-id"]


def test_the_webhook_section_says_what_the_feeds_do(page):
    assert feeds.TIMEOUT_SECONDS == 10
    assert "within 10 seconds" in page
    assert timedelta(seconds=feeds.GIVE_UP_AFTER_SECONDS) == timedelta(days=3)
    assert "for up to 3 days" in page
