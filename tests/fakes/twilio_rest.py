"""A fake Twilio REST API on a real local port, for the outbound SMS gateway's tests.

Just enough of ``/2010-04-01/Accounts/{AccountSid}/Messages``: create a message, list
messages (``To``, ``From``, ``DateSent``/``DateSent<``/``DateSent>`` filters and Twilio's
paging fields), fetch one. Every request is recorded; HTTP Basic auth with the account
SID and auth token is checked (401 otherwise). Tests can make the next creates fail
(:meth:`FakeTwilio.fail_next`), accept a message and then lose the answer
(:meth:`FakeTwilio.crash_after_accept`), or stall (:meth:`FakeTwilio.stall_next`).

:meth:`FakeTwilio.report_status` then plays Twilio's delivery status callback: a form
POST signed with ``X-Twilio-Signature`` like Twilio signs it.

Usage::

    async with FakeTwilio() as fake:
        gateway = TwilioGateway(ACCOUNT, TOKEN, from_=SENDER, api_base=fake.base_url)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from aiohttp import BasicAuth, web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token-0123456789abcdef"
SENDER = "+861069000000"
API_VERSION = "2010-04-01"

_GENERIC_CODES = {400: 21211, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
_E164 = re.compile(r"\+[1-9]\d{6,14}")

# GSM 03.38: the basic alphabet (one septet each) and the extension table (escape + char).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def count_segments(body: str) -> int:
    """How many SMS parts Twilio bills for ``body``: GSM-7 160 septets alone, 153 per part
    when concatenated; otherwise UCS-2, 70 code units alone, 67 per part."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format: ``Fri, 10 Jul 2026 01:00:00 +0000``."""
    return format_datetime(moment.astimezone(UTC)) if moment else None


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    authorized: bool


@dataclass
class FakeMessage:
    sid: str
    to: str
    body: str
    from_: str | None
    messaging_service_sid: str | None
    status: str
    date_created: datetime
    date_sent: datetime | None = None
    date_updated: datetime | None = None
    status_callback: str | None = None
    error_code: int | None = None
    direction: str = "outbound-api"
    account_sid: str = ACCOUNT

    @property
    def num_segments(self) -> int:
        # Twilio reports 0 until a Messaging Service has picked a sender.
        return 0 if self.from_ is None else count_segments(self.body)

    def resource(self) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated or self.date_created),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclass
class _Failure:
    status: int
    code: int | None
    message: str


class _Poster(Protocol):
    """An aiohttp ``ClientSession`` (full URLs) or a ``TestClient`` (paths)."""

    def post(self, url: Any, **kwargs: Any) -> Any: ...


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


async def post_signed(
    http: _Poster,
    url: str,
    params: dict[str, str],
    *,
    token: str = TOKEN,
    post_to: str | None = None,
) -> tuple[int, str]:
    """POST ``params`` as Twilio does: signed for the public ``url``, sent to ``post_to``
    (default: ``url`` itself; a path when ``http`` is a ``TestClient``)."""
    headers = {"X-Twilio-Signature": sign(url, params, token)}
    async with http.post(post_to or url, data=params, headers=headers) as resp:
        return resp.status, await resp.text()


