"""The application factory: one place that builds the store, the services and the
aiohttp application with every front door mounted. Used by ``guahao serve``,
``guahao demo`` and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

import agent_console.web
import hospital_api.fhir.web
import hospital_api.web
import ivr.web
from agent_console.keys import PROXY_NOTICE, ConsoleSettings, SoftphoneSettings
from booking_core.bus import BookingServices, bootstrap
from booking_core.kernel.clock import Clock, SystemClock
from booking_core.kernel.errors import StoreUnavailable
from booking_core.kernel.pii import Cipher
from booking_core.kernel.unit import val
from booking_core.store import make_store
from edge.signature import TWILIO_ACCOUNT
from hospital_api.fhir.keys import FhirSettings

from . import feeding, his_pull, hl7_listening, kiosking, texting
from .config import Settings, require_secret
from .home import home
from .keys import CLOCK, METRICS, SERVICES, SETTINGS, STORE
from .metrics import CONTENT_TYPE, Metrics, latency_middleware
from .serving import body_deadline
from .workers import (
    agent_sign_off_ctx,
    audit_purge_ctx,
    callback_sweep_ctx,
    draw_ctx,
    hold_expiry_ctx,
    no_show_ctx,
    patient_keys_ctx,
    waitlist_sweep_ctx,
)

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 2  # a load balancer's probe must not hang on a stuck store


def build_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    cipher = Cipher.from_base64(require_secret(settings, "pii_key"))
    clock = clock or SystemClock()
    store = make_store(
        settings.db,
        clock,
        sqlite_readers=settings.sqlite_readers,
        sqlite_max_batch=settings.sqlite_max_batch,
        pg_pool_min=settings.pg_pool_min,
        pg_pool_max=settings.pg_pool_max,
        outbox_consumers=feeding.outbox_consumers(
            settings, kiosking.outbox_consumers(settings, texting.outbox_consumers(settings))
        ),
        sql_trace=settings.sql_trace,
    )
    services = bootstrap(store, cipher)
    metrics = Metrics()

    # the body's deadline first: it covers every door's reading of the body
    guards = [body_deadline(settings.http_body_timeout_seconds), latency_middleware(metrics)]
    app = web.Application(middlewares=guards, client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[STORE] = store
    app[SERVICES] = services
    app[METRICS] = metrics
    app[TWILIO_ACCOUNT] = settings.twilio_account_sid  # the Twilio doors' AccountSid check

    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(hold_expiry_ctx)
    app.cleanup_ctx.append(draw_ctx)
    app.cleanup_ctx.append(no_show_ctx)
    app.cleanup_ctx.append(audit_purge_ctx)
    app.cleanup_ctx.append(callback_sweep_ctx)
    app.cleanup_ctx.append(agent_sign_off_ctx)
    app.cleanup_ctx.append(waitlist_sweep_ctx)
    app.cleanup_ctx.append(patient_keys_ctx)

    app.router.add_get("/", home)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.add_subapp(
        "/api/v1/",
        hospital_api.web.make_app(
            services,
            token_cache_seconds=settings.token_cache_seconds,
            max_body_bytes=settings.max_body_bytes,
            on_booking=metrics.record_booking,
            default_timezone=settings.timezone,
            feeds_allow_private=settings.feeds_allow_private_addresses,
        ),
    )
    app.add_subapp("/fhir/R4/", fhir_app(services, settings))
    app.add_subapp(
        "/twilio/voice/",
        ivr.web.make_app(
            services,
            auth_token=settings.twilio_auth_token or "",
            public_url=settings.public_url,
            hospital_code=settings.ivr_hospital,
            queue=settings.ivr_agent_queue,
            hold_music_url=settings.ivr_hold_music_url,
            on_booking=metrics.record_booking,
            caller_id=settings.ivr_phone_number,
            callback_attempts=settings.callback_attempts,
        ),
    )
    console = ConsoleSettings(
        settings.console_session_hours,
        settings.console_idle_minutes,
        settings.console_trust_proxy,
        trusted_proxies=settings.console_trusted_proxies,
        secure_cookies=settings.public_url.startswith("https://"),
        timezone=settings.timezone,
        feeds_allow_private=settings.feeds_allow_private_addresses,
        agent_wrap_up_seconds=settings.agent_wrap_up_seconds,
        wallboard_service_level_seconds=settings.wallboard_service_level_seconds,
        softphone=SoftphoneSettings(
            account_sid=settings.twilio_account_sid,
            api_key_sid=settings.twilio_api_key_sid,
            api_key_secret=settings.twilio_api_key_secret or "",
            twiml_app_sid=settings.twilio_twiml_app_sid,
            token_ttl_seconds=settings.voice_token_ttl_seconds,
            api_base=settings.twilio_api_base,
            public_url=settings.public_url,
        ),
    )
    console_app = agent_console.web.make_app(services, console)
    app[PROXY_NOTICE] = console_app[PROXY_NOTICE]  # for /healthz
    app.add_subapp("/console/", console_app)
    texting.mount(app, settings)
    kiosking.mount(app, settings)
    feeding.mount(app, settings)
    his_pull.mount(app)
    hl7_listening.mount(app, settings)
    return app


def fhir_app(services: BookingServices, settings: Settings) -> web.Application:
    """FHIR R4 and the SMART Scheduling Links files, with what they publish of the phones."""
    fhir_settings = FhirSettings(
        public_url=settings.public_url,
        max_body_bytes=settings.max_body_bytes,
        default_timezone=settings.timezone,
        ivr_phone=settings.ivr_phone_number,
        ivr_hospital=settings.ivr_hospital,
        sms_phone=settings.sms_phone_number,
        sms_hospital=settings.sms_hospital,
    )
    return hospital_api.fhir.web.make_app(
        services, fhir_settings, token_cache_seconds=settings.token_cache_seconds
    )


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    await store.open()
    log.info("store open: %s (schema %s)", store.dialect, await store.schema_version())
    yield
    await store.close()


def _ping(tx):
    return (yield val("SELECT max(version) FROM schema_migrations"))


async def healthz(request: web.Request) -> web.Response:
    store = request.app[STORE]
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            version = await store.read(_ping)
    except (StoreUnavailable, TimeoutError, OSError) as err:
        return web.json_response({"status": "unavailable", "reason": str(err)}, status=503)
    if (fault := store.write_fault()) is not None:  # reads work, writes fail (a full disk)
        reason = f"writes are failing: {fault}"
        return web.json_response({"status": "unavailable", "reason": reason}, status=503)
    body = {"status": "ok", "store": store.dialect, "schema": version}
    notice = request.app[PROXY_NOTICE]
    # still "ok" with a warning: the engine works, the console's throttle is too coarse
    warnings = [notice.warning] if notice.warning else []
    texting_health = texting.health(request.app)
    body |= texting_health
    if warning := texting_health.get("modem", {}).get("warning"):
        warnings.append(warning)  # still "ok": texts are answered until the SIM is full
    kiosk_health = kiosking.health(request.app)
    body |= kiosk_health
    if warning := kiosk_health.get("kiosk_broker", {}).get("warning"):
        warnings.append(warning)  # still "ok": every other door works without the kiosks
    if warnings:
        body["warnings"] = warnings
    return web.json_response(body)


async def metrics_view(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    store = request.app[STORE]
    with contextlib.suppress(AttributeError):
        metrics.write_batches.set(store.batches)  # SQLite only
    return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
