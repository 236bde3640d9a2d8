"""Outbound SMS through Twilio's Messages API, with the ``twilio`` package's REST client on
its asyncio HTTP client (aiohttp).

``send`` creates one Message (Twilio splits a long body into concatenated parts itself)
and asks for delivery reports at ``status_callback``, the public URL of
``POST /twilio/sms/status``. Twilio's Messages API has no idempotency key, so after a
crash between send and mark-done ``find_sent`` looks the message up instead: the
messages to the same phone (from the same sender), created at or after ``since``, with
exactly the same body. See :meth:`TwilioGateway.find_sent` for what that can miss.

A retryable :class:`GatewayError` (timeout, dropped connection, 5xx) does not prove the
message stayed home: Twilio may have accepted it and the answer got lost. Ask
``find_sent`` before sending it again.

Errors of the message or its recipient (an invalid number, a recipient who answered
STOP) are final. Errors of our configuration (credentials, sender, an account or
service not found, a region not enabled) and Twilio's own trouble (429, 5xx) are
retried: every notice would fail alike, and a notice waits for an operator rather than
being dropped. Phone numbers are masked in every log line and error text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client

from booking_core.kernel.identity import mask_phone
from edge.twilio_rest import TwilioHttpClient

from .gateway import GatewayError, Outgoing, Sent

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 15.0
"""Deadline of one REST call. Twilio answers a create or a page of a list in well under
a second; 15 s rides out a slow link or a congested API, yet a notifier stuck on a dead
connection moves on (and asks ``find_sent``) well within a reminder's margin."""

CLOCK_SKEW_SECONDS = 5.0
"""How far before ``since`` a message's creation may appear and still be ours. Twilio's
dates carry whole seconds (a message created 0.7 s after ``since`` may read 0.3 s
before it) and our clock and Twilio's differ a little even under NTP; 5 s covers both
while staying far below the time between two different notices to one phone."""

FIND_PAGE_SIZE = 50
"""Messages per page when ``find_sent`` reads a phone's history (Twilio's default)."""

FIND_MAX_PAGES = 10
"""At most this many pages (500 messages to one phone since ``since``) are read; past
that ``find_sent`` gives up and answers None (sending again: a duplicate, never a loss)."""

CONFIG_ERROR_CODES = frozenset(
    {
        20003,  # authentication failed: wrong account SID or auth token
        20404,  # the account, or a resource it names, does not exist
        21212,  # invalid From number
        21408,  # sending to this region is not enabled (geo permissions)
        21606,  # From is not an SMS-capable number of this account
        21659,  # From is not a Twilio number of this account
        21701,  # the Messaging Service does not exist
        21703,  # the Messaging Service has no sender
        21704,  # the Messaging Service has no phone number for this message
    }
)
"""Twilio error codes that say our setup is wrong, not this message: every notice would
fail alike until an operator fixes it, so they are retried rather than dropped."""

CONFIG_ERROR_STATUSES = frozenset({401, 403, 404})

_NUMBER = re.compile(r"\+?\d{7,15}")
_GSM_ESCAPED = frozenset("^{}\\[~]|")


def mask_numbers(text: str) -> str:
    """``text`` with every phone-number-like run of digits masked (Twilio's error messages
    quote the number)."""
    return _NUMBER.sub(lambda m: mask_phone(m.group()), text)


def to_e164(phone: str, country_code: str = "86") -> str:
    """Twilio wants E.164 (``+8613800138000``); our phones are 11-digit mainland mobiles
    (``13800138000``, see ``booking_core.kernel.identity.normalize_phone``) or already E.164."""
    phone = phone.strip()
    if phone.startswith("+"):
        return phone
    if phone.startswith("00"):
        return "+" + phone[2:]
    return f"+{country_code}{phone}"


