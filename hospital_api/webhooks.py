"""The webhook sender (Webhook 推送): one delivery POSTed to a subscriber, signed as the
Standard Webhooks specification says, so a receiver verifies it with any Standard
Webhooks library (https://www.standardwebhooks.com).

Headers: ``webhook-id`` (the delivery's message id: the same on every retry and
redelivery, so the receiver dedupes), ``webhook-timestamp`` (Unix seconds of this attempt)
and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``; during a
secret rotation's overlap a second one, space-separated, by the previous secret). The
signing is the ``standardwebhooks`` package's own.

An answer 2xx is delivered; anything else (another status, no answer within
:data:`booking_core.feeds.TIMEOUT_SECONDS`, a connection refused, an address the SSRF guard
refuses) is a retry: the feed worker records it and tries again after a back-off. Redirects
are not followed (a 3xx is a failure: the subscriber's URL is to be corrected).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from booking_core import feeds
from booking_core.bus import BookingServices
from booking_core.events import webhook_body, webhook_headers
from edge.outbound import GuardedResolver, UnsafeAddress, check_literal

USER_AGENT = "guahao-webhooks/1"
MAX_ANSWER_BYTES = 4096  # of a receiver's answer, read and dropped (its status is what counts)


def headers(secrets: feeds.SubscriptionSecrets, message_id: str, at: float, body: bytes) -> dict:
    """The attempt's headers: Standard Webhooks' (the current secret's signature, then the
    previous one's during a rotation's overlap) and the body's type."""
    keys = [secrets.current] + ([secrets.previous] if secrets.previous else [])
    signed = webhook_headers(message_id, datetime.fromtimestamp(at, UTC), body, keys)
    return {**signed, "Content-Type": "application/json", "User-Agent": USER_AGENT}


class WebhookSender:
    """Sends deliveries of webhook subscriptions over one pooled HTTP client."""

    def __init__(
        self,
        services: BookingServices,
        *,
        allow_private: bool = False,
        timeout: float = feeds.TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._services = services
        self._allow_private = allow_private
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=self._allow_private),
                limit=100,
                limit_per_host=20,
                ttl_dns_cache=60,
            )
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def send(
        self, subscription: feeds.Subscription, delivery: feeds.Delivery
    ) -> feeds.AttemptResult:
        started = time.monotonic()
        secrets = await self._services.read(
            feeds.signing_secrets, subscription.id, self._services.cipher
        )
        if secrets is None:  # not a webhook subscription: nothing can sign it
            return _result(feeds.Outcome.REJECTED, started, None, "no signing secret")
        body = webhook_body(delivery.event, subscription.hospital_code)
        sent = headers(secrets, delivery.message_id, self._clock(), body)
        try:
            check_literal(subscription.url, allow_private=self._allow_private)
            async with self._client().post(
                subscription.url,
                data=body,
                headers=sent,
                timeout=self._timeout,
                allow_redirects=False,
            ) as answer:
                await answer.content.read(MAX_ANSWER_BYTES)
                status = answer.status
        except UnsafeAddress as err:
            return _result(feeds.Outcome.RETRY, started, None, f"address refused: {err.reason}")
        except aiohttp.ClientConnectorError as err:
            if isinstance(err.os_error, UnsafeAddress):
                reason = f"address refused: {err.os_error.reason}"
            else:
                reason = f"could not connect: {err.os_error.strerror or err.os_error}"
            return _result(feeds.Outcome.RETRY, started, None, reason)
        except TimeoutError:
            waited = self._timeout.total
            return _result(feeds.Outcome.RETRY, started, None, f"no answer within {waited:g} s")
        except (aiohttp.ClientError, OSError) as err:
            return _result(feeds.Outcome.RETRY, started, None, f"{type(err).__name__}: {err}")
        if 200 <= status < 300:
            return _result(feeds.Outcome.DELIVERED, started, status, "")
        return _result(feeds.Outcome.RETRY, started, status, f"HTTP {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            await asyncio.sleep(0)  # let the connector's transports close


def _result(
    outcome: feeds.Outcome, started: float, status: int | None, error: str
) -> feeds.AttemptResult:
    elapsed = round((time.monotonic() - started) * 1000)
    return feeds.AttemptResult(
        outcome=outcome, duration_ms=elapsed, status_code=status, error=error
    )
