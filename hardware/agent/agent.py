"""``guahao-kiosk run``: the kiosk agent, one asyncio process.

:func:`run_agent` wires it together and runs until told to stop (SIGTERM, Ctrl-C)::

    devices (drivers) ──on_state──► status ──► BrokerLink.report_status
    BrokerLink ──jobs──► JobRunner.receive ──► journal ──► JobRunner.run ──► devices, screen
               ◄─acks── JobRunner.send_acks ◄── journal
    card reader ──► PatientFlow ──► Requests.ask ──requests──► BrokerLink
               replies ──► Requests.reply
    ReversalSettler: charges whose answer never came, reversed once the terminal is there

On a clean stop it publishes its status offline (``reason: stopped``), retained; the job in
hand is cut short and resumed at the next start (it is in the journal).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib import metadata
from typing import Any

from hardware import protocol
from hardware.devices import DeviceState

from .config import KioskConfig
from .flow import PatientFlow
from .jobs import JobRunner
from .journal import Journal
from .kiosk_devices import TERMINAL, KioskDevices
from .link import BrokerLink
from .money import ReversalSettler
from .requests import Requests
from .screen import TextScreen

logger = logging.getLogger("hardware.agent")

PRUNE_INTERVAL_SECONDS = 6 * 3600.0
"""Old journal rows are dropped a few times a day: a kiosk runs for months."""


def agent_name() -> str:
    try:
        return f"guahao-kiosk {metadata.version('guahao')}"
    except metadata.PackageNotFoundError:
        return "guahao-kiosk"


async def run_agent(config: KioskConfig, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set (or SIGTERM / SIGINT when it is None)."""
    stop = stop or _stop_on_signals()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    journal = await Journal.open(config.state_dir / "journal.sqlite3")
    settler: ReversalSettler | None = None
    link: BrokerLink | None = None

    def device_changed(name: str, state: DeviceState) -> None:
        if name == TERMINAL and state.connected and settler is not None:
            settler.wake()
        if link is not None:
            link.status_changed()

    devices = KioskDevices(config, device_changed)
    settler = ReversalSettler(journal, devices, lambda: link.status_changed() if link else None)
    name = agent_name()

    def status() -> dict[str, Any]:
        report = devices.report()
        if TERMINAL in report and settler.pending:
            report[TERMINAL]["pending_reversals"] = settler.pending
        return protocol.status(name, datetime.now().astimezone(), report)

    try:
        async with TextScreen(config.state_dir) as screen, devices:
            runner = JobRunner(journal, devices, screen, reversal_pending=settler.wake)
            requests: Requests | None = None
            link = BrokerLink(
                config,
                on_job=runner.receive,
                on_reply=lambda data: requests.reply(data) if requests else None,
                status=status,
            )
            requests = Requests(lambda data: link.publish(protocol.REQUESTS, data))
            work = [
                link.run(),
                link.report_status(),
                runner.run(),
                runner.send_acks(lambda ack: link.publish(protocol.ACKS, ack), link.connected),
                settler.run(),
                _prune(journal),
            ]
            if devices.card_reader is not None:
                work.append(PatientFlow(devices.card_reader, screen, requests.ask).run())
            logger.info("%s started as kiosk %s", name, config.kiosk_id)
            await _until(stop, work, before_stopping=link.say_goodbye)
            logger.info("stopped")
    finally:
        await journal.close()


async def _until(
    stop: asyncio.Event, work: list[Any], before_stopping: Callable[[], Awaitable[None]]
) -> None:
    """Run ``work`` until ``stop``; a part that ends on its own is a bug: it stops it all."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in work]
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopping:
                task.result()  # raises what broke it
                raise RuntimeError(f"{task!r} ended on its own")
        await before_stopping()
    finally:
        for task in (*tasks, stopping):
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _prune(journal: Journal) -> None:
    while True:
        if pruned := await journal.prune():
            logger.info("journal: %d finished job(s) past their keeping time forgotten", pruned)
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
