"""Serving HTTP directly to the world (``guahao serve``): bounded connections.

A connection costs an open file whether or not it ever sends a request, and a systemd
service starts with 1,024 of them; so

* the open-files limit is raised to what the system allows at start-up
  (:func:`raise_open_files_limit`, logged; ``LimitNOFILE=`` in the unit sets that);
* a client has ``http_header_timeout_seconds`` to send a request's headers, from
  connecting or from the previous response (aiohttp's keep-alive timer, which 3.x starts
  when the connection is made): a silent connection, or one trickling its headers a byte
  at a time, is closed then;
* a request's body must have arrived ``http_body_timeout_seconds`` after its headers
  (:func:`body_deadline`: aiohttp itself waits for a body forever);
* one client address holds at most ``http_connections_per_client`` connections at once
  (:class:`ClientCap`); past that a connection is answered 429 and closed at once. Your
  own proxies (``console_trusted_proxies``) are not capped: every client behind them
  shares their address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import socket
from collections import Counter
from collections.abc import Callable, Iterable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .config import Settings

log = logging.getLogger(__name__)

TOO_MANY = (
    b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: 42\r\n\r\ntoo many connections from your address\r\n\r\n"
)


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit; (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        log.info("open files limit: %s", soft)
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as err:
        log.warning("open files limit stays %s (could not raise it to %s: %s)", soft, hard, err)
        return soft, soft
    log.info("open files limit raised from %s to %s", soft, hard)
    return soft, hard


def body_deadline(seconds: float):
    """A root middleware: the connection of a request whose body has not all arrived
    ``seconds`` after its headers is closed (the handler's read then fails)."""

    @web.middleware
    async def bounded_body(request: web.Request, handler) -> web.StreamResponse:
        if seconds <= 0 or request.content.is_eof():  # no body, or it came with the headers
            return await handler(request)
        protocol = request.protocol

        def too_slow() -> None:
            if not request.content.is_eof():
                log.warning(
                    "closed a connection from %s: its request body took over %s s",
                    request.remote,
                    seconds,
                )
                protocol.force_close()

        timer = asyncio.get_running_loop().call_later(seconds, too_slow)
        try:
            return await handler(request)
        finally:
            timer.cancel()

    return bounded_body


def _networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


class ClientCap:
    """At most ``per_client`` open connections from one address (0: no cap); addresses
    in ``exempt`` (networks) are never capped. Attached to an aiohttp ``Server``."""

    def __init__(self, per_client: int, exempt: Iterable[str] = ()) -> None:
        self.per_client = per_client
        self.exempt = _networks(exempt)
        self.open: Counter[str] = Counter()
        self._hosts: dict[RequestHandler, str] = {}
        self.refused = 0

    def admits(self, host: str) -> bool:
        if self.per_client <= 0 or self.open[host] < self.per_client:
            return True
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(host)
            return any(address in network for network in self.exempt)
        return False

    def attach(self, server: web.Server) -> None:
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            peer = transport.get_extra_info("peername")
            if not isinstance(peer, tuple):  # a Unix socket: nothing to count by
                return
            host = str(peer[0])
            if not self.admits(host):
                if self.refused == 0 or self.refused % 1000 == 0:
                    log.warning("refused a connection from %s: %s open", host, self.open[host])
                self.refused += 1
                transport.write(TOO_MANY)
                handler.force_close()  # closes once the answer is written
                return
            self.open[host] += 1
            self._hosts[handler] = host

        def connection_lost(handler: RequestHandler, exc: BaseException | None = None) -> None:
            host = self._hosts.pop(handler, None)
            if host is not None:
                self.open[host] -= 1
                if not self.open[host]:
                    del self.open[host]
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]


async def start(
    app: web.Application,
    settings: Settings,
    *,
    sock: socket.socket | None = None,
    handle_signals: bool = False,
) -> tuple[web.AppRunner, ClientCap]:
    """Start serving ``app`` on ``sock`` (or ``settings.host``/``port``); clean up with
    ``await runner.cleanup()``."""
    runner = web.AppRunner(
        app,
        handle_signals=handle_signals,
        access_log=None,
        keepalive_timeout=settings.http_header_timeout_seconds,
    )
    await runner.setup()
    cap = ClientCap(settings.http_connections_per_client, settings.console_trusted_proxies)
    assert runner.server is not None
    cap.attach(runner.server)
    if sock is not None:
        site: web.BaseSite = web.SockSite(runner, sock)
    else:
        site = web.TCPSite(runner, settings.host or None, settings.port)
    await site.start()
    return runner, cap


def run(
    app: web.Application,
    settings: Settings,
    *,
    sock: socket.socket | None = None,
    ready: Callable[[], None] = lambda: None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, as ``web.run_app`` does (which offers no hook on the
    connections, hence this)."""

    async def serve() -> None:
        runner, _cap = await start(app, settings, sock=sock, handle_signals=True)
        try:
            ready()
            await asyncio.Event().wait()  # until cancelled (SIGINT, SIGTERM)
        finally:
            await runner.cleanup()

    loop = loop or asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(serve())
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main.done():
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
