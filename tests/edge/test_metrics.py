"""The bookings metric as the doors report to it: one call per attempt, and a counter that
fails never fails the door (each door's own counting is tested with it: tests/ivr,
tests/sms, tests/hospital_api)."""

from __future__ import annotations

import logging

from edge.metrics import count_booking


def test_an_attempt_is_reported_with_its_channel_and_result():
    heard: list[tuple[str, str]] = []
    count_booking(lambda channel, result: heard.append((channel, result)), "ivr", "created")
    count_booking(lambda channel, result: heard.append((channel, result)), "sms", "slot_full")
    assert heard == [("ivr", "created"), ("sms", "slot_full")]


def test_a_door_without_a_counter_reports_nothing():
    count_booking(None, "ivr", "created")  # nothing to call, nothing raised


def test_a_failing_counter_is_logged_and_does_not_raise(caplog):
    def broken(channel: str, result: str) -> None:
        raise RuntimeError("metrics down")

    with caplog.at_level(logging.ERROR, logger="edge.metrics"):
        count_booking(broken, "api", "replayed")
    [record] = caplog.records
    assert record.getMessage() == "on_booking(api, replayed) failed"
    assert record.exc_info is not None
    assert "metrics down" in str(record.exc_info[1])
