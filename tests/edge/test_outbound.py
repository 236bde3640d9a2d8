"""The SSRF guard (#13): a hospital's subscriber address may not be loopback, link-local,
private, shared, multicast, reserved or unspecified unless private addresses are allowed;
checked when the address is given and again on each connection (a name resolving to
127.0.0.1 now is refused even if it was public before)."""

from __future__ import annotations

import ipaddress

import aiohttp
import pytest
from aiohttp import web

from edge.outbound import (
    GuardedResolver,
    UnsafeAddress,
    check_address,
    check_literal,
    refusal,
    resolve_public,
)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_addresses_the_engine_may_not_reach(address, why):
    assert why in refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "114.114.114.114", "2001:4860:4860::8888"])
def test_public_addresses_may_be_reached(address):
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]:8443/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "mllp://192.168.0.10:2575",
    ],
)
async def test_a_subscriber_address_on_a_private_range_is_refused_unless_allowed(url):
    with pytest.raises(UnsafeAddress):
        await check_address(url, allow_private=False)
    await check_address(url, allow_private=True)


async def test_a_name_is_refused_by_what_it_resolves_to_now():
    with pytest.raises(UnsafeAddress, match="loopback"):
        await resolve_public("localhost", 80, allow_private=False)
    assert "127.0.0.1" in await resolve_public("localhost", 80, allow_private=True)


def test_an_ip_literal_is_checked_before_aiohttp_connects_without_resolving():
    with pytest.raises(UnsafeAddress, match="private"):
        check_literal("https://10.9.9.9/x", allow_private=False)
    check_literal("https://10.9.9.9/x", allow_private=True)
    check_literal("https://his.example.cn/x", allow_private=False)  # a name: the resolver's


async def test_the_guarded_resolver_stops_a_connection_to_a_name_on_loopback(aiohttp_server):
    async def hook(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    url = f"http://localhost:{server.port}/hook"
    refused = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private=False))
    async with aiohttp.ClientSession(connector=refused) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.post(url)
        assert isinstance(caught.value.os_error, UnsafeAddress)
    allowed = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private=True))
    async with aiohttp.ClientSession(connector=allowed) as session, session.post(url) as answer:
        assert answer.status == 200
