"""A text that came in, through any gateway: stored once, answered once.

Both gateways come through :class:`Inbox`: Twilio's webhook (the reply goes back inline
as TwiML, and a retried webhook gets the stored reply) and the modem's reader (the reply
is queued for the modem's sender, and a message read again after a crash is answered
then, as only one process reads a modem).

A webhook that cannot wait any longer (Twilio's budget) tells the texter that the result
will come by text (:class:`ReplyLater`): the exchange goes on without it, and its reply,
the booking's number or the refusal, is queued for the sender instead of answered inline,
once. Nothing is left unsaid: if the core fails after that, the "system busy" reply is
the one texted (and it is true: a booking that failed committed nothing).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from booking_core import catalogue, messages
from booking_core.bus import BookingServices
from booking_core.catalogue import Hospital
from booking_core.kernel.errors import SystemFault
from edge.metrics import BookingCounter, count_booking

from .gateway import Incoming
from .handler import Answer, Texter, respond
from .replies import Replies

log = logging.getLogger(__name__)

CHANNEL = "sms"
REPLY_POLL_SECONDS = 0.05  # a retried webhook looks this often for the first delivery's reply


class ReplyLater:
    """Whether a webhook's reply goes back inline or as a text: the webhook
    :meth:`defer`s when its budget runs out, the exchange calls :meth:`settle` just before
    it stores the reply. Whichever comes first decides (one event loop: no lock needed)."""

    __slots__ = ("deferred", "settled")

    def __init__(self) -> None:
        self.deferred = False
        self.settled = False

    def defer(self) -> bool:
        """The webhook stops waiting: True unless the reply is being stored already (then
        the webhook waits for it: one write more)."""
        if not self.settled:
            self.deferred = True
        return self.deferred

    def settle(self) -> bool:
        """The reply is about to be stored: True if it must be texted."""
        self.settled = True
        return self.deferred


@dataclass
class Inbox:
    services: BookingServices
    replies: Replies
    hospital_code: str
    on_booking: BookingCounter | None = None
    _storing: set = field(default_factory=set)  # replies answered inline, being stored

    async def hospital(self) -> Hospital:
        """The line's hospital (its code, id and zone), through the core's cache."""
        return await self.services.cached(catalogue.hospital, self.hospital_code)

    async def take(
        self, incoming: Incoming, *, send_reply: bool, later: ReplyLater | None = None
    ) -> str | None:
        """Store ``incoming`` once and answer it; the reply (None: another delivery of the
        same message is answering it right now, and ``send_reply`` is False). With
        ``later``, the reply is texted if the webhook deferred it before it was stored."""
        hospital = await self.hospital()
        claim = await self.services.handle(
            messages.ReceiveMessage(
                gateway=incoming.gateway,
                provider_id=incoming.provider_id,
                hospital_code=hospital.code,
                phone=incoming.phone,
                body=incoming.body,
            )
        )
        if claim.reply is not None:
            return claim.reply  # a retry: the same answer, nothing done again
        if not claim.won and not send_reply:
            return await self._wait_for_reply(claim.message_id)
        # won, or a modem message read again after the first attempt failed
        texter = Texter(
            hospital_code=hospital.code,
            hospital_id=hospital.id,
            timezone=hospital.timezone,
            phone=incoming.phone,
        )
        try:
            answer = await respond(self.services, self.replies, texter, incoming.body)
        except SystemFault as err:
            if later is None or not later.deferred:
                raise  # the door answers "busy" itself
            log.error("SMS %s not handled after its webhook answered: %s", claim.message_id, err)
            answer = Answer(self.replies.error(err, lang=texter.lang))
        if answer.booking_result is not None:  # one per booking a text asked for
            count_booking(self.on_booking, CHANNEL, answer.booking_result)
        send = send_reply or (later is not None and later.settle())
        command = messages.AnswerMessage(
            message_id=claim.message_id, reply=answer.reply, send=send, booking_no=answer.booking_no
        )
        if send:  # the sender texts it: queued before this returns
            return await self.services.handle(command)
        # Answered inline: the texter's reply does not wait for the log's commit (one
        # durable commit less on the webhook's path). Its retry meanwhile waits for the
        # stored reply (_wait_for_reply); what the core did is committed already.
        self._keep(asyncio.ensure_future(self.services.handle(command)), claim.message_id)
        return answer.reply

    def _keep(self, task: asyncio.Future, message_id: int) -> None:
        self._storing.add(task)

        def done(task: asyncio.Future) -> None:
            self._storing.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("reply to SMS %s not stored: %s", message_id, task.exception())

        task.add_done_callback(done)

    async def stored(self) -> None:
        """Until every reply answered inline is stored (before the store closes)."""
        while self._storing:
            await asyncio.gather(*self._storing, return_exceptions=True)

    async def _wait_for_reply(self, message_id: int) -> str | None:
        while True:  # the caller's time budget bounds the wait
            reply = await self.services.read(messages.inbound_reply, message_id)
            if reply is not None:
                return reply
            await asyncio.sleep(REPLY_POLL_SECONDS)
