"""A patient at the kiosk (自助机流程): a card is swiped, the engine says what the patient
has booked today, and the kiosk asks for the next step.

::

    swipe ──► "swipe" request ──► reply: today's bookings
        none to act on ............ "今天没有需要办理的预约"
        one ....................... its step at once
        several ................... listed on screen; the patient touches one (or 0)
    step (STEPS, by the booking's status):
        confirmed ─► "check_in" ─► reply: queue_no   (the engine's print_ticket job follows)
        held      ─► "pay"      ─► reply: ok         (the engine's charge job follows)
        checked_in, its ticket not printed (paper ran out)
                  ─► "reprint"  ─► reply: ok         (the engine's print_ticket job follows)

The engine does the real work; this is only what to ask it and what to show. A refused
request shows the engine's own words (``message``); no reply after two tries shows
"系统繁忙，请稍后再试".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hardware.devices import (
    Card,
    CardReader,
    CardUnreadable,
    DeviceBusy,
    DeviceConnectionError,
    IdCard,
)
from hardware.devices.ticket import fen_to_yuan
from hardware.protocol import Reply

from .screen import BUSY, DEVICE_WORDS, Screen, View

logger = logging.getLogger("hardware.agent.flow")

CHOICE_SECONDS = 30.0
"""A patient reading a list of bookings and touching one; after that they walked away."""
RESULT_SECONDS = 8.0

Ask = Callable[..., Awaitable[Reply | None]]


@dataclass(frozen=True, slots=True)
class Step:
    request: str  # the request kind sent with the booking's number
    choice: str  # the words on the booking's button
    result: Callable[[dict[str, Any], Reply], View]


STEPS: dict[str, Step] = {
    "confirmed": Step(
        "check_in",
        "签到取号",
        lambda booking, reply: View(
            "签到成功", (f"排队号：{reply.body.get('queue_no', '')}号", "正在打印凭条，请稍候")
        ),
    ),
    "held": Step(
        "pay",
        "缴费",
        lambda booking, reply: View("请在刷卡机上付款", (f"金额：￥{_yuan(booking)}",)),
    ),
    "checked_in": Step(
        "reprint",
        "补打凭条",
        lambda booking, reply: View("正在打印凭条，请稍候", ("请取走凭条",)),
    ),
}
"""What the kiosk offers for a booking of each status; other statuses are not offered, nor
a checked-in booking whose ticket was printed (a lost one is re-printed at the desk)."""


def _yuan(booking: dict[str, Any]) -> str:
    fee = booking.get("fee")
    return fen_to_yuan(fee) if type(fee) is int and fee >= 0 else "—"


def card_fields(card: Card) -> dict[str, str]:
    """The ``card`` of a ``swipe`` request."""
    if isinstance(card, IdCard):
        return {"type": "id_card", "name": card.name, "id_number": card.id_number}
    return {"type": "patient_card", "card_no": card.number}


def describe(booking: dict[str, Any]) -> str:
    words = [str(booking.get(key, "")) for key in ("time", "department", "doctor")]
    step = STEPS[booking["status"]]
    return " ".join(word for word in words if word) + f"（{step.choice}）"


def actionable(reply: Reply) -> list[dict[str, Any]]:
    bookings = reply.body.get("bookings")
    if not isinstance(bookings, list):
        return []
    return [
        booking
        for booking in bookings
        if isinstance(booking, dict)
        and isinstance(booking.get("booking_no"), str)
        and booking.get("status") in STEPS
        and not (booking["status"] == "checked_in" and booking.get("ticket_printed") is not False)
    ]


class PatientFlow:
    def __init__(self, reader: CardReader, screen: Screen, ask: Ask) -> None:
        self._reader = reader
        self._screen = screen
        self._ask = ask

    async def run(self) -> None:
        """Serve one patient after another, until cancelled."""
        while True:
            try:
                card = await self._reader.read()
            except CardUnreadable:
                self._screen.show(View(DEVICE_WORDS["card_unreadable"]), RESULT_SECONDS)
                continue
            except (DeviceConnectionError, DeviceBusy):  # logged by the driver, once
                await self._reader.wait_ready()
                continue
            try:
                await self.serve(card)
            finally:
                self._reader.drop_pending()  # cards pressed again while this one was served

    async def serve(self, card: Card) -> None:
        self._screen.show(View("正在查询，请稍候"))
        reply = await self._ask("swipe", card=card_fields(card))
        if not self._answered(reply):
            return
        assert reply is not None
        bookings = actionable(reply)
        if not bookings:
            self._screen.show(
                View("今天没有需要办理的预约", ("如有疑问请到人工窗口",)), RESULT_SECONDS
            )
            return
        booking = bookings[0]
        if len(bookings) > 1:
            patient = reply.body.get("patient")
            name = patient.get("masked_name", "") if isinstance(patient, dict) else ""
            view = View(f"{name} 您好，请选择要办理的预约", choices=tuple(map(describe, bookings)))
            chosen = await self._screen.choose(view, CHOICE_SECONDS)
            if chosen is None:
                self._screen.show(View("已取消"), RESULT_SECONDS / 2)
                return
            booking = bookings[chosen]
        step = STEPS[booking["status"]]
        self._screen.show(View("正在办理，请稍候"))
        answer = await self._ask(step.request, booking_no=booking["booking_no"])
        if self._answered(answer):
            assert answer is not None
            self._screen.show(step.result(booking, answer), RESULT_SECONDS)

    def _answered(self, reply: Reply | None) -> bool:
        """Show what went wrong, if it did."""
        if reply is None:
            self._screen.show(View(BUSY), RESULT_SECONDS)
            return False
        if not reply.ok:
            code = reply.body.get("code", "")
            logger.info("request %s refused: %s", reply.request_id, code)
            self._screen.show(View(reply.message or BUSY), RESULT_SECONDS)
            return False
        return True
