"""Helpers of the kiosk device tests: a manual clock, waiting for pty bytes, a ticket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from hardware.devices.ticket import Ticket

if TYPE_CHECKING:
    from hardware.devices.serial_device import SerialDevice


class ManualClock:
    """The drivers' sleep: nothing wakes until the test moves time with :meth:`advance`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        entry = (self.now + seconds, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, future in self._sleepers:
            if deadline <= self.now + 1e-9 and not future.done():
                future.set_result(None)

    @property
    def sleeping(self) -> list[float]:
        """What each sleeper still has to sleep, shortest first."""
        return sorted(d - self.now for d, f in self._sleepers if not f.done())


async def eventually(check: Callable[[], object], seconds: float = 3.0) -> None:
    """Wait (a few milliseconds at a time, up to ``seconds``) until ``check()`` is true:
    only for bytes crossing a pty."""
    for _ in range(int(seconds / 0.005)):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"still not true after {seconds} s")


@asynccontextmanager
async def running(device: SerialDevice) -> AsyncIterator[SerialDevice]:
    async with device:
        async with asyncio.timeout(3):
            await device.wait_ready()
        yield device


async def reconnect(device: SerialDevice, clock: ManualClock, interval: float) -> None:
    """Once the driver sleeps before trying again, move time on and wait until it is back."""
    await eventually(lambda: interval in clock.sleeping)
    clock.advance(interval)
    async with asyncio.timeout(3):
        await device.wait_ready()


def make_ticket(**changes: object) -> Ticket:
    fields: dict[str, object] = {
        "hospital": "首都医科大学附属北京安贞医院",
        "department": "心血管内科",
        "doctor": "张建国",
        "doctor_title": "主任医师",
        "room": "门诊楼3层 312诊室",
        "day": date(2026, 7, 10),
        "start": time(8, 30),
        "end": time(9, 0),
        "queue_no": 12,
        "booking_no": "384759261",
        "masked_name": "李*",
        "fee": 5000,
        "paid_by": "银行卡 尾号0123",
        "printed_at": datetime(2026, 7, 10, 0, 12, 5, tzinfo=UTC),
    }
    fields.update(changes)
    return Ticket(**fields)  # type: ignore[arg-type]
