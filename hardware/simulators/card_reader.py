"""A card reader (读卡器) on a real pseudo-terminal, for tests and the demo.

:class:`CardReaderSimulator` speaks the frames of :mod:`hardware.devices.serial_card_reader`:
it answers ``PING`` (unless ``silent``) and sends a frame for each card presented, by a
test (:meth:`~CardReaderSimulator.swipe_card`, :meth:`~CardReaderSimulator.swipe_id_card`,
:meth:`~CardReaderSimulator.fail_read`, and :meth:`send_raw` for noise) or through a FIFO
(:meth:`~CardReaderSimulator.listen`): each line written to it is one card::

    echo '<card number>' > .demo/kiosk/card.in           a patient card (就诊卡)
    echo '<ID number> <name>' > .demo/kiosk/card.in      a resident ID card (二代身份证)

A card presented while the reader is unplugged is lost, as on a real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from pathlib import Path

from hardware.devices.frames import FrameDecoder, FrameError, encode_frame

from .pty_device import PtyDevice

logger = logging.getLogger(__name__)

MODEL = "GH-CR1 simulated"


class CardReaderSimulator(PtyDevice):
    def __init__(self, *, link: str | os.PathLike[str] | None = None, model: str = MODEL):
        super().__init__(link=link)
        self.model = model
        self.silent = False
        self.pings = 0
        self.frames: list[tuple[str, ...]] = []
        """Every frame the driver sent."""
        self._decoder = FrameDecoder()
        self._fifo: int | None = None
        self._fifo_buffer = b""

    def swipe_card(self, number: str) -> None:
        self._write(encode_frame("CARD", number))

    def swipe_id_card(self, name: str, id_number: str) -> None:
        self._write(encode_frame("ID", name, id_number))

    def fail_read(self, reason: str = "读卡失败") -> None:
        self._write(encode_frame("ERR", reason))

    def swipe(self, line: str) -> None:
        """A FIFO line: ``<card number>``, or ``<ID number> <name>``."""
        first, _, rest = line.strip().partition(" ")
        if not first:
            return
        if len(first) == 18 and rest.strip():
            self.swipe_id_card(rest.strip(), first)
        else:
            self.swipe_card(first)

    # --- the FIFO -----------------------------------------------------------------------

    def listen(self, fifo: str | os.PathLike[str]) -> None:
        """Take swipes from ``fifo`` (made if missing), one a line, until :meth:`close`."""
        path = Path(fifo)
        if not path.exists():
            os.mkfifo(path)
        elif not stat.S_ISFIFO(path.stat().st_mode):
            raise ValueError(f"{path} is not a FIFO")
        # read and write: the FIFO never reports end of file when a writer closes it
        self._fifo = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        asyncio.get_running_loop().add_reader(self._fifo, self._on_fifo)

    def close(self) -> None:
        """Stop listening to the FIFO."""
        if self._fifo is not None:
            asyncio.get_running_loop().remove_reader(self._fifo)
            os.close(self._fifo)
            self._fifo = None

    def _on_fifo(self) -> None:
        assert self._fifo is not None
        with contextlib.suppress(BlockingIOError):
            self._fifo_buffer += os.read(self._fifo, 4096)
        *lines, self._fifo_buffer = self._fifo_buffer.split(b"\n")
        for line in lines:
            self.swipe(line.decode("utf-8", "replace"))

    # --- the pty ------------------------------------------------------------------------

    def _powered_on(self) -> None:
        self._decoder = FrameDecoder()

    def _received(self, data: bytes) -> None:
        for frame in self._decoder.feed(data):
            if isinstance(frame, FrameError):
                logger.warning("simulated card reader got a bad frame: %s", frame.reason)
                continue
            self.frames.append(frame)
            if frame == ("PING",):
                self.pings += 1
                if not self.silent:
                    self._write(encode_frame("PONG", self.model))
