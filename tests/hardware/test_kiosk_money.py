"""The kiosk agent's money jobs in process: the real job runner, journal and terminal driver
against the terminal simulator on a pty, the drivers' time moved by a manual clock (a
charge's 120 s are not waited for)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hardware.agent.config import BrokerConfig, DeviceConfig, KioskConfig
from hardware.agent.jobs import JobRunner
from hardware.agent.journal import Journal
from hardware.agent.kiosk_devices import TERMINAL, KioskDevices
from hardware.agent.money import REVERSAL_WAIT_SECONDS, ReversalSettler
from hardware.agent.screen import View
from hardware.devices.base import CHARGE_TIMEOUT_SECONDS, REFUND_TIMEOUT_SECONDS
from hardware.simulators import CardTerminalSimulator
from hardware.simulators.card_terminal import Decline, Die, NoAnswer
from tests.hardware.helpers import ManualClock, eventually

RECONNECT = 5.0


@dataclass
class RecordingScreen:
    views: list[View] = field(default_factory=list)

    def show(self, view: View, seconds: float | None = None) -> None:
        self.views.append(view)

    async def choose(self, view: View, seconds: float) -> int | None:
        raise AssertionError("no choice in a job")


@dataclass
class Station:
    terminal: CardTerminalSimulator
    journal: Journal
    runner: JobRunner
    settler: ReversalSettler
    screen: RecordingScreen
    clock: ManualClock
    devices: KioskDevices

    async def job(self, kind: str, payload: dict[str, Any], job_id: str = "J1") -> None:
        body = {"v": 1, "job_id": job_id, "kind": kind, "payload": payload}
        await self.runner.receive(json.dumps(body).encode())

    async def ack(self, job_id: str = "J1", other_than: object = None) -> dict[str, Any]:
        """The job's ack in the journal (once it is not ``other_than``)."""

        async def finished() -> dict[str, Any]:
            while True:
                entry = await self.journal.get(job_id)
                if entry is not None and entry.state == "finished" and entry.ack:
                    ack = json.loads(entry.ack)
                    if ack != other_than:
                        return ack
                await asyncio.sleep(0.005)

        async with asyncio.timeout(5):
            return await finished()

    async def back(self) -> None:
        """The terminal powered on again, and found by the driver's next try."""
        await self.terminal.come_back()
        await eventually(lambda: RECONNECT in self.clock.sleeping)
        self.clock.advance(RECONNECT)
        async with asyncio.timeout(3):
            await self.devices.terminal_or_fail().wait_ready()


@pytest.fixture
async def station(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Station]:
    link = tmp_path / "card-terminal"
    config = KioskConfig(
        kiosk_id="k0000000a",
        password="-",
        state_dir=tmp_path,
        broker=BrokerConfig("127.0.0.1", 1883, False, None),
        devices={TERMINAL: DeviceConfig(str(link), 115200, RECONNECT)},
    )
    settler: list[ReversalSettler] = []

    def changed(name: str, state: Any) -> None:
        if state.connected and settler:
            settler[0].wake()

    async with CardTerminalSimulator(link=link) as terminal:
        journal = await Journal.open(tmp_path / "journal.sqlite3")
        async with KioskDevices(config, changed, sleep=clock.sleep) as devices:
            settler.append(ReversalSettler(journal, devices))
            screen = RecordingScreen()
            runner = JobRunner(journal, devices, screen, reversal_pending=settler[0].wake)
            tasks = [asyncio.create_task(runner.run()), asyncio.create_task(settler[0].run())]
            async with asyncio.timeout(3):
                await devices.terminal_or_fail().wait_ready()
            try:
                yield Station(terminal, journal, runner, settler[0], screen, clock, devices)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        await journal.close()


CHARGE = {"amount": 5000, "purpose": "booking", "booking_no": "384759261"}


async def test_a_charge_approved_is_acked_with_the_terminal_reference(station: Station):
    await station.job("charge", CHARGE)
    ack = await station.ack()
    (charge,) = station.terminal.charges()
    assert ack["outcome"] == "done"
    assert ack["detail"] == {
        "terminal_ref": charge.reference,
        "amount": 5000,
        "card": "622848******0123",
        "request_id": charge.request_id,
    }


async def test_a_declined_charge_fails_declined_with_the_bank_s_words(station: Station):
    station.terminal.next_answers(Decline("51", "余额不足"))
    await station.job("charge", CHARGE)
    ack = await station.ack()
    assert (ack["reason"], ack["message"], ack["detail"]["answer_code"]) == (
        "declined",
        "余额不足",
        "51",
    )
    assert station.terminal.taken() == 0
    assert not any(frame[0] == "REVERSAL" for frame in station.terminal.requests)


async def test_a_charge_without_an_answer_is_reversed_by_its_request_id_before_its_ack(
    station: Station,
):
    station.terminal.next_answers(NoAnswer(done=True))  # the money is taken, the answer lost
    await station.job("charge", CHARGE)
    await eventually(lambda: station.terminal.charges())
    await eventually(lambda: CHARGE_TIMEOUT_SECONDS in station.clock.sleeping)
    station.clock.advance(CHARGE_TIMEOUT_SECONDS)
    ack = await station.ack()
    (charge,) = station.terminal.charges()
    assert (ack["outcome"], ack["reason"]) == ("failed", "timeout")
    assert ack["detail"] == {"request_id": charge.request_id, "reversal": "done", "reversed": 5000}
    assert station.terminal.taken() == 0
    (reversal,) = [frame for frame in station.terminal.requests if frame[0] == "REVERSAL"]
    assert reversal[2:] == ("", charge.request_id)  # by the charge's request id
    assert "支付未完成" in station.screen.views[-1].title


