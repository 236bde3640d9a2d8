"""A GSM modem (短信猫) simulator on a real pseudo-terminal, for tests and ``make demo``.

:class:`ModemSimulator` opens a pty (``os.openpty()``) and answers on its master side the
AT dialogue :class:`~sms.modem.gateway.ModemGateway` speaks on the tty path
:attr:`~ModemSimulator.port`, so the gateway's real serial I/O runs unchanged. It has a
SIM store of incoming messages (indexes 1..capacity, ``AT+CPMS?`` says how many are
taken; a part that finds it full is lost, as on a real SIM), decodes what is sent (``sent``,
``sent_messages()``), can be told to fail the next sends with ``+CMS ERROR``, and can
vanish (close the pty, like an unplugged USB modem) and come back. With ``link`` the
port is a symlink re-pointed at each new pty, like ``/dev/serial/by-id/…``: the same path
after a comeback; without it the comeback has a new ``/dev/pts/N``.

Supported: ``AT``, ``ATE0``/``ATE1`` (echo is on at power-up, as on real modems),
``AT+CMEE``, ``AT+CMGF`` (PDU mode only), ``AT+CNMI`` (``+CMTI`` when ``<mt>`` is 1),
``AT+CMGS`` (``> `` prompt, PDU until Ctrl-Z, Esc cancels), ``AT+CMGR``, ``AT+CMGL``,
``AT+CMGD``, ``AT+CPMS?``, ``AT+CSCA?``, ``AT+CSQ``, ``AT+CNMA``; anything else is
``ERROR``. Only the standard library and :mod:`sms.modem.pdu` are used.

``python -m sms.modem.simulator [--link PATH]`` prints the port, prints what is sent and
delivers each stdin line ``<sender> <text>`` as an incoming message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import sys
import tty
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .pdu import PduError, Submit, decode_submit, encode_deliver, join_parts

logger = logging.getLogger(__name__)

DEFAULT_SMSC = "+8613800100500"
CHINA_TIME = timezone(timedelta(hours=8))
_CTRL_Z, _ESC = 0x1A, 0x1B
_STATUS = {"0": (0,), "1": (1,), "2": (2,), "3": (3,), "4": (0, 1, 2, 3)}


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the gateway sent, its parts put together."""

    number: str
    text: str
    parts: int


