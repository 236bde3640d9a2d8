"""The kiosk's screen (触摸屏), as small as the agent needs: show a view, offer choices and
wait for a touch.

:class:`TextScreen` is the implementation that ships: it writes what a patient would see
to ``screen.txt`` in the state directory (replaced whole at each change), logs it, and
takes touches one a line from the FIFO ``touch.in`` beside it (like the card reader
simulator's ``card.in``)::

    echo 2 > /var/lib/guahao-kiosk/touch.in        the second choice
    echo 0 > /var/lib/guahao-kiosk/touch.in        取消 (cancel)

A kiosk vendor with a real touch screen implements :class:`Screen` on it. The words a
patient reads for each device error code are in :data:`DEVICE_WORDS` (a test checks that
every code has them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger("hardware.agent.screen")

IDLE_TITLE = "请刷就诊卡或身份证"
BUSY = "系统繁忙，请稍后再试"

DEVICE_WORDS: dict[str, str] = {
    "device_error": "设备故障，请到人工窗口办理",
    "unavailable": "设备暂时不可用，请到人工窗口办理",
    "timeout": "设备无响应，请到人工窗口办理",
    "busy": "设备忙，请稍后再试",
    "protocol": "设备故障，请到人工窗口办理",
    "printer_not_ready": "打印机暂不可用，请到人工窗口取号",
    "paper_out": "打印机缺纸，请到人工窗口取号",
    "cover_open": "打印机盖未关好，请到人工窗口取号",
    "printer_fault": "打印机故障，请到人工窗口取号",
    "printer_offline": "打印机离线，请到人工窗口取号",
    "card_unreadable": "读卡失败，请重新刷卡",
    "declined": "支付未成功",
}
"""A patient's words for each device error code (a test checks ALL_DEVICE_ERRORS has them)."""


@dataclass(frozen=True, slots=True)
class View:
    """One screen: a title, lines under it, and numbered choices (touch 1…n, 0 cancels)."""

    title: str
    lines: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()

    def text(self) -> str:
        rows = [self.title, *self.lines]
        rows += [f"[{n}] {choice}" for n, choice in enumerate(self.choices, 1)]
        if self.choices:
            rows.append("[0] 取消")
        return "\n".join(rows) + "\n"


IDLE = View(IDLE_TITLE)


class Screen(Protocol):
    def show(self, view: View, seconds: float | None = None) -> None:
        """Show ``view``; back to the idle screen after ``seconds`` unless something else
        was shown meanwhile."""
        ...

    async def choose(self, view: View, seconds: float) -> int | None:
        """Show ``view`` with its choices and wait for a touch: the choice's index (from
        0), or None when the patient cancelled or did not touch within ``seconds``."""
        ...


class TextScreen:
    """:class:`Screen` as a text file and a FIFO in ``directory``. ``async with`` opens the
    FIFO."""

    def __init__(self, directory: Path) -> None:
        self.file = directory / "screen.txt"
        self.touch_fifo = directory / "touch.in"
        self._touches: asyncio.Queue[str] = asyncio.Queue()
        self._fd: int | None = None
        self._buffer = b""
        self._back: asyncio.TimerHandle | None = None
        self._shown: View | None = None

    async def __aenter__(self) -> TextScreen:
        if not self.touch_fifo.exists():
            os.mkfifo(self.touch_fifo, 0o620)
        elif not stat.S_ISFIFO(self.touch_fifo.stat().st_mode):
            raise ValueError(f"{self.touch_fifo} is not a FIFO")
        # read and write: the FIFO never reports end of file when a writer closes it
        self._fd = os.open(self.touch_fifo, os.O_RDWR | os.O_NONBLOCK)
        asyncio.get_running_loop().add_reader(self._fd, self._on_touch)
        self.show(IDLE)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._back is not None:
            self._back.cancel()
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None

    def show(self, view: View, seconds: float | None = None) -> None:
        if self._back is not None:
            self._back.cancel()
            self._back = None
        if view != self._shown:
            self._shown = view
            tmp = self.file.with_name(self.file.name + ".new")
            tmp.write_text(view.text(), encoding="utf-8")
            tmp.replace(self.file)
            logger.info("screen: %s", " | ".join(view.text().splitlines()))
        if seconds is not None:
            self._back = asyncio.get_running_loop().call_later(seconds, self.show, IDLE)

    async def choose(self, view: View, seconds: float) -> int | None:
        while not self._touches.empty():  # a touch before the choices were shown is no answer
            self._touches.get_nowait()
        self.show(view)
        try:
            async with asyncio.timeout(seconds):
                while True:
                    touch = await self._touches.get()
                    if touch in ("0", "cancel"):
                        return None
                    if touch.isdigit() and 1 <= int(touch) <= len(view.choices):
                        return int(touch) - 1
                    logger.info("screen: touch %r is none of the choices", touch[:20])
        except TimeoutError:
            return None

    def _on_touch(self) -> None:
        assert self._fd is not None
        with contextlib.suppress(BlockingIOError):
            self._buffer += os.read(self._fd, 4096)
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if touch := line.decode("utf-8", "replace").strip():
                self._touches.put_nowait(touch)
