"""Console sessions (登录会话): a random cookie whose hash names a row in the store.

The cookie is HttpOnly, SameSite=Lax, limited to the console's path, and Secure when the
request came over HTTPS (directly, through a trusted proxy, or because the configured
public URL is https). A session ends at logout, after ``session_hours``, after
``idle_minutes`` without a request, and when its operator is disabled or resets a password.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from functools import lru_cache
from typing import Any

from aiohttp import web

from booking_core import operators
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.unit import to_epoch
from booking_core.operators import ConsoleSession, Operator

from .keys import PROXY_NOTICE, SERVICES, SETTINGS, ConsoleSettings

log = logging.getLogger(__name__)

SESSION_COOKIE = "guahao_session"
PRE_CSRF_COOKIE = "guahao_csrf"
TOUCH_EVERY_SECONDS = 60  # write "last seen" at most once a minute, not on every request
MAX_TOKEN_LENGTH = 128


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(operator: Operator) -> Actor:
    return Actor("operator", operator.username, operator.hospital_id, Channel.AGENT)


def now_epoch(request: web.Request) -> int:
    return to_epoch(request.config_dict[SERVICES].clock.now())


def console_path(request: web.Request) -> str:
    """Where the console is mounted, e.g. ``/console/``."""
    return str(request.app.router["home"].url_for())


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def proxy_networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    """``console_trusted_proxies`` as networks (an address alone is a /32 or /128)."""
    try:
        return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in trusted if t.strip())
    except ValueError as err:
        raise ValueError(f"console_trusted_proxies: {err}") from err


def _is_proxy(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _looks_like_a_proxy(address: str, settings: ConsoleSettings) -> bool:
    if _is_proxy(address, proxy_networks(settings.trusted_proxies)):
        return True
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback


def _via_trusted_proxy(request: web.Request, settings: ConsoleSettings) -> bool:
    """May this request's forwarded headers be believed: the switch is on and the peer is
    one of the configured proxies."""
    networks = proxy_networks(settings.trusted_proxies)
    return settings.trust_proxy and _is_proxy(request.remote or "", networks)


def is_https(request: web.Request, settings: ConsoleSettings) -> bool:
    if settings.secure_cookies or request.secure:
        return True
    if _via_trusted_proxy(request, settings):
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.split(",")[0].strip().lower() == "https"
    return False


def source_of(request: web.Request) -> str:
    """The address a request came from: the proxy's word for it only when trusted. Hops are
    read from the right, skipping our own proxies: the first other address is the client
    (anything left of it the client may have written itself)."""
    settings = request.config_dict[SETTINGS]
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if not hops:
        return remote[:64]
    if _via_trusted_proxy(request, settings):
        networks = proxy_networks(settings.trusted_proxies)
        for hop in reversed(hops):
            if not _is_proxy(hop, networks):
                return hop[:64]
        return hops[0][:64]
    _notice_untrusted_forwarding(request, settings, remote)
    return remote[:64]


def _notice_untrusted_forwarding(
    request: web.Request, settings: ConsoleSettings, remote: str
) -> None:
    notice = request.config_dict.get(PROXY_NOTICE)
    if notice is None or notice.warning is not None:
        return  # once per process: a proxy sends the header on every request
    if not _looks_like_a_proxy(remote, settings):
        return  # a client on the internet writing the header itself: nothing to configure
    if settings.trust_proxy:
        notice.warning = (
            f"X-Forwarded-For from {remote}, which is not in console_trusted_proxies, is "
            "ignored: if it is your reverse proxy, add it there"
        )
    else:
        notice.warning = (
            f"X-Forwarded-For from {remote} is ignored because console_trust_proxy is off: "
            "every client behind that proxy shares its address for the log-in throttle; "
            "set console_trust_proxy and console_trusted_proxies"
        )
    notice.seen_from = remote[:64]
    log.warning("%s", notice.warning)


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    samesite: str = "Lax",
    max_age: int | None = None,
) -> None:
    settings = request.config_dict[SETTINGS]
    options: dict[str, Any] = {
        "path": console_path(request),
        "httponly": True,
        "samesite": samesite,
        "secure": is_https(request, settings),
    }
    if max_age is not None:
        options["max_age"] = max_age
    response.set_cookie(name, value, **options)


def clear_cookie(request: web.Request, response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path=console_path(request))


async def load(request: web.Request) -> ConsoleSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    services = request.config_dict[SERVICES]
    settings = request.config_dict[SETTINGS]
    found: ConsoleSession | None = await services.read(operators.console_session, token_hash(token))
    if found is None:
        return None
    now = now_epoch(request)
    idle = now - found.seen_at > settings.idle_minutes * 60
    if found.expires_at <= now or idle or found.operator.disabled:
        await services.handle(
            operators.CloseConsoleSession(
                token_hash=found.token_hash, actor=actor_of(found.operator)
            )
        )
        return None
    if now - found.seen_at >= TOUCH_EVERY_SECONDS:
        await services.handle(operators.TouchConsoleSession(token_hash=found.token_hash))
    return found


async def start(
    request: web.Request, operator: Operator, stage: str, pending_totp_enc: str | None = None
) -> tuple[str, str]:
    """A new session (a new token: never one the browser had before). Returns the cookie
    value and the session's CSRF token."""
    services = request.config_dict[SERVICES]
    settings = request.config_dict[SETTINGS]
    token, csrf = new_token(), new_token()
    await services.handle(
        operators.OpenConsoleSession(
            token_hash=token_hash(token),
            operator_id=operator.id,
            csrf_token=csrf,
            stage=stage,
            source=source_of(request),
            expires_at=now_epoch(request) + settings.session_hours * 3600,
            pending_totp_enc=pending_totp_enc,
            actor=actor_of(operator),
        )
    )
    return token, csrf
