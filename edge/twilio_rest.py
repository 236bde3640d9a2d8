"""Twilio's REST API for any door: the HTTP client every REST call goes through, and the
one Voice call the console makes (redirecting a live call to new TwiML).

:class:`TwilioHttpClient` is the ``twilio`` package's aiohttp client with its one request
method replaced, so that the setting ``twilio_api_base`` points every REST call (texts,
calls) at another host: tests reach a local fake that records what was asked. SMS
(``sms/twilio_gateway.py``) and the agents' softphone (hold and transfer) share it.

:class:`VoiceCalls` redirects a caller's call leg (``Calls(sid).update(url=…)``) to TwiML
that puts them on hold, back into the agents' queue or back to the IVR menu. It signs with
the softphone's API key (``twilio_api_key_sid`` / ``twilio_api_key_secret`` for
``twilio_account_sid``), so the softphone needs no auth token. Its errors are a
:class:`CallRedirectError` whose ``reason`` says, in one word a door can put in words,
whose fault it was.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

log = logging.getLogger(__name__)

REDIRECT_TIMEOUT_SECONDS = 10.0
"""Deadline of one call redirect. Twilio answers an update in well under a second; an agent
who pressed "hold" is told within 10 s that it did not work, rather than waiting on a dead
link (the caller meanwhile stays connected to the agent, so nothing is lost)."""

CALL_GONE_CODES = frozenset(
    {
        20404,  # the call (or the account) is not found
        21220,  # the call is not in progress: it cannot be redirected (it ended)
    }
)
REFUSED_STATUSES = frozenset({401, 403})

RedirectReason = Literal["call_gone", "refused", "unavailable", "rejected"]


class TwilioHttpClient(AsyncTwilioHttpClient):
    """Twilio's aiohttp client (its session, ``close()`` and ``is_async``) with its one
    request method replaced:

    - ``api_base`` replaces the scheme and host of every Twilio URL (``api.twilio.com``,
      or an edge/region host), so tests reach a local fake; paging URLs go through here
      too, since the REST client builds them from the same domain;
    - credentials go in an ``Authorization`` header: the stock method builds an
      ``aiohttp.BasicAuth``, deprecated since aiohttp 3.14, a warning on every call
      (https://github.com/twilio/twilio-python/issues/931);
    - the response is read inside ``async with``, so its connection always goes back;
    - the log names method, path and status only: the stock one logs the query (``To``,
      a phone number) at INFO;
    - no retries (``max_retries`` stays None): a retried create could send twice.
    """

    def __init__(self, api_base: str | None, logger: logging.Logger = log) -> None:
        # Builds the aiohttp ClientSession: call it from a coroutine.
        super().__init__(pool_connections=True, logger=logger)
        self.api_base = api_base.rstrip("/") if api_base else None

    def rebase(self, url: str) -> str:
        if not self.api_base:
            return url
        parts = urlsplit(url)
        if not (parts.hostname or "").endswith("twilio.com"):
            return url
        return self.api_base + parts.path + (f"?{parts.query}" if parts.query else "")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the REST client passes it by name)
        allow_redirects: bool = False,
    ) -> Response:
        assert self.session is not None  # pool_connections=True
        method, url = method.upper(), self.rebase(url)
        headers = dict(headers or {})
        if auth is not None:
            login = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {login}"
        self.logger.debug("Twilio API %s %s", method, urlsplit(url).path)
        async with self.session.request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            allow_redirects=allow_redirects,
            timeout=aiohttp.ClientTimeout(total=timeout) if timeout else None,
        ) as response:
            text = await response.text()
        self.logger.debug("Twilio API answered %s", response.status)
        return Response(response.status, text, response.headers)


class CallRedirectError(Exception):
    """A call could not be redirected. ``reason``: ``call_gone`` (the call ended or is
    unknown to Twilio), ``refused`` (our credentials), ``unavailable`` (Twilio did not
    answer, or answered 429/5xx: try again), ``rejected`` (anything else Twilio said no
    to). ``code`` is Twilio's error code when it gave one (for the log, not for people)."""

    def __init__(self, reason: RedirectReason, code: int | None = None, detail: str = "") -> None:
        super().__init__(f"{reason} ({code or '-'}) {detail}".strip())
        self.reason: RedirectReason = reason
        self.code = code


def redirect_reason(err: BaseException) -> RedirectReason:
    """What a failed redirect means for the agent (see :class:`CallRedirectError`)."""
    if isinstance(err, TwilioRestException):
        if err.code in CALL_GONE_CODES or err.status == 404:
            return "call_gone"
        if err.status in REFUSED_STATUSES or err.code == 20003:
            return "refused"
        if err.status == 429 or err.status >= 500:
            return "unavailable"
        return "rejected"
    if isinstance(err, (TimeoutError, aiohttp.ClientError, OSError)):
        return "unavailable"
    return "rejected"


class VoiceCalls:
    """Live calls of one Twilio account, reached with an API key (``SK…`` and its secret).

    The HTTP session opens on first use and closes with :meth:`aclose` (or ``async
    with``); one instance per console action is fine, an agent presses hold a few times
    an hour."""

    def __init__(
        self,
        account_sid: str,
        api_key_sid: str,
        api_key_secret: str,
        *,
        api_base: str | None = None,
        timeout: float = REDIRECT_TIMEOUT_SECONDS,
    ) -> None:
        self.account_sid = account_sid
        self.api_key_sid = api_key_sid
        self.api_base = api_base or None
        self.timeout = timeout
        self._secret = api_key_secret
        self._http: TwilioHttpClient | None = None
        self._client: Client | None = None

    def __repr__(self) -> str:
        return f"<VoiceCalls {self.account_sid} key {self.api_key_sid}>"

    def _rest(self) -> Client:
        if self._client is None:
            self._http = TwilioHttpClient(self.api_base)
            self._client = Client(
                self.api_key_sid, self._secret, self.account_sid, http_client=self._http
            )
        return self._client

    async def aclose(self) -> None:
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()

    async def __aenter__(self) -> VoiceCalls:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def redirect(self, call_sid: str, url: str) -> str:
        """Make the live call ``call_sid`` fetch its next TwiML from ``url`` (POST) now;
        Twilio's status of the call after it (``in-progress``, ``queued``…)."""
        try:
            async with asyncio.timeout(self.timeout):
                updated = await self._rest().calls(call_sid).update_async(url=url, method="POST")
        except Exception as err:
            reason = redirect_reason(err)
            code = err.code if isinstance(err, TwilioRestException) else None
            log.warning("redirecting call %s failed: %s (%s)", call_sid, reason, code or err)
            raise CallRedirectError(reason, code, type(err).__name__) from err
        log.info("call %s redirected to %s", call_sid, urlsplit(url).path)
        return str(updated.status or "")