def estimate_parts(body: str) -> int:
    """Parts of ``body`` when Twilio has not counted them yet (a Messaging Service reports 0
    until it picks a sender). Printable ASCII but the backtick is GSM-7 (160 septets alone,
    153 a part; ``^{}\\[~]|`` take two); anything else is counted as UCS-2 (70, 67 a
    part), so a non-ASCII GSM letter (é, £) may count too many parts, never too few."""
    if all((" " <= ch <= "~" and ch != "`") or ch in "\n\r" for ch in body):
        units = len(body) + sum(ch in _GSM_ESCAPED for ch in body)
        single, part = 160, 153
    else:
        units, single, part = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // part)


class TwilioGateway:
    """Twilio's REST API as a :class:`sms.gateway.Gateway`.

    Send from the phone number ``from_`` or through the Messaging Service
    ``messaging_service_sid`` (one of the two). ``api_base`` points the client somewhere
    other than ``https://api.twilio.com`` (tests: a local fake). The HTTP session is
    opened on first use and closed by :meth:`aclose` (or ``async with``).
    """

    name = "twilio"
    can_check = True

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        min_interval: float = 0.05,
        api_base: str | None = None,
        country_code: str = "86",
        timeout: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        if not (from_ or messaging_service_sid):
            raise ValueError("TwilioGateway needs from_ or messaging_service_sid")
        self.account_sid = account_sid
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self.min_interval = min_interval
        self.api_base = api_base
        self.country_code = country_code
        self.timeout = timeout
        self._auth_token = auth_token
        self._http: TwilioHttpClient | None = None
        self._client: Client | None = None

    def __repr__(self) -> str:
        return f"<TwilioGateway {self.account_sid} from {self.from_ or self.messaging_service_sid}>"

    # -- lifecycle ---------------------------------------------------------------------

    def _rest(self) -> Client:
        if self._client is None:
            self._http = TwilioHttpClient(self.api_base, log)
            self._client = Client(self.account_sid, self._auth_token, http_client=self._http)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP session (a later call opens a new one)."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()

    async def __aenter__(self) -> TwilioGateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- Gateway -----------------------------------------------------------------------

    async def send(self, message: Outgoing) -> Sent:
        to = to_e164(message.phone, self.country_code)
        options: dict[str, Any] = {"to": to, "body": message.body}
        if self.from_:
            options["from_"] = self.from_
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        if self.status_callback:
            options["status_callback"] = self.status_callback
        try:
            async with asyncio.timeout(self.timeout):
                created = await self._rest().messages.create_async(**options)
        except Exception as err:
            raise self._gateway_error("send", message.phone, err) from err
        sent = _sent(created, message.body)
        log.info(
            "SMS %s to %s handed to Twilio as %s (%d parts, %s)",
            message.key,
            mask_phone(message.phone),
            sent.provider_id,
            sent.parts,
            sent.status,
        )
        return sent

    async def find_sent(self, message: Outgoing, since: datetime) -> Sent | None:
        """The message Twilio holds for this phone (and our ``from_``), created at or after
        ``since`` (less :data:`CLOCK_SKEW_SECONDS`), with exactly this body; else None.

        The list is asked without a ``DateSent`` filter: Twilio filters DateSent by whole
        GMT days only, and a message still queued (the usual state right after a lost
        answer) has no DateSent at all, so the filter would hide exactly the message we
        look for. Instead we read newest first and stop at the first message *sent*
        before ``since``: Twilio sorts by DateSent, newest first, so all after it are
        older. Creation time (``date_created``, never empty) decides what is new enough.

        Limits: Twilio does not document where unsent messages sort; if it puts them
        last, a still-queued message is not seen and is sent again (a duplicate, never a
        loss). Bodies altered by Twilio (a Messaging Service's smart encoding) or hidden
        by message redaction never match, with the same outcome. Two identical bodies to
        one phone within :data:`CLOCK_SKEW_SECONDS` before ``since`` are taken for one.
        Without ``from_`` (a Messaging Service), any sender of the account counts.
        A message's status is whatever it is now ("failed" included): the status
        callbacks tell the rest, as they would have without the crash.
        """
        if since.tzinfo is None:
            raise ValueError("find_sent needs an aware datetime")
        to = to_e164(message.phone, self.country_code)
        cutoff = since.astimezone(UTC) - timedelta(seconds=CLOCK_SKEW_SECONDS)
        filters: dict[str, Any] = {"to": to, "page_size": FIND_PAGE_SIZE}
        if self.from_:
            filters["from_"] = self.from_
        try:
            async with asyncio.timeout(self.timeout):
                page = await self._rest().messages.page_async(**filters)
            for _ in range(FIND_MAX_PAGES):
                for record in page:
                    if record.date_sent is not None and record.date_sent < cutoff:
                        return self._not_found(message)
                    if _is_it(record, to, self.from_, message.body, cutoff):
                        sent = _sent(record, message.body)
                        log.info(
                            "SMS %s to %s was already at Twilio as %s (%s)",
                            message.key,
                            mask_phone(message.phone),
                            sent.provider_id,
                            sent.status,
                        )
                        return sent
                async with asyncio.timeout(self.timeout):
                    page = await page.next_page_async()
                if page is None:
                    return self._not_found(message)
        except Exception as err:
            raise self._gateway_error("look up", message.phone, err) from err
        log.warning(
            "gave up looking for SMS %s to %s after %d messages at Twilio",
            message.key,
            mask_phone(message.phone),
            FIND_PAGE_SIZE * FIND_MAX_PAGES,
        )
        return None

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _not_found(message: Outgoing) -> None:
        log.info("SMS %s to %s is not at Twilio", message.key, mask_phone(message.phone))
        return None

    def _gateway_error(self, doing: str, phone: str, err: Exception) -> GatewayError:
        retry, reason = _classify(err, self.timeout)
        log.warning(
            "Twilio could not %s SMS to %s (%s): %s",
            doing,
            mask_phone(phone),
            "will retry" if retry else "final",
            reason,
        )
        return GatewayError(f"Twilio: {reason}", retry=retry)


