"""The MLLP links against a real local listener: one connection per endpoint, one message
at a time, each ACK matched to its control id and mapped to an outcome; timeouts, drops
and refusals come back as retries, never as exceptions."""

from __future__ import annotations

import asyncio
import logging
import socket

import hl7
import pytest

from booking_core.feeds import Outcome
from hospital_api.hl7.mllp import MllpLinks, outcome_of
from tests.hospital_api.hl7.fake_his import FakeHis, ack

TIMEOUT = 0.5  # seconds: long enough for a local ACK on a busy machine, short for the tests


def message(control_id: str, name: str = "张三") -> str:
    return (
        f"MSH|^~\\&|GUAHAO|H001|HIS|H001|20260710090000+0800||SIU^S12^SIU_S12|{control_id}|P|"
        f"2.5.1|||||CHN|UNICODE UTF-8\rPID|1||12345678^^^H001^PI||{name}\r"
    )


@pytest.fixture
async def links():
    made = MllpLinks(timeout_seconds=TIMEOUT)
    try:
        yield made
    finally:
        await made.close()


async def send(links: MllpLinks, his: FakeHis, control_id: str):
    return await links.send("127.0.0.1", his.port, message(control_id), control_id)


async def test_aa_is_delivered_and_one_connection_carries_every_message(links, his):
    for n in range(3):
        result = await send(links, his, f"GH{n}")
        assert result.outcome is Outcome.DELIVERED
        assert result.error == ""
        assert result.status_code is None
    assert [r.control_id for r in his.received] == ["GH0", "GH1", "GH2"]
    assert his.connections == 1
    assert str(his.received[0].message.segment("PID")(5)) == "张三"  # UTF-8 end to end


async def test_ae_is_retried_with_the_his_words_then_aa_delivers(links, his):
    his.answer(("AE", "207"))
    first = await send(links, his, "GH7")
    assert first.outcome is Outcome.RETRY
    assert first.error.startswith("AE 207: x | y; Application internal error")
    again = await send(links, his, "GH7")
    assert again.outcome is Outcome.DELIVERED
    assert [r.control_id for r in his.received] == ["GH7", "GH7"]
    assert his.connections == 1  # an AE is an answer: the connection stays


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (("AR", "207"), Outcome.RETRY),  # the HIS's internal error: may pass
        (("AR", "206"), Outcome.RETRY),  # record locked
        ("AR", Outcome.RETRY),  # no reason given
        (("AR", "200"), Outcome.REJECTED),  # unsupported message type: never
        (("AR", "101"), Outcome.REJECTED),  # a required field missing
        (("AR", "100"), Outcome.REJECTED),
        (("AE", "200"), Outcome.RETRY),  # an error, not a reject
        ("CA", Outcome.DELIVERED),  # enhanced mode's commit accept
        ("CE", Outcome.RETRY),
        (("CR", "102"), Outcome.REJECTED),
    ],
)
async def test_each_answer_has_its_outcome(links, his, answer, outcome):
    his.answer(answer)
    assert (await send(links, his, "GH1")).outcome is outcome


def test_an_err_in_the_v2_4_place_is_read_too():
    old = hl7.parse(
        "MSH|^~\\&|HIS|H001|GUAHAO|H001|20260710090000||ACK^S12^ACK|A1|P|2.4\r"
        "MSA|AR|GH1|Unsupported\rERR|SCH^1^1^200&Unsupported message type&HL70357\r"
    )
    assert outcome_of(old) == (Outcome.REJECTED, "AR 200: Unsupported; Unsupported message type")
    strange = hl7.parse(ack("GH1", "ZZ"))
    assert outcome_of(strange) == (Outcome.RETRY, "unknown acknowledgement code 'ZZ'")


async def test_a_dropped_connection_is_retried_and_the_next_send_reconnects(links, his):
    his.answer("drop")
    first = await send(links, his, "GH3")
    assert first.outcome is Outcome.RETRY
    assert "connection closed by 127.0.0.1" in first.error
    assert "waiting for the ACK" in first.error
    again = await send(links, his, "GH3")
    assert again.outcome is Outcome.DELIVERED
    assert his.connections == 2
    assert his.accepted() == ["GH3"]


