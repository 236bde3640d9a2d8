"""Typed keys for the console sub-app's state and for what a request carries."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from booking_core.bus import BookingServices
from booking_core.operators import ConsoleSession

from .auth import LoginPolicy, Passwords


@dataclass(frozen=True)
class SoftphoneSettings:
    """What the agents' softphone access tokens are made of (docs/twilio.md). Each empty
    field is named, by its engine setting, in the 503 the token endpoint answers."""

    account_sid: str = ""  # twilio_account_sid (AC…): the token's subject
    api_key_sid: str = ""  # twilio_api_key_sid (SK…): the token's issuer
    api_key_secret: str = field(default="", repr=False)  # twilio_api_key_secret: signs it
    twiml_app_sid: str = ""  # twilio_twiml_app_sid (AP…): where the browser's calls go
    token_ttl_seconds: int = 600  # voice_token_ttl_seconds
    api_base: str = ""  # twilio_api_base: where hold/transfer reach Twilio's REST API
    public_url: str = ""  # public_url: Twilio fetches the TwiML a held call is sent to here

    def missing(self) -> tuple[str, ...]:
        """The engine settings still to set before a token can be made."""
        needed = {
            "twilio_account_sid": self.account_sid,
            "twilio_api_key_sid": self.api_key_sid,
            "twilio_api_key_secret": self.api_key_secret,
            "twilio_twiml_app_sid": self.twiml_app_sid,
        }
        return tuple(name for name, value in needed.items() if not value)

    def missing_for_calls(self) -> tuple[str, ...]:
        """The engine settings still to set before a live call can be held or transferred
        (Twilio's REST API, signed with the same API key, and the engine's public URL)."""
        needed = {
            "twilio_account_sid": self.account_sid,
            "twilio_api_key_sid": self.api_key_sid,
            "twilio_api_key_secret": self.api_key_secret,
            "public_url": self.public_url,
        }
        return tuple(name for name, value in needed.items() if not value)


@dataclass(frozen=True)
class ConsoleSettings:
    session_hours: int = 12  # a session ends this long after log-in, however busy
    idle_minutes: int = 30  # … or after this long without a request
    trust_proxy: bool = False  # believe X-Forwarded-Proto / X-Forwarded-For (behind a proxy)
    # ... but only from these addresses or networks (the proxies themselves): a client that
    # reaches the engine directly cannot name its own address
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    secure_cookies: bool = False  # always mark cookies Secure (the public URL is https)
    policy: LoginPolicy = field(default_factory=LoginPolicy)
    passwords: Passwords | None = None  # None: argon2id with the library's defaults
    timezone: str = "Asia/Shanghai"  # the engine's default zone: platform screens, log-in
    feeds_allow_private: bool = False  # subscribers at private addresses (a HIS on the LAN)
    softphone: SoftphoneSettings = field(default_factory=SoftphoneSettings)


@dataclass
class ProxyNotice:
    """Set when forwarded headers arrive that the console does not believe (logged once):
    behind a proxy that is not trusted every client shares the proxy's address, so one
    throttled guesser slows the whole office down. The engine's ``/healthz`` shows it."""

    warning: str | None = None
    seen_from: str | None = None


SERVICES = web.AppKey("services", BookingServices)
PROXY_NOTICE = web.AppKey("proxy_notice", ProxyNotice)
SETTINGS = web.AppKey("settings", ConsoleSettings)
PASSWORDS = web.AppKey("passwords", Passwords)

SESSION = web.RequestKey("session", ConsoleSession | None)
"""The signed-in session behind a request, or None (set by the session middleware)."""
NEW_PRE_CSRF = web.RequestKey("new_pre_csrf", str)
"""A CSRF token for an anonymous form, to be set as a cookie on the response."""
