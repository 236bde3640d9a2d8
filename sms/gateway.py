"""One interface for every SMS gateway (短信网关): Twilio's REST API, a GSM modem (短信猫)
on a serial port.

The notifier and the reply sender only ever see :class:`Gateway`: ``send`` one message
(the gateway splits a long one into concatenated parts itself), and, after a crash
between sending and recording the send, ``find_sent`` asks the gateway whether that
message already left, so it is not sent twice. A gateway that cannot tell
(``can_check = False``) is sent again: a notice may then arrive twice, never not at all.

Messages that come *in* through a gateway that pushes them (a modem) are handed to an
:data:`IncomingHandler`; the gateway forgets (deletes) a message only after the handler
has returned, i.e. after the message is safely stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send. ``key`` is its idempotency key (event + recipient, or the
    inbound message it answers): a gateway that can be asked uses it to recognise it."""

    key: str
    phone: str
    body: str


@dataclass(frozen=True, slots=True)
class Sent:
    """What the gateway said: its id for the message (Twilio's MessageSid, the modem's
    message references), how many parts went out, and the status it reported."""

    provider_id: str | None
    parts: int = 1
    status: str = "sent"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message that came in. ``provider_id`` is unique per message at that gateway
    (Twilio's MessageSid; for a modem, derived from sender, SMSC time stamp and the
    concatenation reference), so a message delivered twice is stored once."""

    gateway: str
    provider_id: str
    phone: str
    body: str
    received_at: datetime | None = None


IncomingHandler = Callable[[Incoming], Awaitable[None]]


class GatewayError(Exception):
    """Sending failed. ``retry`` says whether trying again later may help (a busy
    network, a modem error) or not (an invalid number)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@runtime_checkable
class Gateway(Protocol):
    name: str
    """"twilio", "modem": stored with every message in the message log."""

    min_interval: float
    """Seconds between two sends (a modem manages about one message every few seconds)."""

    can_check: bool
    """Whether :meth:`find_sent` can really tell (False: it always answers None)."""

    async def send(self, message: Outgoing) -> Sent:
        """Send now; raise :class:`GatewayError` when it did not go."""
        ...

    async def find_sent(self, message: Outgoing, since: datetime) -> Sent | None:
        """The earlier send of ``message`` (same phone and body, at or after ``since``),
        or None when the gateway has no record of it."""
        ...
