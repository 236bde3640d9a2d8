"""Typed keys for the FHIR sub-app's state and for what a request carries."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from booking_core.bus import BookingServices

from ..auth import Caller, TokenCache
from ..directory import Directory


@dataclass(frozen=True, slots=True)
class FhirSettings:
    """``public_url``: the engine's base URL seen from outside (links and the manifest name
    it; empty: the request's own scheme and host). ``ivr_phone`` and ``ivr_hospital``: the
    number patients call and the hospital it books for; ``sms_phone`` and ``sms_hospital``
    the same for the SMS booking codes (SMART's booking-phone and booking-deep-link)."""

    public_url: str = ""
    max_body_bytes: int = 65536
    default_timezone: str = "Asia/Shanghai"
    ivr_phone: str = ""
    ivr_hospital: str = ""
    sms_phone: str = ""
    sms_hospital: str = ""


SERVICES = web.AppKey("fhir_services", BookingServices)
SETTINGS = web.AppKey("fhir_settings", FhirSettings)
TOKENS = web.AppKey("fhir_tokens", TokenCache)
DIRECTORY = web.AppKey("fhir_directory", Directory)

CALLER = web.RequestKey("fhir_caller", Caller)
"""The verified token behind a request (set by the guard)."""