async def test_a_terminal_gone_mid_charge_and_back_soon_is_reversed_before_the_ack(
    station: Station,
):
    station.terminal.next_answers(Die(done=True))
    await station.job("charge", CHARGE)
    await eventually(lambda: not station.terminal.running)
    await station.back()
    ack = await station.ack()
    assert (ack["reason"], ack["detail"]["reversal"]) == ("unavailable", "done")
    assert station.terminal.taken() == 0


async def test_a_terminal_gone_for_long_acks_the_reversal_pending_and_sends_it_once_back(
    station: Station,
):
    station.terminal.next_answers(Die(done=True))
    await station.job("charge", CHARGE)
    await eventually(lambda: not station.terminal.running)
    await eventually(lambda: REVERSAL_WAIT_SECONDS in station.clock.sleeping)
    station.clock.advance(REVERSAL_WAIT_SECONDS)
    ack = await station.ack()
    assert (ack["reason"], ack["detail"]["reversal"]) == ("unavailable", "pending")
    assert station.terminal.taken() == 5000  # not yet
    assert len(await station.journal.pending_reversals()) == 1
    await eventually(lambda: station.settler.pending == 1)  # the status shows it

    await station.job("print_ticket", {}, job_id="J2")  # other jobs go on meanwhile
    assert (await station.ack("J2"))["reason"] == "bad_payload"
    await station.back()
    await eventually(lambda: station.terminal.taken() == 0)
    await eventually(lambda: station.settler.pending == 0)
    assert await station.journal.pending_reversals() == []


async def test_a_refund_without_an_answer_is_asked_again_with_its_request_id(station: Station):
    await station.job("charge", CHARGE)
    reference = (await station.ack())["detail"]["terminal_ref"]
    refund = {"amount": 2000, "terminal_ref": reference}
    station.terminal.next_answers(NoAnswer(done=True))
    await station.job("refund", refund, job_id="J2")
    await eventually(lambda: REFUND_TIMEOUT_SECONDS in station.clock.sleeping)
    station.clock.advance(REFUND_TIMEOUT_SECONDS)
    first = await station.ack("J2")
    assert (first["reason"], first["detail"]["outcome_unknown"]) == ("timeout", True)

    await station.job("refund", refund, job_id="J2")  # the engine sends the same job again
    second = await station.ack("J2", other_than=first)
    (done,) = [e for e in station.terminal.journal if e.kind == "refund"]
    assert second["outcome"] == "done"
    assert second["detail"] == {
        "terminal_ref": done.reference,
        "amount": 2000,
        "request_id": first["detail"]["request_id"],
    }
    refunds = [frame for frame in station.terminal.requests if frame[0] == "REFUND"]
    assert refunds == [refunds[0], refunds[0]]  # the same request, twice
    assert station.terminal.taken() == 3000

    await station.job("refund", refund, job_id="J2")  # once known, answered from the journal
    await asyncio.sleep(0.05)
    assert len([f for f in station.terminal.requests if f[0] == "REFUND"]) == 2


PAST = "2020-01-01T08:00:00+08:00"


async def test_an_expired_job_is_acked_expired_without_touching_the_terminal(station: Station):
    body = {"v": 1, "job_id": "J1", "kind": "charge", "payload": CHARGE, "expires_at": PAST}
    await station.runner.receive(json.dumps(body).encode())
    ack = await station.ack()
    assert (ack["outcome"], ack["reason"]) == ("failed", "expired")
    assert [frame[0] for frame in station.terminal.requests] == ["PING"]


async def test_a_charge_resumed_after_its_expiry_is_reversed_not_asked_again(station: Station):
    terminal = station.devices.terminal_or_fail()
    approval = await terminal.charge("c0ffee", 5000)  # taken just before the agent died
    body = {"v": 1, "job_id": "J1", "kind": "charge", "payload": CHARGE, "expires_at": PAST}
    await station.journal.add("J1", json.dumps(body).encode())
    await station.journal.start("J1", "c0ffee")  # as the dead agent left it: running
    await station.job("show_message", {"text": "请稍候"}, job_id="J2")  # wakes the runner
    ack = await station.ack()
    assert (ack["reason"], ack["detail"]) == (
        "expired",
        {"request_id": "c0ffee", "reversal": "done", "reversed": approval.amount},
    )
    assert station.terminal.taken() == 0
    assert [frame[0] for frame in station.terminal.requests].count("SALE") == 1
    assert (await station.ack("J2"))["outcome"] == "done"  # and then the next job


async def test_a_charge_resumed_while_the_terminal_reconnects_is_answered_by_the_terminal(
    station: Station,
):
    """The agent restarted after the terminal took the charge; the terminal is still coming
    back when the job resumes. The charge waits for it (as a reversal would) and gets the
    terminal's first answer: done, taken once, nothing reversed."""
    terminal = station.devices.terminal_or_fail()
    approval = await terminal.charge("c0ffee", 5000)  # taken just before the agent died
    station.terminal.power_off()
    await eventually(lambda: not terminal.available)
    body = {"v": 1, "job_id": "J1", "kind": "charge", "payload": CHARGE}
    await station.journal.add("J1", json.dumps(body).encode())
    await station.journal.start("J1", "c0ffee")  # as the dead agent left it: running
    await station.job("show_message", {"text": "请稍候"}, job_id="J2")  # wakes the runner
    await eventually(lambda: REVERSAL_WAIT_SECONDS in station.clock.sleeping)
    await station.back()
    ack = await station.ack()
    assert ack["outcome"] == "done", ack
    assert ack["detail"]["terminal_ref"] == approval.reference
    assert station.terminal.taken() == 5000
    assert [frame[0] for frame in station.terminal.requests].count("REVERSAL") == 0
