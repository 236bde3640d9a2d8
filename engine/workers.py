"""Background workers: hold expiry, no-show sweep, the hourly purge (audit log, delivered
outbox events), the backfill of patients' pinyin keys (#14). Each is one ``cleanup_ctx``
that starts a task and, on shutdown, cancels and awaits it; the task is
:func:`edge.periodic.run_periodically` (the SMS door's work runs on it too)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from booking_core import bookings, calls, events, patients
from booking_core.bus import BookingServices
from booking_core.events import outbox
from edge.periodic import run_periodically

from .keys import METRICS, SERVICES, SETTINGS

log = logging.getLogger(__name__)

AUDIT_PURGE_INTERVAL_SECONDS = 3600  # the retentions are in days: hourly is plenty
CALLBACK_SWEEP_SECONDS = 60  # call-back windows are in minutes: a minute late is fine
AGENT_SIGN_OFF_SECONDS = 60  # an absent agent is offline a minute after their session ends
WAITLIST_SWEEP_SECONDS = 60  # a line closes within a minute of its cut-off; offers are immediate
PATIENT_KEYS_INTERVAL_SECONDS = 3600  # after the first run there is nothing left to fill


def worker_ctx(name: str, make_step, interval_of, on_result_of=None):
    """A cleanup context running ``make_step(app)`` every ``interval_of(settings)`` seconds."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        step = make_step(app)
        on_result = on_result_of(app) if on_result_of else (lambda _r: None)
        task = asyncio.create_task(
            run_periodically(name, interval_of(app[SETTINGS]), step, on_result), name=name
        )
        yield
        await stop(task)

    return ctx


async def stop(task: asyncio.Task) -> None:
    """Cancel a worker and wait for it. A worker stopped mid-statement may end with the
    driver's error rather than the cancellation (asyncpg: "another operation is in
    progress" on a connection whose statement was being cancelled); that is logged, and
    the shutdown goes on to close the store."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.warning("%s ended with an error while stopping", task.get_name(), exc_info=True)


def _handle(command_factory):
    def make_step(app: web.Application):
        services: BookingServices = app[SERVICES]
        return lambda: services.handle(command_factory(app))

    return make_step


def _count(sweep: str, pick=lambda r: r):
    def on_result_of(app: web.Application):
        counter = app[METRICS].sweeps.labels(sweep)
        return lambda result: counter.inc(pick(result))

    return on_result_of


hold_expiry_ctx = worker_ctx(
    "hold-expiry",
    _handle(lambda app: bookings.ExpireHolds()),
    lambda s: s.hold_sweep_seconds,
    _count("hold_expiry"),
)


async def draw_ctx(app: web.Application) -> AsyncIterator[None]:
    """Release draws (公平放号) whose window has closed: one draw a step, the next at once
    while there are more (sessions are released together at the release minute), then one
    look every ``draw_sweep_seconds`` (:class:`booking_core.bookings.RunDraws`)."""
    services: BookingServices = app[SERVICES]
    counter = app[METRICS].sweeps.labels("release_draw")
    task = asyncio.create_task(
        run_periodically(
            "release-draw",
            app[SETTINGS].draw_sweep_seconds,
            lambda: services.handle(bookings.RunDraws()),
            lambda r: counter.inc(r.booked + r.refused),
            busy=lambda r: r.draws > 0,
        ),
        name="release-draw",
    )
    yield
    await stop(task)


no_show_ctx = worker_ctx(
    "no-show-sweep",
    _handle(lambda app: bookings.SweepNoShows()),
    lambda s: s.no_show_sweep_seconds,
    _count("no_show", pick=lambda r: r[0] + r[1]),
)


def _purge(app: web.Application):
    """Delivered outbox events after ``outbox_retention_days``, then audit records after
    ``audit_retention_days`` (and the console's log-in attempts after a month)."""
    services: BookingServices = app[SERVICES]
    settings = app[SETTINGS]

    async def step() -> int:
        await services.store.write(outbox.purge_delivered, settings.outbox_retention_days)
        return await services.handle(
            events.PurgeAudit(older_than_days=settings.audit_retention_days)
        )

    return step


audit_purge_ctx = worker_ctx("audit-purge", _purge, lambda s: AUDIT_PURGE_INTERVAL_SECONDS)


callback_sweep_ctx = worker_ctx(
    "callback-sweep",
    _handle(
        lambda app: calls.SweepCallbacks(
            answer_within_minutes=app[SETTINGS].callback_answer_within_minutes,
            attempts=app[SETTINGS].callback_attempts,
        )
    ),
    lambda s: CALLBACK_SWEEP_SECONDS,
)
"""Call-backs not reached within ``callback_answer_within_minutes``: tried again, or closed
with a text after ``callback_attempts`` tries (:class:`booking_core.calls.SweepCallbacks`)."""


waitlist_sweep_ctx = worker_ctx(
    "waitlist-sweep",
    _handle(lambda app: bookings.SweepWaitlists()),
    lambda s: WAITLIST_SWEEP_SECONDS,
)
"""候补: lines of sessions stopped or past their cut-off closed (each patient texted), free
places of sessions with a line offered (:class:`booking_core.bookings.SweepWaitlists`).
Offers that lapse are the hold sweep's: an offer is a held booking."""


agent_sign_off_ctx = worker_ctx(
    "agent-sign-off",
    _handle(lambda app: calls.SignOffAbsentAgents(idle_minutes=app[SETTINGS].console_idle_minutes)),
    lambda s: AGENT_SIGN_OFF_SECONDS,
)
"""Agents whose console session ran out without a log-out: offline, so the wallboard and
the workload report do not count them available
(:class:`booking_core.calls.SignOffAbsentAgents`)."""


async def patient_keys_ctx(app: web.Application) -> AsyncIterator[None]:
    """Patients registered before schema 18 get their pinyin keys and birth year (which SQL
    alone cannot compute), a batch at a time until none is left: a busy step runs again at
    once, then hourly (one indexed look-up that finds nothing)."""
    services: BookingServices = app[SERVICES]

    async def step() -> int:
        return await services.handle(patients.FillPatientKeys())

    task = asyncio.create_task(
        run_periodically(
            "patient-keys", PATIENT_KEYS_INTERVAL_SECONDS, step, busy=lambda n: bool(n)
        ),
        name="patient-keys",
    )
    yield
    await stop(task)