class ModemSimulator:
    """A modem on a pty. Use ``await start()`` / ``await stop()`` or ``async with``."""

    def __init__(
        self,
        *,
        link: str | os.PathLike[str] | None = None,
        smsc: str = DEFAULT_SMSC,
        capacity: int = 30,
        on_sent: Callable[[SentMessage], None] | None = None,
    ) -> None:
        self._link = Path(link) if link is not None else None
        self.smsc = smsc
        self.capacity = capacity
        self.on_sent = on_sent
        self.sim: dict[int, tuple[int, str]] = {}
        """The SIM store: index -> (status 0 unread / 1 read, PDU with SMSC field)."""
        self.sent: list[Submit] = []
        """Every SMS-SUBMIT part received, decoded, in order."""
        self.commands: list[str] = []
        """Every command line received (PDUs not included)."""
        self._fail: list[int] = []
        self._master = self._slave = -1
        self._tty = ""
        self._input = bytearray()
        self._output = bytearray()
        self._pdu_length: int | None = None  # set while waiting for a PDU after AT+CMGS
        self._next_mr = 0
        self._next_ref = 0
        self._reset_settings()

    # --- lifecycle --------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The tty path to open (the link, if one was asked for)."""
        return str(self._link) if self._link is not None else self._tty

    @property
    def running(self) -> bool:
        return self._master >= 0

    async def start(self) -> None:
        """Power on: a new pty, settings back to their power-up values, the SIM kept."""
        if self.running:
            return
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._tty = os.ttyname(self._slave)
        if self._link is not None:
            tmp = self._link.with_name(self._link.name + ".new")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self._tty)
            tmp.replace(self._link)
        self._reset_settings()
        asyncio.get_running_loop().add_reader(self._master, self._on_readable)

    async def stop(self) -> None:
        """Power off: close the pty (the gateway's port reads fail) and remove the link."""
        if not self.running:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._master)
        loop.remove_writer(self._master)
        os.close(self._master)
        os.close(self._slave)
        self._master = self._slave = -1
        if self._link is not None:
            self._link.unlink(missing_ok=True)

    vanish = stop
    come_back = start

    async def __aenter__(self) -> ModemSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _reset_settings(self) -> None:
        self.echo = True
        self.pdu_mode = False
        self.cnmi_mt = 0
        self._input.clear()
        self._output.clear()
        self._pdu_length = None

    # --- what tests and the demo do ---------------------------------------------------

    def deliver(
        self,
        sender: str,
        text: str,
        *,
        timestamp: datetime | None = None,
        order: Sequence[int] | None = None,
    ) -> list[int]:
        """An SMS arrives: store its parts (in ``order``, 1-based part numbers, if given)
        and announce each with ``+CMTI`` when ``AT+CNMI`` asked for it. Returns the SIM
        indexes used, in delivery order."""
        timestamp = timestamp or datetime.now(CHINA_TIME).replace(microsecond=0)
        self._next_ref = (self._next_ref + 1) % 256
        pdus = encode_deliver(sender, text, timestamp, reference=self._next_ref, smsc=self.smsc)
        indexes = []
        for seq in order or range(1, len(pdus) + 1):
            free = next((i for i in range(1, self.capacity + 1) if i not in self.sim), None)
            if free is None:
                logger.warning("simulated SIM full: a part from %s is lost", sender)
                continue
            self.sim[free] = (0, pdus[seq - 1])
            indexes.append(free)
            if self.running and self.cnmi_mt == 1:
                self._write(f'\r\n+CMTI: "SM",{free}\r\n')
        return indexes

    def deliver_pdu(self, pdu: str) -> int | None:
        """Store a raw PDU (hex, SMSC field first) as an unread message, as a modem stores
        whatever the network hands it (also what nobody can decode); its index, or None
        when the SIM is full."""
        free = next((i for i in range(1, self.capacity + 1) if i not in self.sim), None)
        if free is None:
            logger.warning("simulated SIM full: a PDU is lost")
            return None
        self.sim[free] = (0, pdu)
        if self.running and self.cnmi_mt == 1:
            self._write(f'\r\n+CMTI: "SM",{free}\r\n')
        return free

    def fail_next_sends(self, count: int, code: int = 500) -> None:
        """Answer the next ``count`` ``AT+CMGS`` with ``+CMS ERROR: <code>``."""
        self._fail += [code] * count

    def sent_messages(self) -> list[SentMessage]:
        """What was sent, long messages put together (in order of their first part);
        a long message whose parts have not all come yet is left out."""
        return [message for message in self._sent_groups().values() if message is not None]

    def _sent_groups(self) -> dict[object, SentMessage | None]:
        groups: dict[object, list[Submit]] = {}
        for i, part in enumerate(self.sent):
            c = part.concat
            groups.setdefault((part.number, c.reference, c.total) if c else i, []).append(part)
        messages: dict[object, SentMessage | None] = {}
        for key, parts in groups.items():
            parts.sort(key=lambda p: p.concat.seq if p.concat else 0)
            total = parts[0].concat.total if parts[0].concat else 1
            complete = len({p.concat.seq if p.concat else 0 for p in parts}) == total
            text = join_parts(p.text for p in parts)
            messages[key] = SentMessage(parts[0].number, text, total) if complete else None
        return messages

    # --- the pty ----------------------------------------------------------------------

    def _write(self, text: str | bytes) -> None:
        if not self.running:
            return
        self._output += text.encode("ascii") if isinstance(text, str) else text
        self._flush()

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._output:
                del self._output[: os.write(self._master, self._output)]
        except BlockingIOError:
            loop.add_writer(self._master, self._flush)
            return
        except OSError:
            self._output.clear()
        loop.remove_writer(self._master)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except OSError:  # EIO: no one has the tty open
            return
        self._input += data
        while self._step():
            pass

    def _step(self) -> bool:
        """Handle one complete command or PDU from the input; False when none is there."""
        if self._pdu_length is not None:
            end = next((i for i, b in enumerate(self._input) if b in (_CTRL_Z, _ESC)), None)
            if end is None:
                return False
            pdu, cancelled = bytes(self._input[:end]), self._input[end] == _ESC
            del self._input[: end + 1]
            length, self._pdu_length = self._pdu_length, None
            if self.echo:
                self._write(pdu)
            self._write("\r\nOK\r\n" if cancelled else self._submit(pdu, length))
            return True
        end = next((i for i, b in enumerate(self._input) if b in b"\r\n"), None)
        if end is None:
            return False
        raw = bytes(self._input[:end]).replace(bytes([_ESC]), b"")
        del self._input[: end + 1]
        line = raw.decode("ascii", "replace").strip()
        if line:
            if self.echo:
                self._write(raw + b"\r")
            self.commands.append(line)
            self._write(self._answer(line))
        return True

    # --- the AT dialogue --------------------------------------------------------------

    def _answer(self, line: str) -> str:
        command = line.upper()
        ok = "\r\nOK\r\n"
        if command == "AT" or command.startswith(("AT+CMEE=", "AT+CNMA")):
            return ok
        if match := re.fullmatch(r"ATE([01]?)", command):
            self.echo = match.group(1) == "1"
            return ok
        if command == "AT+CMGF=0":
            self.pdu_mode = True
            return ok
        if match := re.fullmatch(r"AT\+CNMI=(\d)(?:,(\d))?.*", command):
            self.cnmi_mt = int(match.group(2) or 0)
            return ok
        if (match := re.fullmatch(r"AT\+CMGS=(\d+)", command)) and self.pdu_mode:
            self._pdu_length = int(match.group(1))
            return "\r\n> "
        if (match := re.fullmatch(r"AT\+CMGR=(\d+)", command)) and self.pdu_mode:
            index = int(match.group(1))
            if index not in self.sim:
                return ok
            status, pdu = self.sim[index]
            self.sim[index] = (max(status, 1), pdu)
            return f"\r\n+CMGR: {status},,{_tpdu_length(pdu)}\r\n{pdu}\r\n{ok}"
        if (match := re.fullmatch(r"AT\+CMGL=(\d)", command)) and self.pdu_mode:
            wanted = _STATUS.get(match.group(1), ())
            lines = []
            for index, (status, pdu) in sorted(self.sim.items()):
                if status in wanted:
                    lines.append(f"\r\n+CMGL: {index},{status},,{_tpdu_length(pdu)}\r\n{pdu}")
                    self.sim[index] = (max(status, 1), pdu)
            return "".join(lines) + ("\r\n" if lines else "") + ok
        if match := re.fullmatch(r"AT\+CMGD=(\d+)(?:,(\d))?", command):
            if (match.group(2) or "0") == "4":
                self.sim.clear()
            self.sim.pop(int(match.group(1)), None)
            return ok
        if command == "AT+CPMS?":
            n, cap = len(self.sim), self.capacity
            return f'\r\n+CPMS: "SM",{n},{cap},"SM",{n},{cap},"SM",{n},{cap}\r\n{ok}'
        if command == "AT+CSCA?":
            return f'\r\n+CSCA: "{self.smsc}",145\r\n{ok}'
        if command == "AT+CSQ":
            return f"\r\n+CSQ: 20,99\r\n{ok}"
        return "\r\nERROR\r\n"

    def _submit(self, pdu: bytes, length: int) -> str:
        if self._fail:
            return f"\r\n+CMS ERROR: {self._fail.pop(0)}\r\n"
        try:
            text = pdu.decode("ascii").strip()
            if _tpdu_length(text) != length:
                raise PduError(f"AT+CMGS={length} but the TPDU has {_tpdu_length(text)} octets")
            part = decode_submit(text)
        except (UnicodeDecodeError, PduError) as err:
            logger.warning("simulated modem got a bad PDU: %s", err)
            return "\r\n+CMS ERROR: 304\r\n"
        self.sent.append(part)
        mr, self._next_mr = self._next_mr, (self._next_mr + 1) % 256
        if self.on_sent is not None:
            c = part.concat
            key = (part.number, c.reference, c.total) if c else len(self.sent) - 1
            if message := self._sent_groups().get(key):
                self.on_sent(message)
        return f"\r\n+CMGS: {mr}\r\n\r\nOK\r\n"


def _tpdu_length(pdu: str) -> int:
    """Octets after the SMSC field: what ``AT+CMGS=`` and ``+CMGL`` count."""
    return len(pdu) // 2 - 1 - int(pdu[:2], 16)


async def _main(link: str | None) -> None:
    def show(message: SentMessage) -> None:
        print(f"sent to {message.number} ({message.parts} part(s)): {message.text}", flush=True)

    simulator = ModemSimulator(link=link, on_sent=show)
    async with simulator:
        print(simulator.port, flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            sender, _, text = line.strip().partition(" ")
            if sender and text:
                simulator.deliver(sender, text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A GSM modem simulator on a pseudo-terminal.")
    parser.add_argument("--link", help="a stable path (symlink) for the port")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args().link))
