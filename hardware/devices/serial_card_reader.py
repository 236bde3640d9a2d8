"""The card reader (读卡器) on a serial port: patient cards (就诊卡) and resident ID cards
(二代身份证), in the frames of :mod:`hardware.devices.frames`.

Reader to kiosk, whenever a card is presented::

    CARD ␟ <card number>            a patient card: 4-32 letters or digits
    ID ␟ <name> ␟ <ID number>       a resident ID card: the 18-character number
    ERR ␟ <reason>                  a card was presented but could not be read

Kiosk to reader, at every connect (the reader's answer proves it is there)::

    PING                            answered by   PONG ␟ <model>

An ID number whose checksum (GB 11643) or birth date is wrong is a misread, not a
patient: :meth:`SerialCardReader.read` raises :class:`CardUnreadable` for it, as for
``ERR`` and a card number that is not one. Frames that cannot be read (noise, a frame cut
short, a wrong checksum) are dropped and logged once; the next card is read as usual.
"""

from __future__ import annotations

import asyncio
import collections
import re

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from .base import (
    PING_TIMEOUT_SECONDS,
    RECONNECT_INTERVAL_SECONDS,
    Card,
    CardUnreadable,
    DeviceBusy,
    IdCard,
    PatientCard,
    Sleep,
    StateCallback,
)
from .frames import FrameDecoder, FrameError, encode_frame
from .serial_device import SerialDevice

PENDING_CARDS = 8
"""Cards presented while nobody reads are kept, the oldest dropped past this many: the
kiosk reads at once, so more is a patient pressing a card again and again."""

CARD_NUMBER = re.compile(r"[0-9A-Za-z]{4,32}")


def card_from_frame(fields: tuple[str, ...]) -> Card | CardUnreadable | None:
    """The card a reader frame announces, the read error it reports, or None when it
    announces no card."""
    match fields:
        case ("CARD", number):
            if CARD_NUMBER.fullmatch(number):
                return PatientCard(number)
            return CardUnreadable("card reader", f"card number of {len(number)} characters")
        case ("ID", name, id_number):
            try:
                id_number = ric.validate(id_number.strip().upper())
            except ValidationError as err:
                return CardUnreadable("card reader", f"ID number unreadable: {err}")
            if not name.strip():
                return CardUnreadable("card reader", "ID card without a name")
            return IdCard(name.strip(), id_number)
        case ("ERR", reason):
            return CardUnreadable("card reader", f"the reader says: {reason}")
    return None


class SerialCardReader(SerialDevice):
    """:class:`~hardware.devices.base.CardReader` on our card reader's serial port."""

    kind = "card reader"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
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
        self._pong: asyncio.Future[str] | None = None
        self._reading: asyncio.Future[Card] | None = None
        self._pending: collections.deque[Card | CardUnreadable] = collections.deque(
            maxlen=PENDING_CARDS
        )
        self.model = ""

    async def read(self) -> Card:
        if self._pending:
            return _card(self._pending.popleft())
        if self._reading is not None:
            raise DeviceBusy(self.kind, "another read is already waiting for a card")
        self._require_ready()
        self._reading = self._waiter(outcome_unknown=False)
        try:
            return await self._reading  # no timeout: a kiosk waits for its patients
        finally:
            self._reading = None

    def drop_pending(self) -> int:
        dropped = len(self._pending)
        self._pending.clear()
        return dropped

    def _received(self, data: bytes) -> None:
        for frame in self._decoder.feed(data):
            if isinstance(frame, FrameError):
                self._bad_input(frame.reason)
                continue
            if frame[0] == "PONG" and len(frame) == 2:
                if self._pong is not None and not self._pong.done():
                    self._pong.set_result(frame[1])
                continue
            card = card_from_frame(frame)
            if card is None:
                self._bad_input(f"unknown frame {frame[0][:16]!r} with {len(frame)} field(s)")
                continue
            self._deliver(card)

    def _deliver(self, card: Card | CardUnreadable) -> None:
        reading = self._reading
        if reading is None or reading.done():
            self._pending.append(card)
        elif isinstance(card, CardUnreadable):
            reading.set_exception(card)
        else:
            reading.set_result(card)

    def _connected(self) -> None:
        self._decoder = FrameDecoder()

    async def _handshake(self) -> None:
        self._pong = self._waiter(outcome_unknown=False)
        try:
            self.model = await self._ask(
                encode_frame("PING"),
                self._pong,
                PING_TIMEOUT_SECONDS,
                "PING",
                outcome_unknown=False,
            )
        finally:
            self._pong = None


def _card(item: Card | CardUnreadable) -> Card:
    if isinstance(item, CardUnreadable):
        raise item
    return item
