"""A fake Twilio Voice REST API on a real local port: ``POST /2010-04-01/Accounts/{AccountSid}
/Calls/{CallSid}.json`` (update a live call: ``Url`` and ``Method`` redirect it), as the
agents' softphone uses it for hold and transfer.

Every request is recorded in order. HTTP Basic auth with an API key (``SK…`` and its secret)
for the account is checked (401, Twilio's code 20003, otherwise). A call SID the test did
not :meth:`FakeTwilioCalls.add_call` is 404 (20404); a call :meth:`end` ed answers Twilio's
21220 ("Call is not in-progress. Cannot redirect."); :meth:`fail_next` makes the next update
answer a given status.

Usage::

    async with FakeTwilioCalls() as fake:
        fake.add_call("CA…")
        calls = VoiceCalls(ACCOUNT, API_KEY, API_SECRET, api_base=fake.base_url)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import BasicAuth, web
from aiohttp.test_utils import TestServer

ACCOUNT = "AC" + "a" * 32
API_KEY = "SK" + "b" * 32
API_SECRET = "test-api-key-secret-not-a-real-one-0123456789"
API_VERSION = "2010-04-01"


@dataclass
class CallUpdate:
    """One request as the fake saw it."""

    method: str
    path: str
    call_sid: str
    form: dict[str, str]
    authorized: bool


class FakeTwilioCalls:
    """Twilio's Calls resource for one account, served on 127.0.0.1 on a free port."""

    def __init__(
        self, account_sid: str = ACCOUNT, key_sid: str = API_KEY, secret: str = API_SECRET
    ) -> None:
        self.account_sid = account_sid
        self.key_sid = key_sid
        self.secret = secret
        self.requests: list[CallUpdate] = []
        self.calls: dict[str, str] = {}  # sid -> status
        self._failures: list[int] = []
        self._server: TestServer | None = None

    async def __aenter__(self) -> FakeTwilioCalls:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account}}/Calls/{{sid}}.json", self._update)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server(access_log=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeTwilioCalls is not started"
        return str(self._server.make_url("")).rstrip("/")

    def add_call(self, sid: str, status: str = "in-progress") -> None:
        self.calls[sid] = status

    def end(self, sid: str) -> None:
        self.calls[sid] = "completed"

    def fail_next(self, status: int) -> None:
        self._failures.append(status)

    @property
    def redirects(self) -> list[tuple[str, str, str]]:
        """``(call sid, Url, Method)`` of every authorised update, in order."""
        return [
            (r.call_sid, r.form.get("Url", ""), r.form.get("Method", ""))
            for r in self.requests
            if r.authorized
        ]

    def _authorized(self, request: web.Request) -> bool:
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return False
        return (
            auth.login == self.key_sid
            and auth.password == self.secret
            and request.match_info["account"] == self.account_sid
        )

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return web.json_response(body, status=status)

    async def _update(self, request: web.Request) -> web.Response:
        form = await request.post()
        sid = request.match_info["sid"]
        entry = CallUpdate(
            request.method,
            request.path,
            sid,
            {k: str(v) for k, v in form.items()},
            self._authorized(request),
        )
        self.requests.append(entry)
        if not entry.authorized:
            return self._error(401, 20003, "Authenticate")
        if self._failures:
            status = self._failures.pop(0)
            return self._error(status, 20500 if status >= 500 else 20429, "Service unavailable")
        if sid not in self.calls:
            return self._error(404, 20404, f"The requested resource {request.path} was not found")
        if self.calls[sid] != "in-progress":
            return self._error(400, 21220, "Call is not in-progress. Cannot redirect.")
        return web.json_response(self._resource(sid))

    def _resource(self, sid: str) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "status": self.calls[sid],
            "direction": "inbound",
            "api_version": API_VERSION,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
