"""Where the engine may connect on a hospital's say-so (SSRF guard): a subscriber's webhook
URL or HL7 endpoint must name a public address, not loopback, link-local (the cloud's
metadata service at 169.254.169.254), private, shared (100.64/10), multicast, reserved or
unspecified ones, unless the configuration allows private addresses (a HIS on the
hospital's own network: ``feeds_allow_private_addresses``).

Checked twice: when a subscription is made or changed (:func:`check_address`, to refuse
it with a reason), and on every connection (:class:`GuardedResolver` for aiohttp, and
:func:`resolve_public` for a raw socket), so a name that resolved to a public address
then and to 127.0.0.1 now (DNS rebinding) is still refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from booking_core.feeds import FeedKind
from booking_core.kernel.errors import InvalidInput

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeAddress(OSError):
    """The address may not be connected to; ``reason`` says why, for the person."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


def refusal(ip: IpAddress) -> str | None:
    """Why the engine may not connect to ``ip`` on a hospital's say-so, or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global:  # is_global is False for 100.64/10 (shared) too
        return "a private address"
    return None


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve_public(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses of ``host`` to connect to, every one checked; raises
    :class:`UnsafeAddress` when one may not be reached, ``OSError`` when none resolve."""
    literal = _literal(host)
    if literal is not None:
        found = [str(literal)]
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found = list(dict.fromkeys(info[4][0] for info in infos))
    if not found:
        raise OSError(f"{host}: no address")
    if not allow_private:
        for address in found:
            why = refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if why is not None:
                raise UnsafeAddress(host, f"resolves to {why} ({address})")
    return found


async def check_address(url: str, *, allow_private: bool) -> None:
    """Raise :class:`UnsafeAddress` when ``url``'s host is (or resolves to) an address the
    engine may not reach, or does not resolve at all."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeAddress(host, "not a port") from None
    try:
        await resolve_public(host, port, allow_private=allow_private)
    except UnsafeAddress:
        raise
    except OSError as err:
        raise UnsafeAddress(host, f"does not resolve ({err.strerror or err})") from None


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing (``UnsafeAddress``) a host that resolves to an address
    the engine may not reach; IP literals aiohttp does not resolve are checked by the
    caller with :func:`check_literal`."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in results:
                why = refusal(ipaddress.ip_address(result["host"]))
                if why is not None:
                    raise UnsafeAddress(host, f"resolves to {why} ({result['host']})")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_literal(url: str, *, allow_private: bool) -> None:
    """Raise :class:`UnsafeAddress` when ``url``'s host is an IP literal the engine may not
    reach (aiohttp connects to a literal without asking the resolver)."""
    host = urlsplit(url).hostname or ""
    literal = _literal(host)
    if literal is not None and not allow_private and (why := refusal(literal)) is not None:
        raise UnsafeAddress(host, why)


CHECK_ADDRESS_SECONDS = 5.0  # a name that does not resolve by then is refused, not waited on
SCHEMES = {FeedKind.WEBHOOK: ("https", "http"), FeedKind.HL7: ("mllp",)}


async def check_subscriber_address(kind: FeedKind, url: str, *, allow_private: bool) -> None:
    """What the doors check before a subscription is made or its URL changed: refuse
    (``InvalidInput`` on ``url``) an address the engine may not reach. A URL not of its
    kind's form is left to the core, which says what form it wants."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return
    if parts.scheme not in SCHEMES[kind] or not host:
        return
    try:
        async with asyncio.timeout(CHECK_ADDRESS_SECONDS):
            await check_address(url.strip(), allow_private=allow_private)
    except UnsafeAddress as err:
        raise InvalidInput("url", f"{err.host[:100]} {err.reason}") from None
    except TimeoutError:
        raise InvalidInput("url", f"{host[:100]} does not resolve in time") from None
