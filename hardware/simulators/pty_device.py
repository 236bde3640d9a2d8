"""A device on a real pseudo-terminal: what every kiosk device simulator is built on.

:class:`PtyDevice` opens a pty (``os.openpty()``) and talks on its master side, so a
driver opens the tty path (:attr:`PtyDevice.port`) and runs its real serial I/O unchanged.
It can vanish (close the pty, like an unplugged USB device: the driver's reads fail) and
come back. With ``link`` the port is a symlink re-pointed at each new pty, like
``/dev/serial/by-id/…``: the same path after a comeback. Only the standard library.
"""

from __future__ import annotations

import asyncio
import os
import tty
from pathlib import Path
from typing import Self


class PtyDevice:
    """Use ``await start()`` / ``await stop()`` or ``async with``; subclasses answer in
    :meth:`_received` and write with :meth:`_write`."""

    def __init__(self, *, link: str | os.PathLike[str] | None = None) -> None:
        self._link = Path(link) if link is not None else None
        self._master = self._slave = -1
        self._tty = ""
        self._output = bytearray()
        self.received = bytearray()
        """Every byte the driver wrote, across comebacks."""

    @property
    def port(self) -> str:
        """The tty path to open (the link, if one was asked for)."""
        return str(self._link) if self._link is not None else self._tty

    @property
    def running(self) -> bool:
        return self._master >= 0

    async def start(self) -> None:
        """Power on: a new pty (and the link pointed at it)."""
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
        self._output.clear()
        self._powered_on()
        asyncio.get_running_loop().add_reader(self._master, self._on_readable)

    async def stop(self) -> None:
        """Power off: close the pty (the driver's port fails) and remove the link."""
        self.power_off()

    def power_off(self) -> None:
        """:meth:`stop`, callable from the middle of handling the driver's bytes."""
        if not self.running:
            return
        self._powering_off()
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

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` to the driver as it is (noise, a cut-off frame…)."""
        self._write(data)

    # --- for subclasses -----------------------------------------------------------------

    def _powered_on(self) -> None:
        """A new pty: forget what was half-received before."""

    def _powering_off(self) -> None:
        """The pty is about to close."""

    def _received(self, data: bytes) -> None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        if not self.running:
            return
        self._output += data
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
        self.received += data
        self._received(data)
