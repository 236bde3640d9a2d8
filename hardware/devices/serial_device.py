"""What every kiosk device driver does with its serial port: keep it open, say so once.

:class:`SerialDevice` is the base of the three drivers (the only modules, with this one,
that import pyserial). :meth:`SerialDevice.run` opens the port, lets the driver check that
its device answers (``_handshake``), serves it until the port goes away (a read error or
end of file: unplugged, switched off, a pty closed), then tries again every
``reconnect_interval``. It logs **once** when the device goes away and once when it is
back, and reports each change through ``on_state`` (the kiosk agent publishes it).
Bytes that make no sense are dropped, counted (``bad_input``) and logged once per
connection.

Every wait (reconnecting, polling, a request's timeout) goes through the injected
``sleep``, so tests move time instead of waiting. Requests wait for their answer in a
future made by :meth:`_waiter`; a port that goes away fails them all at once with
:class:`~hardware.devices.base.DeviceConnectionError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import ClassVar, Self, TypeVar

import serial_asyncio_fast

from .base import (
    OPEN_TIMEOUT_SECONDS,
    RECONNECT_INTERVAL_SECONDS,
    DeviceConnectionError,
    DeviceError,
    DeviceState,
    DeviceTimeout,
    Sleep,
    StateCallback,
)

logger = logging.getLogger("hardware.devices")

CLOSE_TIMEOUT_SECONDS = 2.0
"""Closing a port that has vanished must not hang the reconnect loop."""

T = TypeVar("T")


class SerialDevice:
    """A device on ``port`` (a tty path: ``/dev/ttyUSB0``, or better a stable
    ``/dev/serial/by-id/…`` link). Run :meth:`run` as a task, or ``async with``."""

    kind: ClassVar[str] = "device"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int,
        rtscts: bool = False,
        reconnect_interval: float = RECONNECT_INTERVAL_SECONDS,
        sleep: Sleep = asyncio.sleep,
        on_state: StateCallback | None = None,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.rtscts = rtscts
        self._reconnect_interval = reconnect_interval
        self._sleep = sleep
        self._on_state = on_state
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._closed.set()
        self._close_reason = "not connected yet"
        self._ready = asyncio.Event()
        self._waiters: dict[asyncio.Future[object], bool] = {}  # future -> outcome unknown
        self._state: DeviceState | None = None
        self._complaining = False
        self.bad_input = 0
        """How many pieces of nonsense the device sent (kept for the console)."""
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self._ready.is_set()

    @property
    def state(self) -> DeviceState:
        return self._state or DeviceState(self.kind, self.port, False, "unavailable", "starting")

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name=f"{self.kind} {self.port}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Keep the device connected, until cancelled."""
        try:
            while True:
                reason = await self._session()
                self._report(False, "unavailable", reason)
                await self._sleep(self._reconnect_interval)
        finally:
            await self._disconnect("stopped")

    async def _session(self) -> str:
        """One connection, from opening the port to losing it; why it ended."""
        try:
            await self._connect()
            await self._handshake()
        except (OSError, DeviceError, TimeoutError) as err:
            await self._disconnect(str(err))
            return str(err) or type(err).__name__
        self._ready.set()
        self._report(True, *self._problem())
        watch = asyncio.create_task(self._watch(), name=f"{self.kind} watch")
        try:
            await self._closed.wait()
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            await self._disconnect(self._close_reason)
        return self._close_reason

    async def _connect(self) -> None:
        async with asyncio.timeout(OPEN_TIMEOUT_SECONDS):
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self.baudrate, rtscts=self.rtscts
            )
        self._writer = writer
        self._closed = asyncio.Event()
        self._close_reason = "closed"
        self._complaining = False
        self._connected()
        self._read_task = asyncio.create_task(self._read_loop(reader), name=f"{self.kind} read")

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        reason = "end of file"
        try:
            while chunk := await reader.read(4096):
                self._received(chunk)
        except OSError as err:  # serial.SerialException is an OSError
            reason = f"read failed: {err}"
        except Exception as err:  # a bug here must not leave requests waiting for ever
            logger.exception("%s on %s: reading failed", self.kind, self.port)
            reason = f"reader failed: {err!r}"
        finally:
            self._abort(reason)

    def _abort(self, reason: str) -> None:
        """The connection is over: fail whoever waits, let :meth:`run` reconnect."""
        if self._closed.is_set():
            return
        self._close_reason = reason
        self._closed.set()
        self._ready.clear()
        waiters, self._waiters = self._waiters, {}
        for future, outcome_unknown in waiters.items():
            if not future.done():
                future.set_exception(
                    DeviceConnectionError(
                        self.kind, f"gone: {reason}", outcome_unknown=outcome_unknown
                    )
                )
        if self._writer is not None:
            self._writer.close()

    async def _disconnect(self, reason: str) -> None:
        self._abort(reason)
        task, self._read_task = self._read_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await writer.wait_closed()

    # --- what each driver fills in ------------------------------------------------------

    def _connected(self) -> None:
        """A new connection: forget what was half-received on the last one."""

    async def _handshake(self) -> None:
        """Check that the device on the port answers; raise :class:`DeviceError` if not."""

    def _problem(self) -> tuple[str | None, str]:
        """What keeps the connected device from working (an error code) and its detail."""
        return None, ""

    async def _watch(self) -> None:
        """Runs while connected (a status poll); cancelled when the connection ends."""

    def _received(self, data: bytes) -> None:
        raise NotImplementedError

    # --- helpers for the drivers --------------------------------------------------------

    def _require_ready(self) -> None:
        if not self.available:
            raise DeviceConnectionError(self.kind, f"not connected ({self._close_reason})")

    def _waiter(self, *, outcome_unknown: bool) -> asyncio.Future[T]:
        """A future for an answer; failed with :class:`DeviceConnectionError` (marked
        ``outcome_unknown`` as given) if the port goes away first."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters[future] = outcome_unknown  # type: ignore[index]
        future.add_done_callback(lambda f: self._waiters.pop(f, None))  # type: ignore[arg-type]
        return future

    async def _ask(
        self,
        data: bytes,
        answer: asyncio.Future[T],
        seconds: float,
        what: str,
        *,
        outcome_unknown: bool,
    ) -> T:
        """Send ``data`` and wait for ``answer``: both within ``seconds`` of the injected
        clock, or :class:`DeviceTimeout`."""
        deadline = _Deadline(self._sleep, seconds, what)
        try:
            await self._write(data, deadline)
            return await deadline.wait(answer, self.kind, outcome_unknown=outcome_unknown)
        finally:
            deadline.cancel()
            if not answer.done():
                answer.cancel()

    async def _send(self, data: bytes, seconds: float, what: str) -> None:
        """Write ``data`` and wait (up to ``seconds``) until the port took it."""
        deadline = _Deadline(self._sleep, seconds, what)
        try:
            await self._write(data, deadline)
        finally:
            deadline.cancel()

    async def _write(self, data: bytes, deadline: _Deadline) -> None:
        """Raises :class:`DeviceConnectionError` (``outcome_unknown`` once anything was
        written) and :class:`DeviceTimeout` (after closing the port: what is still queued
        must not come out later)."""
        writer = self._writer
        if writer is None or self._closed.is_set():
            raise DeviceConnectionError(self.kind, f"not connected ({self._close_reason})")
        writer.write(data)
        drained: asyncio.Future[None] = self._waiter(outcome_unknown=True)
        drain = asyncio.ensure_future(writer.drain())
        drain.add_done_callback(lambda d: self._settle(drained, d))
        try:
            await deadline.wait(drained, self.kind, outcome_unknown=True)
        except DeviceTimeout as err:
            reason = f"{deadline.what} not taken within {deadline.seconds:g} s"
            self._abort(reason)
            raise DeviceTimeout(self.kind, reason, outcome_unknown=True) from err
        finally:
            drain.cancel()

    def _report(self, connected: bool, problem: str | None, detail: str) -> None:
        """Log and report a change only: once down, once back, once per new problem."""
        state = DeviceState(self.kind, self.port, connected, problem, detail)
        before, self._state = self._state, state
        if before is not None and (before.connected, before.problem) == (connected, problem):
            logger.debug("%s on %s still %s: %s", self.kind, self.port, problem or "ok", detail)
            return
        was_connected = before is not None and before.connected
        if not connected:
            logger.warning(
                "%s unavailable on %s (%s); trying again every %g s",
                self.kind,
                self.port,
                detail,
                self._reconnect_interval,
            )
        elif not was_connected:
            logger.info("%s ready on %s", self.kind, self.port)
        if connected and problem is not None:
            logger.warning("%s on %s: %s (%s)", self.kind, self.port, problem, detail)
        elif connected and was_connected and before is not None:
            logger.info("%s on %s: %s cleared", self.kind, self.port, before.problem)
        if self._on_state is not None:
            self._on_state(state)

    def _bad_input(self, reason: str) -> None:
        """Nonsense from the device: dropped, counted, logged once per connection (a bad
        cable sends it between every good answer, and the log must stay readable)."""
        self.bad_input += 1
        if self._complaining:
            logger.debug("%s on %s: %s", self.kind, self.port, reason)
            return
        self._complaining = True
        logger.warning(
            "%s on %s sent what it should not (%s): ignored, and the next such bytes are "
            "only counted until it is reconnected",
            self.kind,
            self.port,
            reason,
        )

    def _settle(self, target: asyncio.Future[None], source: asyncio.Future[None]) -> None:
        """Hand a finished drain's outcome to its waiter (a lost port as a connection error)."""
        if target.done() or source.cancelled():
            return
        if (err := source.exception()) is not None:
            target.set_exception(
                DeviceConnectionError(self.kind, f"write failed: {err}", outcome_unknown=True)
            )
        else:
            target.set_result(None)


class _Deadline:
    """What one exchange may take: ``seconds`` of the injected clock from now."""

    def __init__(self, sleep: Sleep, seconds: float, what: str) -> None:
        self.seconds = seconds
        self.what = what
        self._alarm = asyncio.ensure_future(sleep(seconds))

    async def wait(self, future: asyncio.Future[T], kind: str, *, outcome_unknown: bool) -> T:
        """``future``'s result, or :class:`DeviceTimeout` once the deadline passed."""
        try:
            await asyncio.wait((future, self._alarm), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not future.done():
                future.cancel()
        if future.cancelled():
            raise DeviceTimeout(
                kind,
                f"no answer to {self.what} within {self.seconds:g} s",
                outcome_unknown=outcome_unknown,
            )
        return future.result()

    def cancel(self) -> None:
        self._alarm.cancel()
