"""The bank card terminal driver against the terminal simulator on a real pseudo-terminal:
money is taken once, given back once, and never lost track of when an answer does not come."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hardware.devices import (
    Approval,
    CardTerminal,
    DeviceBusy,
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeout,
    PaymentDeclined,
    SerialCardTerminal,
)
from hardware.devices.base import (
    CHARGE_TIMEOUT_SECONDS,
    RECONNECT_INTERVAL_SECONDS,
    REVERSAL_TIMEOUT_SECONDS,
)
from hardware.devices.frames import encode_frame
from hardware.simulators import CardTerminalSimulator
from hardware.simulators.card_terminal import CARD, Busy, Decline, Die, JournalEntry, NoAnswer
from tests.hardware.helpers import eventually, reconnect, running

RECONNECT = RECONNECT_INTERVAL_SECONDS


@pytest.fixture
async def sim(tmp_path):
    async with CardTerminalSimulator(link=tmp_path / "ttyPOS0") as simulator:
        yield simulator


@pytest.fixture
def terminal(sim, clock) -> SerialCardTerminal:
    return SerialCardTerminal(sim.port, sleep=clock.sleep)


async def within(seconds: float, work):
    async with asyncio.timeout(seconds):
        return await work


async def test_a_charge_is_approved_with_the_terminals_reference(sim, terminal):
    async with running(terminal):
        approval = await within(3, terminal.charge("job-1", 2500))

    assert isinstance(terminal, CardTerminal)
    assert approval == Approval("job-1", "100000000001", 2500, CARD)
    assert sim.journal == [JournalEntry("charge", "job-1", "100000000001", 2500)]
    assert sim.requests[-1] == ("SALE", "job-1", "2500")


async def test_a_declined_charge_says_why_and_takes_nothing(sim, terminal):
    sim.next_answers(Decline("51", "余额不足"))
    async with running(terminal):
        with pytest.raises(PaymentDeclined) as declined:
            await within(3, terminal.charge("job-2", 2500))
        approval = await within(3, terminal.charge("job-3", 2500))  # another card

    assert (declined.value.answer_code, declined.value.reason) == ("51", "余额不足")
    assert declined.value.code == "declined"
    assert declined.value.request_id == "job-2"
    assert declined.value.outcome_unknown is False
    assert approval.amount == 2500
    assert sim.taken() == 2500


async def test_a_request_sent_again_gets_the_first_answer_and_moves_no_money(sim, terminal):
    async with running(terminal):
        first = await within(3, terminal.charge("job-4", 2500))
        again = await within(3, terminal.charge("job-4", 2500))
        with pytest.raises(DeviceProtocolError, match="already used"):
            await within(3, terminal.charge("job-4", 9900))  # the same id, another amount

    assert again == first
    assert sim.charges() == [JournalEntry("charge", "job-4", first.reference, 2500)]
    assert sim.taken() == 2500


async def test_a_charge_without_answer_times_out_and_its_reversal_gives_the_money_back(
    sim, terminal, clock
):
    sim.next_answers(NoAnswer(done=True))  # the money is taken, the answer lost
    async with running(terminal):
        charging = asyncio.create_task(terminal.charge("job-5", 2500))
        await eventually(lambda: CHARGE_TIMEOUT_SECONDS in clock.sleeping)
        clock.advance(CHARGE_TIMEOUT_SECONDS - 1)  # a patient slow with the PIN: still waiting
        await asyncio.sleep(0.02)
        assert not charging.done()

        clock.advance(1)
        with pytest.raises(DeviceTimeout) as timed_out:
            await within(3, charging)
        assert sim.taken() == 2500
        back = await within(3, terminal.reverse("job-5-rev", charge_request_id="job-5"))

    assert timed_out.value.outcome_unknown is True
    assert back.amount == 2500
    assert sim.taken() == 0
    assert [e.kind for e in sim.journal] == ["charge", "reversal"]


async def test_reversing_a_charge_that_never_came_gives_back_nothing_and_bars_it(
    sim, terminal, clock
):
    sim.next_answers(NoAnswer(done=False))  # the request was lost on the way
    async with running(terminal):
        charging = asyncio.create_task(terminal.charge("job-6", 2500))
        await eventually(lambda: CHARGE_TIMEOUT_SECONDS in clock.sleeping)
        clock.advance(CHARGE_TIMEOUT_SECONDS)
        with pytest.raises(DeviceTimeout):
            await within(3, charging)
        back = await within(3, terminal.reverse("job-6-rev", charge_request_id="job-6"))
        with pytest.raises(PaymentDeclined) as late:  # the lost request, retried
            await within(3, terminal.charge("job-6", 2500))

    assert back.amount == 0
    assert late.value.answer_code == "R0"
    assert sim.journal == []


async def test_the_terminal_dying_after_taking_the_money_is_reversed_once_it_is_back(
    sim, terminal, clock, caplog
):
    caplog.set_level(logging.INFO, "hardware.devices")
    sim.next_answers(Die(done=True))
    async with running(terminal):
        with pytest.raises(DeviceConnectionError) as died:
            await within(3, terminal.charge("job-7", 2500))
        await eventually(lambda: not terminal.available)
        with pytest.raises(DeviceConnectionError) as meanwhile:
            await terminal.reverse("job-7-rev", charge_request_id="job-7")

        await sim.come_back()  # its memory intact
        await reconnect(terminal, clock, RECONNECT)
        back = await within(3, terminal.reverse("job-7-rev", charge_request_id="job-7"))
        again = await within(3, terminal.reverse("job-7-rev", charge_request_id="job-7"))

    assert died.value.outcome_unknown is True
    assert meanwhile.value.outcome_unknown is False
    assert back.amount == 2500
    assert again == back
    assert sim.taken() == 0
    assert len([r for r in caplog.records if "unavailable on" in r.message]) == 1
    assert len([r for r in caplog.records if "ready on" in r.message]) == 2


async def test_refunds_never_give_back_more_than_was_taken(sim, terminal):
    async with running(terminal):
        charge = await within(3, terminal.charge("job-8", 5000))
        part = await within(3, terminal.refund("job-8-r1", charge.reference, 3000))
        with pytest.raises(PaymentDeclined) as too_much:
            await within(3, terminal.refund("job-8-r2", charge.reference, 2001))
        rest = await within(3, terminal.reverse("job-8-rev", reference=charge.reference))
        with pytest.raises(PaymentDeclined) as unknown:
            await within(3, terminal.refund("job-8-r3", "999999999999", 100))

    assert part.amount == 3000
    assert too_much.value.answer_code == "61"
    assert rest.amount == 2000  # what was left of it
    assert unknown.value.answer_code == "25"
    assert sim.taken() == 0


async def test_a_busy_terminal_did_nothing_and_one_request_waits_at_a_time(sim, terminal, clock):
    sim.next_answers(Busy("正在处理其他交易"), NoAnswer(done=False))
    async with running(terminal):
        with pytest.raises(DeviceBusy, match="正在处理其他交易") as busy:
            await within(3, terminal.charge("job-9", 2500))
        waiting = asyncio.create_task(terminal.charge("job-10", 2500))
        await eventually(lambda: CHARGE_TIMEOUT_SECONDS in clock.sleeping)
        with pytest.raises(DeviceBusy, match="job-10 still waits"):
            await terminal.refund("job-11", "100000000001", 100)
        clock.advance(CHARGE_TIMEOUT_SECONDS)
        with pytest.raises(DeviceTimeout):
            await within(3, waiting)

    assert busy.value.outcome_unknown is False
    assert not any(r[1] == "job-11" for r in sim.requests)
    assert sim.journal == []


async def test_noise_and_broken_answers_are_dropped_and_the_real_answer_taken(
    sim, terminal, clock, caplog
):
    caplog.set_level(logging.INFO, "hardware.devices")
    sim.next_answers(NoAnswer(done=True))
    async with running(terminal):
        charging = asyncio.create_task(terminal.charge("job-12", 2500))
        await eventually(lambda: sim.journal)
        answer = encode_frame("APPROVED", "job-12", "100000000001", "2500", CARD)
        sim.send_raw(b"\xff\xfe" + answer[:12])  # noise, then an answer cut short
        sim.send_raw(encode_frame("APPROVED", "job-12", "x", "many", CARD))  # not an answer
        sim.send_raw(encode_frame("APPROVED", "job-99", "100000000009", "100", CARD))  # late
        sim.send_raw(answer)
        approval = await within(3, charging)

    assert approval == Approval("job-12", "100000000001", 2500, CARD)
    assert terminal.bad_input == 3
    assert len([r for r in caplog.records if "sent what it should not" in r.message]) == 1
    late = [r for r in caplog.records if "which no one waits for" in r.message]
    assert len(late) == 1
    assert "job-99" in late[0].message


async def test_requests_that_cannot_be_right_are_refused_before_they_are_sent(sim, terminal):
    async with running(terminal):
        for bad in (0, -100, 12.5, True):
            with pytest.raises(ValueError, match="fen"):
                await terminal.charge("job-13", bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="request id"):
            await terminal.charge("job 14\x1f", 100)
        with pytest.raises(ValueError, match="reference or its request id"):
            await terminal.reverse("job-15")

    assert [r[0] for r in sim.requests] == ["PING"]


async def test_a_reversal_waits_the_acquirers_time_not_the_patients(sim, terminal, clock):
    sim.next_answers(NoAnswer(done=False))
    async with running(terminal):
        reversing = asyncio.create_task(terminal.reverse("job-16", reference="100000000001"))
        await eventually(lambda: REVERSAL_TIMEOUT_SECONDS in clock.sleeping)
        clock.advance(REVERSAL_TIMEOUT_SECONDS)
        with pytest.raises(DeviceTimeout, match="reversal job-16"):
            await within(3, reversing)
