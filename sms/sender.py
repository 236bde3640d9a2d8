"""One sender per gateway: queued messages out, at the gateway's pace, each exactly once
where the gateway can be asked, at least once where it cannot.

A message is claimed (status ``sending``, committed) *before* the gateway is called, and
marked ``sent`` after. A process that dies in between leaves it ``sending``; when its
lease runs out the next claim says so (``resumed``) and the sender first asks the
gateway (:meth:`~sms.gateway.Gateway.find_sent`) whether it already left. Twilio can be
asked; a modem cannot, so a modem notice may then arrive twice, and is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from booking_core import messages
from booking_core.bus import BookingServices
from booking_core.kernel.identity import mask_phone
from booking_core.messages import Claimed

from .gateway import Gateway, GatewayError, Outgoing, Sent

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # with the backoff below: about two hours of trying before giving up
BACKOFF_SECONDS = (10, 30, 60, 120, 300, 600, 1200, 1800)
LEASE_SECONDS = 120  # longer than any send takes (Twilio's timeout is 15 s per call)


def e164(phone: str) -> str:
    """Our 11-digit mainland mobiles get +86; anything else is sent as it was stored."""
    if len(phone) == 11 and phone.isdigit() and phone.startswith("1"):
        return "+86" + phone
    return phone


@dataclass
class Sender:
    services: BookingServices
    gateway: Gateway
    lease_seconds: int = LEASE_SECONDS

    async def run_once(self) -> int:
        """Claim what is due and send it; returns how many messages were dealt with."""
        claimed = await self.services.handle(
            messages.ClaimOutgoing(gateway=self.gateway.name, lease_seconds=self.lease_seconds)
        )
        for i, message in enumerate(claimed):
            if i and self.gateway.min_interval:
                await asyncio.sleep(self.gateway.min_interval)
            await self.deliver(message)
        return len(claimed)

    async def deliver(self, message: Claimed) -> None:
        out = Outgoing(key=message.key, phone=e164(message.phone), body=message.body)
        if message.resumed and self.gateway.can_check and message.sending_since is not None:
            try:
                earlier = await self.gateway.find_sent(out, message.sending_since)
            except GatewayError as err:
                await self._failed(message, err)  # cannot tell yet: ask again later
                return
            if earlier is not None:
                log.info("message %s had left before a restart: not sent again", message.id)
                await self._sent(message, earlier)
                return
        try:
            sent = await self.gateway.send(out)
        except GatewayError as err:
            await self._failed(message, err)
            return
        await self._sent(message, sent)

    async def _sent(self, message: Claimed, sent: Sent) -> None:
        await self.services.handle(
            messages.MarkSent(
                message_id=message.id,
                provider_id=sent.provider_id,
                parts=sent.parts,
                status=sent.status,
            )
        )

    async def _failed(self, message: Claimed, err: GatewayError) -> None:
        give_up = not err.retry or message.attempts >= MAX_ATTEMPTS
        delay = BACKOFF_SECONDS[min(message.attempts, len(BACKOFF_SECONDS)) - 1]
        log.warning(
            "text %s to %s not sent (attempt %d%s): %s",
            message.id,
            mask_phone(message.phone),
            message.attempts,
            ", giving up" if give_up else f", again in {delay} s",
            err,
        )
        await self.services.handle(
            messages.MarkFailed(
                message_id=message.id,
                error=str(err),
                retry_in_seconds=None if give_up else delay,
            )
        )
