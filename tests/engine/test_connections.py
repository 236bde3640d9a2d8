"""Connections are bounded when the engine serves directly (issue #10 item 12): real
sockets against the engine served as ``guahao serve`` serves it (:mod:`engine.serving`).

* a connection that trickles its headers (or says nothing) is closed after
  ``http_header_timeout_seconds``, one that trickles its body after
  ``http_body_timeout_seconds``;
* past ``http_connections_per_client`` open connections from one address the next is
  answered 429 and closed, while another address is served;
* the open-files limit is raised to the hard limit at start-up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import time

import aiohttp
import pytest

from booking_core.kernel.pii import Cipher
from engine import serving
from engine.app import build_app
from engine.cli import bind_socket
from engine.config import load_settings

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://booking.example-hospital.test"
BOUND_SECONDS = 1.0
OTHER_CLIENT = "127.0.0.2"  # Linux answers the whole of 127/8 on loopback


def _settings(tmp_path, **extra):
    base = load_settings(env={"GUAHAO_PII_KEY": Cipher.generate_key()}, overrides={})
    defaults = {
        "db": str(tmp_path / "g.db"),
        "public_url": PUBLIC_URL,
        "twilio_auth_token": TOKEN,
        "http_header_timeout_seconds": BOUND_SECONDS,
        "http_body_timeout_seconds": BOUND_SECONDS,
        "http_connections_per_client": 3,
        "console_trusted_proxies": (),  # the tests' clients are on loopback: capped too
    }
    return dataclasses.replace(base, **(defaults | extra))


@pytest.fixture
async def serve(tmp_path, clock):
    runners = []

    async def start(**extra) -> tuple[int, serving.ClientCap]:
        settings = _settings(tmp_path, **extra)
        sock = bind_socket("127.0.0.1", 0)
        runner, cap = await serving.start(build_app(settings, clock=clock), settings, sock=sock)
        runners.append(runner)
        return sock.getsockname()[1], cap

    yield start
    for runner in runners:
        await runner.cleanup()


async def _closed_after(port: int, first: bytes, then: bytes, *, limit: float = 6.0):
    """Send ``first``, then one byte of ``then`` every 0.2 s: the seconds until the server
    closes the connection (None: still open after ``limit``), and what it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    answer = b""
    try:
        writer.write(first)
        for byte in then:
            if time.monotonic() - started > limit:
                return None, answer
            try:
                chunk = await asyncio.wait_for(reader.read(1024), 0.2)
            except TimeoutError:
                writer.write(bytes([byte]))
                continue
            answer += chunk
            if not chunk:
                return time.monotonic() - started, answer
        return None, answer
    except ConnectionError:
        return time.monotonic() - started, answer
    finally:
        writer.close()


async def test_a_connection_trickling_its_headers_is_closed_after_the_bound(serve):
    port, _ = await serve()
    seconds, answer = await _closed_after(port, b"GET /healthz HTTP/1.1\r\n", b"X" * 100)
    assert seconds is not None, "still open"
    assert BOUND_SECONDS * 0.8 < seconds < BOUND_SECONDS + 1.5
    assert answer == b""


async def test_a_silent_connection_is_closed_after_the_bound(serve):
    port, _ = await serve()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), BOUND_SECONDS + 2) == b""
    assert time.monotonic() - started > BOUND_SECONDS * 0.8
    writer.close()


async def test_a_connection_trickling_its_body_is_closed_after_the_bound(serve):
    """The SMS door reads the form to check its signature: it would wait for ever."""
    port, _ = await serve(http_header_timeout_seconds=30.0)  # the headers come at once
    head = (
        b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
    )
    seconds, _ = await _closed_after(port, head, b"a" * 200)
    assert seconds is not None, "still open"
    assert BOUND_SECONDS * 0.8 < seconds < BOUND_SECONDS + 1.5


async def test_a_body_sent_in_time_is_answered(serve):
    port, _ = await serve(http_header_timeout_seconds=30.0)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/twilio/sms", data={"Body": "CX"}) as resp,
    ):
        assert resp.status == 403  # read in full, then refused: unsigned


async def _healthz(port: int, local: str) -> int:
    connector = aiohttp.TCPConnector(local_addr=(local, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as resp,
    ):
        return resp.status


async def test_past_the_cap_one_address_is_refused_while_another_is_served(serve):
    port, cap = await serve(http_header_timeout_seconds=30.0)
    silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    await asyncio.sleep(0.1)
    assert cap.open["127.0.0.1"] == 3
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = await asyncio.wait_for(reader.read(), 2)
    assert answer.startswith(b"HTTP/1.1 429 Too Many Requests")
    writer.close()
    assert await _healthz(port, OTHER_CLIENT) == 200  # another client is served meanwhile
    silent[0][1].close()  # one of the three goes: the address may connect again
    await asyncio.sleep(0.1)
    assert await _healthz(port, "127.0.0.1") == 200
    for _, w in silent[1:]:
        w.close()


async def test_a_trusted_proxy_is_not_capped(serve):
    port, cap = await serve(
        http_header_timeout_seconds=30.0, console_trusted_proxies=("127.0.0.0/8",)
    )
    silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
    assert await _healthz(port, "127.0.0.1") == 200
    assert cap.refused == 0
    for _, w in silent:
        w.close()


def test_the_open_files_limit_is_raised_to_the_hard_limit():
    code = (
        "import logging, resource\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from engine.serving import raise_open_files_limit\n"
        "print(raise_open_files_limit() == (256, hard), "
        "resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.split() == ["True", "True"]
    assert "open files limit raised from 256 to" in done.stderr
