"""The AT-command line to a GSM modem (短信猫): one reader, one command at a time.

A modem answers each command with zero or more lines and a final result code (``OK``,
``ERROR``, ``+CMS ERROR: <n>``, ``+CME ERROR: <n>``), and may slip unsolicited result
codes (URCs: ``+CMTI``, ``RING``, ``^RSSI``…) between them at any moment. One reader task
splits the byte stream into lines, hands URCs to a callback and collects the rest for
the command in flight; an :class:`asyncio.Lock` keeps commands from overlapping, and every
command runs under :func:`asyncio.timeout`. A command that times out leaves the modem in
an unknown state, so the channel closes itself: whoever owns it reopens the port and
starts again from the init sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_SECONDS = 5.0
"""A modem answers a local command (AT, ATE0, AT+CMGR, AT+CMGD) within milliseconds; 5 s
leaves room for a busy USB modem and still notices a dead one quickly."""

SEND_TIMEOUT_SECONDS = 60.0
"""``AT+CMGS`` answers only once the network has taken the message; modem manuals (SIMCom,
Quectel) give 60 s as its maximum response time."""

LIST_TIMEOUT_SECONDS = 60.0
"""``AT+CMGL=4`` of a full SIM (30-50 PDUs of ~350 characters each) needs ~20 s at 9600 baud."""

CLOSE_TIMEOUT_SECONDS = 2.0
"""Closing a serial port that has vanished must not hang the reconnect loop."""

CTRL_Z = "\x1a"
ESC = "\x1b"

_URC_PREFIXES = (
    "+CMTI:",
    "+CMT:",
    "+CDSI:",
    "+CDS:",
    "+CBM:",
    "+CUSD:",
    "+CRING:",
    "+CLIP:",
    "RING",
    "^",
)
_URC_WITH_PDU = ("+CMT:", "+CDS:", "+CBM:")  # the PDU follows on a line of its own
_FINAL = ("OK", "ERROR", "NO CARRIER", "+CMS ERROR:", "+CME ERROR:", "COMMAND NOT SUPPORT")


class ModemUnavailable(ConnectionError):
    """The port is closed or gone; the command was not (or not surely) carried out."""


class ModemError(Exception):
    """The modem answered a command with an error result code."""

    def __init__(self, command: str, result: str) -> None:
        super().__init__(f"{command.split('=')[0]}: {result}")
        self.command = command
        self.result = result
        code = result.rpartition(":")[2].strip()
        self.cms: int | None = int(code) if result.startswith("+CMS") and code.isdigit() else None
        self.cme: int | None = int(code) if result.startswith("+CME") and code.isdigit() else None


class AtChannel:
    """An open serial port speaking AT commands. ``on_urc`` is called (in the reader task,
    so it must not block) with each unsolicited line; for ``+CMT`` and friends the PDU
    line that follows is dropped (messages are read from the SIM store instead)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_urc: Callable[[str], None],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_urc = on_urc
        self._lock = asyncio.Lock()
        self._lines: list[str] = []
        self._final: asyncio.Future[str] | None = None
        self._prompt: asyncio.Future[None] | None = None
        self._skip_pdu_line = False
        self._closed = asyncio.Event()
        self.close_reason: str = "closed"
        self._task = asyncio.create_task(self._read_loop(), name="modem-reader")

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        """Wait until the port is gone (read error, end of file, timeout, close)."""
        await self._closed.wait()

    def write_raw(self, data: str) -> None:
        if not self.closed:
            self._writer.write(data.encode("ascii"))

    async def command(
        self, command: str, *, seconds: float = COMMAND_TIMEOUT_SECONDS, pdu: str | None = None
    ) -> list[str]:
        """Send ``command`` and return the lines before its ``OK``. With ``pdu``, wait for
        the ``> `` prompt, then send the PDU and Ctrl-Z (``AT+CMGS``). Raises
        :class:`ModemError` on an error result, :class:`ModemUnavailable` when the port is
        gone and :class:`TimeoutError` (after closing the channel) when no answer came
        within ``seconds``."""
        async with self._lock:
            if self.closed:
                raise ModemUnavailable(self.close_reason)
            loop = asyncio.get_running_loop()
            final: asyncio.Future[str] = loop.create_future()
            self._lines, self._final = [], final
            try:
                async with asyncio.timeout(seconds):
                    if pdu is not None:
                        self._prompt = loop.create_future()
                    self._writer.write(f"{command}\r".encode("ascii"))
                    if self._prompt is not None:
                        await self._prompt
                        if not final.done():
                            self._writer.write(f"{pdu}{CTRL_Z}".encode("ascii"))
                    result = await final
            except TimeoutError:
                if self._prompt is not None and not self._prompt.done():
                    self.write_raw(ESC)  # leave the PDU prompt, for whoever opens it next
                final.cancel()
                self.abort(f"no answer to {command.split('=')[0]} within {seconds:g} s")
                raise
            finally:
                self._final = self._prompt = None
            lines, self._lines = self._lines, []
        if result != "OK":
            raise ModemError(command, result)
        return lines

    async def close(self) -> None:
        """Close the port and wait (a little) until it is closed."""
        self.abort("closed")
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await self._writer.wait_closed()

    def abort(self, reason: str) -> None:
        """Close now: pending and later commands fail with :class:`ModemUnavailable`."""
        if self.closed:
            return
        self.close_reason = reason
        self._closed.set()
        error = ModemUnavailable(reason)
        if self._final is not None and not self._final.done():
            self._final.set_exception(error)
        if self._prompt is not None and not self._prompt.done():
            self._prompt.set_result(None)
        self._writer.close()

    async def _read_loop(self) -> None:
        buffer = b""
        reason = "end of file"
        try:
            while chunk := await self._reader.read(1024):
                buffer = self._consume(buffer + chunk)
        except OSError as err:  # serial.SerialException is an OSError
            reason = f"read failed: {err}"
        except Exception as err:  # a bug here must not leave commands waiting for ever
            logger.exception("modem reader failed")
            reason = f"reader failed: {err!r}"
        finally:
            self.abort(reason)

    def _consume(self, buffer: bytes) -> bytes:
        while True:
            waiting = self._prompt is not None and not self._prompt.done()
            if waiting and buffer.lstrip(b"\r\n").startswith(b">"):
                assert self._prompt is not None
                self._prompt.set_result(None)
                buffer = buffer.lstrip(b"\r\n")[1:]
                continue
            end = buffer.find(b"\n")
            if end < 0:
                return buffer
            line = buffer[:end].strip().decode("ascii", "replace")
            buffer = buffer[end + 1 :]
            if line:
                self._on_line(line)

    def _on_line(self, line: str) -> None:
        if self._skip_pdu_line:
            self._skip_pdu_line = False
            return
        if line.startswith(_URC_PREFIXES):
            self._skip_pdu_line = line.startswith(_URC_WITH_PDU)
            self._on_urc(line)
            return
        final = self._final
        if final is None or final.done():
            logger.debug("modem line outside any command: %r", line)
        elif line.startswith(_FINAL):
            final.set_result(line)
            if self._prompt is not None and not self._prompt.done():
                self._prompt.set_result(None)  # an error instead of the prompt: no PDU
        elif not line.upper().startswith("AT"):  # lines starting with AT are our echo
            self._lines.append(line)