class FakeTwilio:
    """Twilio's REST API for one account, served on 127.0.0.1 on a free port.

    ``requests`` holds every request in order, ``messages`` every message the account
    has (created through the API or put there with :meth:`add_message`). ``now`` gives
    the fake's clock (Twilio's side), real UTC time unless a test passes its own.
    """

    def __init__(
        self,
        account_sid: str = ACCOUNT,
        auth_token: str = TOKEN,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.now = now or (lambda: datetime.now(UTC))
        self.requests: list[Recorded] = []
        self.messages: dict[str, FakeMessage] = {}
        self._failures: list[_Failure] = []
        self._crashes: list[Literal["drop", "error"]] = []
        self._stalls: list[float] = []
        self._holds: list[float] = []
        self.accepted = asyncio.Event()  # set whenever a create stored a message
        self._serial = itertools.count(1)
        self._server: TestServer | None = None
        self._closing: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeTwilio:
        app = web.Application()
        base = f"/{API_VERSION}/Accounts/{{account}}"
        app.router.add_post(f"{base}/Messages.json", self._create)
        app.router.add_get(f"{base}/Messages.json", self._list)
        app.router.add_get(f"{base}/Messages/{{sid}}.json", self._fetch)
        self._closing = asyncio.Event()
        # No access log: it is Twilio's side, and its query strings hold phone numbers.
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server(access_log=None)
        return self

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()  # releases stalled handlers, so the server can stop
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakeTwilio:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeTwilio is not started"
        return str(self._server.make_url("")).rstrip("/")

    # -- what tests arrange ------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 400, code: int | None = None, message: str = ""
    ) -> None:
        """The next ``count`` creates answer ``status`` with Twilio's JSON error body;
        ``code`` defaults to Twilio's generic code for the status (21211 for a 400)."""
        code = code if code is not None else _GENERIC_CODES.get(status)
        text = message or (f"Error {code}" if code else "Service Unavailable")
        self._failures += [_Failure(status, code, text)] * count

    def crash_after_accept(self, count: int = 1, how: Literal["drop", "error"] = "drop") -> None:
        """The next ``count`` creates store the message (it will go out), then lose the
        answer: ``drop`` closes the connection, ``error`` answers a bare 500."""
        self._crashes += [how] * count

    def hold_after_accept(self, seconds: float) -> None:
        """The next create stores the message (it will go out), then waits ``seconds``
        before answering: the sender is caught between sending and recording it."""
        self._holds.append(seconds)

    def stall_next(self, seconds: float) -> None:
        """The next create waits ``seconds`` before it is handled (a hanging API)."""
        self._stalls.append(seconds)

    def add_message(
        self,
        to: str,
        body: str,
        *,
        from_: str | None = SENDER,
        created: datetime | None = None,
        sent: datetime | None = None,
        status: str | None = None,
        direction: str = "outbound-api",
    ) -> FakeMessage:
        """Put a message in the account's history (sent earlier, or received)."""
        created = created or self.now()
        message = FakeMessage(
            sid=self._new_sid(),
            to=to,
            body=body,
            from_=from_,
            messaging_service_sid=None,
            status=status or ("delivered" if sent else "queued"),
            date_created=created,
            date_sent=sent,
            direction=direction,
            account_sid=self.account_sid,
        )
        self.messages[message.sid] = message
        return message

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> FakeMessage:
        """Move a message on (``sent``, ``delivered``, ``undelivered``, ``failed``)."""
        message = self.messages[sid]
        message.status = status
        message.error_code = error_code
        message.date_updated = self.now()
        if status in ("sending", "sent", "delivered", "undelivered") and not message.date_sent:
            message.date_sent = message.date_updated
        return message

    def status_callback_params(self, sid: str) -> dict[str, str]:
        """The form Twilio posts to a message's StatusCallback."""
        message = self.messages[sid]
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        return params

    async def report_status(
        self,
        http: _Poster,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        post_to: str | None = None,
    ) -> tuple[int, str]:
        """Move message ``sid`` to ``status`` and tell its StatusCallback, signed with the
        auth token for the callback URL the message was created with; the POST goes to
        ``post_to`` when the public URL is not where the test's server listens."""
        self.set_status(sid, status, error_code=error_code)
        url = self.messages[sid].status_callback
        assert url, f"message {sid} was created without a StatusCallback"
        params = self.status_callback_params(sid)
        return await post_signed(http, url, params, token=self.auth_token, post_to=post_to)

    # -- what tests read ---------------------------------------------------------------

    @property
    def creates(self) -> list[Recorded]:
        """Every create request that reached the fake (authorised or not)."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("Messages.json")]

    # -- the API -----------------------------------------------------------------------

    def _new_sid(self) -> str:
        return f"SM{next(self._serial):08x}{secrets.token_hex(12)}"

    async def _record(self, request: web.Request) -> Recorded:
        form = await request.post() if request.method == "POST" else {}
        entry = Recorded(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            form={k: str(v) for k, v in form.items()},
            authorized=self._authorized(request),
        )
        self.requests.append(entry)
        return entry

    def _authorized(self, request: web.Request) -> bool:
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return False
        return (
            auth.login == self.account_sid
            and auth.password == self.auth_token
            and request.match_info["account"] == self.account_sid
        )

    @staticmethod
    def _error(status: int, code: int | None, message: str) -> web.Response:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
        return web.json_response(body, status=status, headers=headers)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        entry = await self._record(request)
        if not entry.authorized:
            return self._error(401, 20003, "Authenticate")
        if self._stalls:
            assert self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._stalls.pop(0))
        if self._failures:
            failure = self._failures.pop(0)
            return self._error(failure.status, failure.code, failure.message)
        form = entry.form
        to, body = form.get("To", ""), form.get("Body", "")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not _E164.fullmatch(to):
            return self._error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        from_, service = form.get("From"), form.get("MessagingServiceSid")
        if not from_ and not service:
            return self._error(400, 21603, "A 'From' phone number is required.")
        message = FakeMessage(
            sid=self._new_sid(),
            to=to,
            body=body,
            from_=from_,
            messaging_service_sid=service,
            status="queued" if from_ else "accepted",
            date_created=self.now(),
            status_callback=form.get("StatusCallback"),
            account_sid=self.account_sid,
        )
        self.messages[message.sid] = message
        self.accepted.set()
        if self._holds:
            assert self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._holds.pop(0))
        if self._crashes:
            if self._crashes.pop(0) == "error":
                return web.Response(status=500, text="Internal Server Error")
            assert request.transport is not None
            request.transport.close()  # the message is accepted; the answer is lost
        return web.json_response(message.resource(), status=201)

    async def _fetch(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        if not entry.authorized:
            return self._error(401, 20003, "Authenticate")
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return self._error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(message.resource())

    async def _list(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        if not entry.authorized:
            return self._error(401, 20003, "Authenticate")
        query = entry.query
        try:
            found = [m for m in self.messages.values() if _matches(m, query)]
            size = min(int(query.get("PageSize", 50)), 1000)
            page = int(query.get("Page", 0))
        except ValueError as err:
            return self._error(400, 20001, f"Invalid parameter: {err}")
        found.sort(key=_newest_first)
        token = query.get("PageToken", "")
        start = page * size
        if token.startswith("PA"):  # continue after the last message of the previous page
            sids = [m.sid for m in found]
            start = sids.index(token[2:]) + 1 if token[2:] in sids else len(found)
        rows = found[start : start + size]
        path = request.path
        keep = {k: v for k, v in query.items() if k not in ("Page", "PageToken", "PageSize")}

        def uri(page_no: int, page_token: str | None = None) -> str:
            params = {**keep, "PageSize": size, "Page": page_no}
            if page_token:
                params["PageToken"] = page_token
            return f"{path}?{urlencode(params)}"

        more = start + size < len(found)
        return web.json_response(
            {
                "messages": [m.resource() for m in rows],
                "end": start + len(rows) - 1 if rows else 0,
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1, "PA" + rows[-1].sid) if more and rows else None,
                "previous_page_uri": uri(page - 1) if page > 0 else None,
                "page": page,
                "page_size": size,
                "start": start,
                "uri": request.path_qs,
            }
        )


def _newest_first(message: FakeMessage) -> tuple[int, float, float]:
    """Twilio documents "sorted by DateSent, most recent first". Where messages not sent yet
    (no DateSent) go is not documented: the fake lists them first, newest created first."""
    sent = message.date_sent.timestamp() if message.date_sent else math.inf
    return (0 if message.date_sent is None else 1, -sent, -message.date_created.timestamp())


def _day(value: str) -> date:
    """``DateSent`` filters work on whole GMT days, whether given ``YYYY-MM-DD`` or a full
    ``YYYY-MM-DDTHH:MM:SSZ`` (as twilio-python serialises a datetime)."""
    return date.fromisoformat(value[:10])


def _matches(message: FakeMessage, query: dict[str, str]) -> bool:
    if "To" in query and message.to != query["To"]:
        return False
    if "From" in query and message.from_ != query["From"]:
        return False
    sent = message.date_sent.astimezone(UTC).date() if message.date_sent else None
    for key, test in (
        ("DateSent", lambda d, day: d == day),
        ("DateSent>", lambda d, day: d >= day),
        ("DateSent<", lambda d, day: d <= day),
    ):
        if key in query and (sent is None or not test(sent, _day(query[key]))):
            return False
    return True
