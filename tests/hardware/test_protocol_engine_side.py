"""The protocol as the engine reads it (acks, requests, status) and writes it (jobs,
replies): never an exception on what a kiosk sends, and what it writes the kiosk reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware import protocol
from hardware.agent import payloads
from hardware.protocol import Ack, Request, Status, Unreadable
from tests.hardware.kiosk_world import TICKET

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    max_leaves=20,
)
READERS = (protocol.read_ack, protocol.read_request, protocol.read_status)


@given(st.binary(max_size=200), st.sampled_from(READERS))
def test_the_engine_s_readers_never_raise(data, read):
    assert isinstance(read(data), Ack | Request | Status | Unreadable)


@given(JSON, st.sampled_from(READERS))
def test_the_engine_s_readers_never_raise_on_any_json(value, read):
    assert isinstance(read(json.dumps(value).encode()), Ack | Request | Status | Unreadable)


@given(JSON)
def test_the_engine_s_readers_never_raise_on_any_v1_object(fields):
    value = (fields if isinstance(fields, dict) else {"x": fields}) | {"v": 1}
    for read in READERS:
        assert isinstance(read(json.dumps(value).encode()), Ack | Request | Status | Unreadable)


def test_the_kiosk_s_acks_read_as_they_were_written():
    done = protocol.read_ack(protocol.dump(protocol.ack_done("J1", {"terminal_ref": "T9"})))
    assert done == Ack("J1", "done", detail={"terminal_ref": "T9"})
    assert done.done
    failed = protocol.ack_failed("J2", "paper_out", "paper out", {"n": 1})
    assert protocol.read_ack(protocol.dump(failed)) == Ack(
        "J2", "failed", "paper_out", "paper out", {"n": 1}
    )


@pytest.mark.parametrize(
    ("data", "job_id"),
    [
        (b'{"v": 2, "job_id": "J1", "outcome": "done"}', "J1"),
        (b'{"job_id": "J1"}', "J1"),
        (b'{"v": 1, "job_id": "J1", "outcome": "maybe"}', "J1"),
        (b'{"v": 1, "job_id": "J1", "outcome": "failed"}', "J1"),
        (b'{"v": 1, "job_id": "J1", "outcome": "done", "detail": []}', "J1"),
        (b'{"v":1,"job_id":"J1","outcome":"done","detail":{"a":[%d]}}' % 10**40, "J1"),
    ],
)
def test_an_ack_that_cannot_be_read_but_names_its_job_fails_that_job_bad_payload(data, job_id):
    ack = protocol.read_ack(data)
    assert isinstance(ack, Ack)
    assert (ack.job_id, ack.outcome, ack.reason, ack.bad) == (job_id, "failed", "bad_payload", True)
    assert ack.message.startswith("the ack was ")


@pytest.mark.parametrize(
    "data",
    [b"\xff", b"[]", b'{"v": 2}', b'{"v": 1, "outcome": "done"}', b'{"v":1,"job_id":"J 1"}'],
)
def test_an_ack_without_a_readable_job_id_is_unreadable(data):
    assert isinstance(protocol.read_ack(data), Unreadable)


def test_a_request_reads_as_the_kiosk_wrote_it():
    data = protocol.dump(protocol.request("5b0e7c3e-1", "check_in", booking_no="384759261"))
    assert protocol.read_request(data) == Request(
        "5b0e7c3e-1", "check_in", {"booking_no": "384759261"}
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"{", protocol.NOT_JSON),
        (b'"x"', protocol.NOT_OBJECT),
        (b'{"v": "1", "request_id": "r", "kind": "swipe"}', protocol.UNKNOWN_VERSION),
        (b'{"v": 1, "kind": "swipe"}', protocol.BAD_ENVELOPE),
        (b'{"v": 1, "request_id": "r 1", "kind": "swipe"}', protocol.BAD_ENVELOPE),
        (b'{"v": 1, "request_id": "r1", "kind": ""}', protocol.BAD_ENVELOPE),
    ],
)
def test_a_request_that_cannot_be_read_says_why(data, problem):
    unreadable = protocol.read_request(data)
    assert isinstance(unreadable, Unreadable)
    assert unreadable.problem == problem


def test_the_kiosk_s_status_will_and_goodbye_read_as_written():
    at = datetime(2026, 7, 10, 7, 31, 2, tzinfo=timezone(timedelta(hours=8)))
    devices = {"printer": {"state": "paper_out", "reason": "paper out"}}
    online = protocol.read_status(protocol.dump(protocol.status("guahao-kiosk 0.1.0", at, devices)))
    assert online == Status(True, devices, "", "guahao-kiosk 0.1.0", at)
    assert protocol.read_status(protocol.dump(protocol.LAST_WILL)) == Status(False, reason="lost")
    assert protocol.read_status(protocol.dump(protocol.GOODBYE)) == Status(False, reason="stopped")


@pytest.mark.parametrize(
    "value",
    [
        {"online": "yes"},
        {"online": True, "devices": []},
        {"online": True, "devices": {"printer": "ok"}},
        {"online": True, "at": "07:31"},
        {"online": False, "reason": 3},
    ],
)
def test_a_status_that_does_not_fit_is_unreadable(value):
    assert isinstance(protocol.read_status(protocol.dump({"v": 1} | value)), Unreadable)


def test_a_job_the_engine_writes_is_one_the_kiosk_reads_and_runs():
    created = datetime(2026, 7, 10, 0, 0, tzinfo=UTC)
    data = protocol.dump(
        protocol.job("J3f9c.1", "print_ticket", TICKET, created, created + timedelta(minutes=5))
    )
    job = protocol.read_job(data)
    assert isinstance(job, protocol.Job)
    assert (job.job_id, job.kind, job.created_at) == (
        "J3f9c.1",
        "print_ticket",
        created.isoformat(),
    )
    assert job.expires_at == created + timedelta(minutes=5)
    assert payloads.parse_ticket(job.payload, created).queue_no == TICKET["queue_no"]


def test_a_reply_the_engine_writes_is_one_the_kiosk_reads():
    reply = protocol.read_reply(protocol.dump(protocol.reply("r1", {"ok": True, "queue_no": 12})))
    assert isinstance(reply, protocol.Reply)
    assert (reply.request_id, reply.ok, reply.body["queue_no"]) == ("r1", True, 12)
    with pytest.raises(ValueError, match="ok"):
        protocol.reply("r1", {"queue_no": 12})
    # the body cannot change whose reply it is, nor its version
    assert protocol.reply("r1", {"ok": False, "request_id": "r2", "v": 9})["request_id"] == "r1"


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("guahao/v1/kiosk/k0000000a/acks", ("k0000000a", "acks")),
        ("guahao/v1/kiosk/k0000000a/status", ("k0000000a", "status")),
        ("guahao/v1/kiosk/K0000000A/acks", None),
        ("guahao/v1/kiosk/k0000000a/other", None),
        ("guahao/v1/kiosk/k0000000a/acks/x", None),
        ("guahao/v2/kiosk/k0000000a/acks", None),
        ("guahao/v1/kiosk/engine/acks", None),
    ],
)
def test_a_topic_names_its_kiosk_and_leaf(name, parsed):
    assert protocol.parse_topic(name) == parsed