def _is_it(record: Any, to: str, from_: str | None, body: str, cutoff: datetime) -> bool:
    return (
        str(record.direction or "").startswith("outbound")
        and record.to == to
        and (from_ is None or record.from_ == from_)
        and record.body == body
        and isinstance(record.date_created, datetime)
        and record.date_created >= cutoff
    )


def _sent(record: Any, body: str) -> Sent:
    try:
        parts = int(record.num_segments or 0)
    except ValueError:
        parts = 0
    return Sent(
        provider_id=record.sid,
        parts=parts if parts > 0 else estimate_parts(body),
        status=str(record.status or "queued"),
    )


def _classify(err: Exception, timeout: float) -> tuple[bool, str]:
    """Whether trying again may help, and what went wrong (phone numbers masked)."""
    if isinstance(err, TwilioRestException | TwilioServiceException):
        status, code = err.status, err.code
        text = err.msg if isinstance(err, TwilioRestException) else (err.detail or err.title)
        reason = f"HTTP {status}, error {code}: {mask_numbers(str(text))}"
        retry = (
            status == 429
            or status >= 500
            or status in CONFIG_ERROR_STATUSES
            or code in CONFIG_ERROR_CODES
        )
        return retry, reason
    if isinstance(err, TwilioException):  # a page of a list that did not come back 200
        response = err.args[1] if len(err.args) > 1 else None
        status = getattr(response, "status_code", "?")
        return True, f"HTTP {status} while reading messages"
    if isinstance(err, TimeoutError):
        return True, f"no answer within {timeout:g} s"
    if isinstance(err, aiohttp.ClientError | OSError):
        return True, f"connection failed: {type(err).__name__}"
    if isinstance(err, ValueError | KeyError):  # json.JSONDecodeError is a ValueError
        return True, f"unreadable answer: {type(err).__name__}"
    raise err
