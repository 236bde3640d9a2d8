"""Kiosk device tests: each driver against its simulator on a real pseudo-terminal, time
moved by a manual clock instead of waited for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hardware.simulators import CardReaderSimulator, CardTerminalSimulator
from tests.hardware.helpers import ManualClock
from tests.hardware.kiosk_world import (
    AgentProcess,
    FakeEngine,
    HoldingPrinter,
    KioskWorld,
    start_broker,
    write_config,
)


@pytest.fixture
def clock() -> ManualClock:
    """The drivers' clock (overrides the suite's clock: these tests move device time)."""
    return ManualClock()


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[KioskWorld]:
    """Kiosk A running for real: broker (passwords, ACL, persistence), simulators on ptys,
    ``guahao-kiosk run`` as a process, and the fake engine; every device ready."""
    broker = start_broker(tmp_path, persistence=True)
    printer = HoldingPrinter(link=tmp_path / "printer")
    reader = CardReaderSimulator(link=tmp_path / "card-reader")
    terminal = CardTerminalSimulator(link=tmp_path / "card-terminal")
    config = write_config(
        tmp_path,
        broker,
        printer=str(tmp_path / "printer"),
        card_reader=str(tmp_path / "card-reader"),
        terminal=str(tmp_path / "card-terminal"),
    )
    agent = AgentProcess(config, tmp_path / "agent.log")
    try:
        async with printer, reader, terminal, FakeEngine(broker) as engine:
            agent.start()
            world = KioskWorld(tmp_path, broker, engine, agent, printer, reader, terminal)
            await world.ready()
            try:
                yield world
            finally:
                await asyncio.to_thread(agent.stop)
    finally:
        agent.stop()
        broker.stop()
