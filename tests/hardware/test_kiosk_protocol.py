"""The protocol as the kiosk reads it: never an exception, whatever comes."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware import protocol
from hardware.agent import payloads
from hardware.agent.payloads import BadPayload
from hardware.agent.screen import DEVICE_WORDS
from hardware.devices.base import ALL_DEVICE_ERRORS
from hardware.protocol import Job, Unreadable
from tests.hardware.kiosk_world import TICKET

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 7, 10, 0, 12, 5, tzinfo=UTC)


@given(st.binary(max_size=200))
def test_read_job_never_raises(data):
    assert isinstance(protocol.read_job(data), Job | Unreadable)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_read_job_never_raises_on_any_json(value):
    assert isinstance(protocol.read_job(json.dumps(value).encode()), Job | Unreadable)


@pytest.mark.parametrize(
    ("data", "problem", "job_id"),
    [
        (b"\xff{", protocol.NOT_JSON, None),
        (b"[1]", protocol.NOT_OBJECT, None),
        (b'{"v": 2, "job_id": "J1"}', protocol.UNKNOWN_VERSION, "J1"),
        (b'{"v": true, "job_id": "J1"}', protocol.UNKNOWN_VERSION, "J1"),
        (b'{"job_id": "J1"}', protocol.UNKNOWN_VERSION, "J1"),
        (b'{"v": 2, "job_id": "J 1"}', protocol.UNKNOWN_VERSION, None),
        (b'{"v": 1, "kind": "print_ticket"}', protocol.BAD_ENVELOPE, None),
        (b'{"v": 1, "job_id": "J1"}', protocol.BAD_ENVELOPE, "J1"),
        (b'{"v": 1, "job_id": "J1", "kind": "x", "payload": []}', protocol.BAD_ENVELOPE, "J1"),
        (
            b'{"v": 1, "job_id": "J1", "kind": "x", "expires_at": "soon"}',
            protocol.BAD_ENVELOPE,
            "J1",
        ),
        (
            b'{"v":1,"job_id":"J1","kind":"x","expires_at":"2026-07-10T08:00:00"}',
            protocol.BAD_ENVELOPE,
            "J1",
        ),
    ],
)
def test_what_cannot_be_read_says_why_and_keeps_the_job_id_it_could_read(data, problem, job_id):
    unreadable = protocol.read_job(data)
    assert isinstance(unreadable, Unreadable)
    assert (unreadable.problem, unreadable.job_id) == (problem, job_id)


def test_a_job_expires_at_its_instant():
    job = protocol.read_job(
        b'{"v":1,"job_id":"J1","kind":"show_message","expires_at":"2026-07-10T08:00:00+08:00"}'
    )
    assert isinstance(job, Job)
    assert not job.expired(datetime(2026, 7, 9, 23, 59, 59, tzinfo=UTC))
    assert job.expired(datetime(2026, 7, 10, 0, 0, 0, tzinfo=UTC))


def test_a_ticket_payload_is_the_ticket_printed_at_now():
    ticket = payloads.parse_ticket(TICKET, NOW)
    assert (ticket.day, ticket.start, ticket.end) == (date(2026, 7, 10), time(8, 30), time(9))
    assert (ticket.queue_no, ticket.fee, ticket.printed_at, ticket.tz) == (
        12,
        5000,
        NOW,
        "Asia/Shanghai",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"queue_no": "12"},
        {"queue_no": True},
        {"fee": 50.0},
        {"start": "8:30"},
        {"day": "2026-13-01"},
        {"masked_name": "李四"},
        {"room": "312\x1b@"},
        {"booking_no": "ABC"},
        {"tz": "Mars/Olympus"},
        {"hospital": None},
    ],
)
def test_a_ticket_payload_that_does_not_fit_is_a_bad_payload(change):
    with pytest.raises(BadPayload):
        payloads.parse_ticket(TICKET | change, NOW)


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": 0, "purpose": "booking", "booking_no": "1"},
        {"amount": "50", "purpose": "booking", "booking_no": "1"},
        {"amount": 50, "purpose": "booking"},
        {"amount": 50, "purpose": "top_up", "booking_no": "1"},
        {"amount": 50, "purpose": "gift", "booking_no": "1"},
    ],
)
def test_a_charge_payload_that_does_not_fit_is_a_bad_payload(payload):
    with pytest.raises(BadPayload):
        payloads.parse_charge(payload)


def test_every_ack_reason_is_listed_in_the_protocol_and_no_other():
    docs = (REPO / "docs" / "kiosk-protocol.md").read_text(encoding="utf-8")
    section = docs.split("`reason` is one of:")[1].split("\n\n")[0]
    assert set(re.findall(r"`([a-z_]+)`", section)) == set(protocol.ACK_REASONS)


def test_the_topics_are_the_protocol_s():
    docs = (REPO / "docs" / "kiosk-protocol.md").read_text(encoding="utf-8")
    for leaf in ("status", "requests", "replies", "jobs", "acks"):
        assert f"`{protocol.topic('<id>', leaf)}`" in docs
    assert json.dumps(protocol.LAST_WILL) in docs
    assert json.dumps(protocol.GOODBYE) in docs


def test_every_device_error_has_words_for_the_patient():
    assert set(DEVICE_WORDS) == {error.code for error in ALL_DEVICE_ERRORS}
    assert all(words.strip() for words in DEVICE_WORDS.values())
