"""Money at a real kiosk agent: a crash mid-charge never charges twice."""

from __future__ import annotations

import asyncio

import pytest

from hardware.simulators.card_terminal import NoAnswer
from tests.hardware.kiosk_world import KioskWorld, eventually

pytestmark = pytest.mark.slow

CHARGE = {"amount": 5000, "purpose": "booking", "booking_no": "384759261"}


async def test_an_agent_killed_mid_charge_answers_from_the_terminal_after_restart(
    kiosk: KioskWorld,
):
    engine, terminal = kiosk.engine, kiosk.terminal
    terminal.next_answers(NoAnswer(done=True))  # the bank takes it; the answer is lost
    job_id = await engine.job("charge", CHARGE)
    await eventually(lambda: terminal.charges(), what="the charge at the terminal")
    await asyncio.to_thread(kiosk.agent.kill9)
    await eventually(lambda: engine.status() == {"v": 1, "online": False, "reason": "lost"})
    assert engine.acks(job_id) == []

    kiosk.agent.start()
    ack = await engine.ack(job_id)
    await engine.job("charge", CHARGE, job_id=job_id)  # re-sent by the engine: no ack came
    await eventually(lambda: len(engine.acks(job_id)) >= 2, what="the stored ack again")
    # two or three: the broker also redelivers the first delivery when the kill came before
    # the agent's PUBACK left (the job was journaled first); each is the one stored outcome
    assert engine.acks(job_id) == [ack] * len(engine.acks(job_id))
    (charge,) = terminal.charges()
    assert ack["outcome"] == "done"
    assert ack["detail"]["terminal_ref"] == charge.reference
    assert ack["detail"]["request_id"] == charge.request_id
    assert terminal.taken() == 5000
    sales = [frame for frame in terminal.requests if frame[0] == "SALE"]
    assert sales == [("SALE", charge.request_id, "5000")] * 2  # the same request, repeated
    assert "was running when the agent stopped: resuming" in kiosk.agent.log()
