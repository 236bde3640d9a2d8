"""The bank card terminal (银联 POS) on a serial port, in the frames of
:mod:`hardware.devices.frames`: one request at a time, each answered once.

Kiosk to terminal (amounts in fen, request ids chosen by the kiosk: 1-40 of
``0-9 A-Z a-z _ . : -``)::

    PING ␟ <id>
    SALE ␟ <id> ␟ <amount>                              charge (消费)
    REVERSAL ␟ <id> ␟ <reference> ␟ <charge id>        undo a charge (冲正): by its
                                                        reference, or (empty reference)
                                                        by the id of its request
    REFUND ␟ <id> ␟ <reference> ␟ <amount>             give back (退货) of a charge

Terminal to kiosk::

    PONG ␟ <id>
    APPROVED ␟ <id> ␟ <reference> ␟ <amount> ␟ <masked card>
    DECLINED ␟ <id> ␟ <code> ␟ <reason>                 the bank's or terminal's no
    BUSY ␟ <id> ␟ <reason>                              in another transaction: nothing done
    ERROR ␟ <id> ␟ <reason>                             the request made no sense: nothing done

The terminal keeps every answer by request id: a request sent again (after a timeout, a
lost answer, a restarted kiosk) gets the first answer and moves no money again. When the
answer to a charge never comes (:class:`DeviceTimeout`, or :class:`DeviceConnectionError`
with ``outcome_unknown``) the money may have been taken: reverse it by the charge's
request id (``reverse(…, charge_request_id=…)``); the answer's amount says what went
back, 0 if nothing had been taken, and the terminal refuses that charge if it comes
later.
"""

from __future__ import annotations

import asyncio
import re

from .base import (
    CHARGE_TIMEOUT_SECONDS,
    PING_TIMEOUT_SECONDS,
    RECONNECT_INTERVAL_SECONDS,
    REFUND_TIMEOUT_SECONDS,
    REVERSAL_TIMEOUT_SECONDS,
    Approval,
    DeviceBusy,
    DeviceProtocolError,
    PaymentDeclined,
    Sleep,
    StateCallback,
)
from .frames import FrameDecoder, FrameError, encode_frame
from .serial_device import SerialDevice, logger

REQUEST_ID = re.compile(r"[0-9A-Za-z_.:-]{1,40}")


def answer_from_frame(fields: tuple[str, ...]) -> Approval | Exception | None:
    """A terminal's answer as the result (or the error) of its request; None when the
    frame is no answer we know."""
    kind = "card terminal"
    match fields:
        case ("APPROVED", request_id, reference, amount, card) if amount.isdigit() and reference:
            return Approval(request_id, reference, int(amount), card)
        case ("DECLINED", request_id, code, reason):
            return PaymentDeclined(request_id, code, reason)
        case ("BUSY", _, reason):
            return DeviceBusy(kind, f"the terminal is busy: {reason}")
        case ("ERROR", _, reason):
            return DeviceProtocolError(kind, f"the terminal refused the request: {reason}")
    return None


class SerialCardTerminal(SerialDevice):
    """:class:`~hardware.devices.base.CardTerminal` on a bank terminal's serial port."""

    kind = "card terminal"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        reconnect_interval: float = RECONNECT_INTERVAL_SECONDS,
        sleep: Sleep = asyncio.sleep,
        on_state: StateCallback | None = None,
    ) -> None:
        super().__init__(
            port,
            baudrate=baudrate,
            reconnect_interval=reconnect_interval,
            sleep=sleep,
            on_state=on_state,
        )
        self._decoder = FrameDecoder()
        self._pending: tuple[str, asyncio.Future[object]] | None = None
        self._pings = 0

    async def charge(self, request_id: str, amount: int) -> Approval:
        _check_amount(amount)
        return await self._request(
            ("SALE", request_id, str(amount)), CHARGE_TIMEOUT_SECONDS, "charge"
        )

    async def reverse(
        self,
        request_id: str,
        *,
        reference: str | None = None,
        charge_request_id: str | None = None,
    ) -> Approval:
        if not reference and not charge_request_id:
            raise ValueError("a reversal names the charge's reference or its request id")
        if charge_request_id is not None:
            _check_request_id(charge_request_id)
        fields = ("REVERSAL", request_id, reference or "", charge_request_id or "")
        return await self._request(fields, REVERSAL_TIMEOUT_SECONDS, "reversal")

    async def refund(self, request_id: str, reference: str, amount: int) -> Approval:
        _check_amount(amount)
        return await self._request(
            ("REFUND", request_id, reference, str(amount)), REFUND_TIMEOUT_SECONDS, "refund"
        )

    async def _request(self, fields: tuple[str, ...], seconds: float, what: str) -> Approval:
        request_id = fields[1]
        _check_request_id(request_id)
        self._require_ready()
        if self._pending is not None:
            raise DeviceBusy(
                self.kind, f"{what} {request_id}: {self._pending[0]} still waits for its answer"
            )
        answer = await self._exchange(fields, seconds, f"{what} {request_id}")
        assert isinstance(answer, Approval)
        return answer

    async def _exchange(self, fields: tuple[str, ...], seconds: float, what: str) -> object:
        """Send a request and wait for the answer with its id (a result, or raised)."""
        future: asyncio.Future[object] = self._waiter(outcome_unknown=True)
        self._pending = (fields[1], future)
        try:
            return await self._ask(
                encode_frame(*fields), future, seconds, what, outcome_unknown=True
            )
        finally:
            self._pending = None

    def _received(self, data: bytes) -> None:
        for frame in self._decoder.feed(data):
            if isinstance(frame, FrameError):
                self._bad_input(frame.reason)
                continue
            answer: object = (
                frame[1] if frame[0] == "PONG" and len(frame) == 2 else answer_from_frame(frame)
            )
            if answer is None:
                self._bad_input(f"unknown frame {frame[0][:16]!r} with {len(frame)} field(s)")
                continue
            pending = self._pending
            if pending is None or pending[0] != frame[1] or pending[1].done():
                logger.warning(
                    "card terminal on %s answered %s to request %s, which no one waits for "
                    "(timed out?): %s",
                    self.port,
                    frame[0],
                    frame[1],
                    answer,
                )
            elif isinstance(answer, Exception):
                pending[1].set_exception(answer)
            else:
                pending[1].set_result(answer)

    def _connected(self) -> None:
        self._decoder = FrameDecoder()

    async def _handshake(self) -> None:
        self._pings += 1
        await self._exchange(("PING", f"ping-{self._pings}"), PING_TIMEOUT_SECONDS, "PING")


def _check_request_id(request_id: str) -> None:
    if not REQUEST_ID.fullmatch(request_id):
        raise ValueError(f"request id must be 1-40 of 0-9 A-Z a-z _ . : -, not {request_id!r}")


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amount must be a positive number of fen, not {amount!r}")