async def test_a_connection_the_his_closed_while_idle_is_reopened_before_sending(links, his):
    assert (await send(links, his, "GH1")).outcome is Outcome.DELIVERED
    for writer in his._writers:  # the HIS closes its idle connections
        writer.close()
    await asyncio.sleep(0.05)
    assert (await send(links, his, "GH2")).outcome is Outcome.DELIVERED
    assert his.connections == 2


async def test_no_ack_in_time_is_retried_and_the_resend_carries_the_same_control_id(links, his):
    his.answer("silent")
    first = await send(links, his, "GH9")
    assert first.outcome is Outcome.RETRY
    assert first.error == f"no ACK within {TIMEOUT:g} s from 127.0.0.1:{his.port}"
    assert first.duration_ms >= TIMEOUT * 1000 * 0.9
    again = await send(links, his, "GH9")
    assert again.outcome is Outcome.DELIVERED
    assert [r.control_id for r in his.received] == ["GH9", "GH9"]
    assert his.received[0].text == his.received[1].text
    assert his.connections == 2  # the silent connection was closed: no late ACK on the new one


async def test_an_ack_for_another_control_id_is_skipped(links, his, caplog):
    his.answer("other")
    with caplog.at_level(logging.WARNING, logger="hospital_api.hl7.mllp"):
        result = await send(links, his, "GH5")
    assert result.outcome is Outcome.DELIVERED
    assert "an ACK for 'GH-late' while waiting for 'GH5': skipped" in caplog.text


async def test_a_refused_connection_is_a_retry_not_an_exception(links):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await links.send("127.0.0.1", port, message("GH1"), "GH1")
    assert result.outcome is Outcome.RETRY
    assert result.error.startswith(f"connection to 127.0.0.1:{port} failed while connecting")


async def test_concurrent_sends_to_one_endpoint_wait_their_turn(links, his):
    his.answer(*["slow"] * 5)
    results = await asyncio.gather(*(send(links, his, f"GH{n}") for n in range(5)))
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 5
    assert sorted(his.accepted()) == [f"GH{n}" for n in range(5)]
    assert his.connections == 1


async def test_each_endpoint_has_its_own_connection(links, his):
    other = await FakeHis().start()
    try:
        for n in range(2):
            assert (await send(links, his, f"GH{n}")).outcome is Outcome.DELIVERED
            assert (await send(links, other, f"GH{n}")).outcome is Outcome.DELIVERED
        assert (his.connections, other.connections) == (1, 1)
        assert his.accepted() == other.accepted() == ["GH0", "GH1"]
    finally:
        await other.stop()


async def test_an_endpoint_not_answering_is_logged_once_going_and_once_back(links, his, caplog):
    his.answer("drop", "silent", "drop", ("AE", "207"))
    with caplog.at_level(logging.DEBUG, logger="hospital_api.hl7.mllp"):
        for _ in range(3):
            assert (await send(links, his, "GH1")).outcome is Outcome.RETRY
        assert (await send(links, his, "GH1")).outcome is Outcome.RETRY  # AE: an answer
        assert (await send(links, his, "GH1")).outcome is Outcome.DELIVERED
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    gone = next(m for _, m in said if "answering again" in m).split("after ")[1].split()[0]
    assert 0 <= int(gone) <= 2 * TIMEOUT + 1
    assert [w for w in said if w[0] != "DEBUG"] == [
        ("WARNING", f"HL7 127.0.0.1:{his.port} not answering: connection closed by "
         f"127.0.0.1:{his.port} while waiting for the ACK (said once until it answers again)"),
        ("INFO", f"HL7 127.0.0.1:{his.port} answering again after {gone} s"),
        ("WARNING", f"HL7 127.0.0.1:{his.port} answered GH1: AE 207: x | y; Application "
         "internal error; see log (retry)"),
    ]  # fmt: skip
    assert sum(level == "DEBUG" for level, _ in said) == 2
