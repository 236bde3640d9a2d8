"""The kiosk's devices as the agent holds them: the drivers of hardware.devices built from
the configuration (any may be absent), kept connected while the agent runs, and each one's
state as the retained status reports it (docs/kiosk-protocol.md, "Status")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from hardware.devices import (
    DeviceConnectionError,
    DeviceState,
    SerialCardReader,
    SerialCardTerminal,
    SerialPrinter,
)
from hardware.devices.base import Sleep

from .config import KioskConfig

PRINTER, CARD_READER, TERMINAL = "printer", "card_reader", "terminal"
WORDS = {PRINTER: "printer", CARD_READER: "card reader", TERMINAL: "card terminal"}


class KioskDevices:
    """``async with`` keeps every configured device connected (each driver's ``run``);
    ``on_change`` is called on every state change a driver reports (``on_state``)."""

    def __init__(
        self,
        config: KioskConfig,
        on_change: Callable[[str, DeviceState], None],
        *,
        sleep: Sleep = asyncio.sleep,
    ):
        self._on_change = on_change
        made: dict[str, Any] = {}
        for name, device in config.devices.items():
            make = {PRINTER: SerialPrinter, CARD_READER: SerialCardReader}.get(
                name, SerialCardTerminal
            )
            made[name] = make(
                device.port,
                baudrate=device.baudrate,
                reconnect_interval=device.reconnect_seconds,
                sleep=sleep,
                on_state=lambda state, name=name: self._on_change(name, state),
            )
        self.printer: SerialPrinter | None = made.get(PRINTER)
        self.card_reader: SerialCardReader | None = made.get(CARD_READER)
        self.terminal: SerialCardTerminal | None = made.get(TERMINAL)
        self.sleep = sleep
        """The drivers' clock: every wait on a device goes through it."""
        self.terminal_lock = asyncio.Lock()
        """One terminal request at a time: a job's, or a pending reversal's."""
        self._all = made
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> KioskDevices:
        for device in self._all.values():
            await self._stack.enter_async_context(device)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    def printer_or_fail(self) -> SerialPrinter:
        if self.printer is None:
            raise DeviceConnectionError("printer", "this kiosk has no printer")
        return self.printer

    def terminal_or_fail(self) -> SerialCardTerminal:
        if self.terminal is None:
            raise DeviceConnectionError("card terminal", "this kiosk has no card terminal")
        return self.terminal

    def report(self) -> dict[str, dict[str, Any]]:
        """Each device's state for the status: ``ok``, ``paper_near_end``, or the code of
        what keeps it from working, with a ``reason`` for a technician."""
        report: dict[str, dict[str, Any]] = {}
        for name, device in self._all.items():
            state: DeviceState = device.state
            if not state.connected:
                report[name] = {"state": "unavailable", "reason": state.detail}
            elif state.problem is not None:
                report[name] = {"state": state.problem, "reason": state.detail}
            elif name == PRINTER and device.last_status and device.last_status.paper_near_end:
                report[name] = {"state": "paper_near_end"}
            else:
                report[name] = {"state": "ok"}
        return report
