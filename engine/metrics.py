"""Prometheus metrics: bookings by channel and result, request latency by door."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

log = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that closed the connection first
LATENCY_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """One registry per engine app, so tests can build many apps in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.bookings = Counter(
            "guahao_bookings",
            "Booking attempts by channel and result (created, replayed, or the refusal code)",
            ["channel", "result"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "guahao_request_seconds",
            "HTTP request latency by door (api, twilio, console …), method and status class "
            "(2xx, 4xx, 5xx; 499: the client hung up before the answer)",
            ["door", "method", "status"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=self.registry,
        )
        self.sweeps = Counter(
            "guahao_sweep_changes",
            "Bookings changed by background sweeps",
            ["sweep"],
            registry=self.registry,
        )
        self.write_batches = Gauge(
            "guahao_sqlite_write_batches",
            "Transactions committed by the SQLite writer (group commit)",
            registry=self.registry,
        )

    def record_booking(self, channel: str, result: str) -> None:
        self.bookings.labels(channel, result).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def door_of(path: str) -> str:
    parts = path.strip("/").split("/", 2)
    if not parts or not parts[0]:
        return "root"
    if parts[0] == "api":
        return "api"
    return parts[0] if parts[0] in ("twilio", "console", "healthz", "metrics", "fhir") else "other"


def client_gone(request: web.Request) -> bool:
    """The connection is closed: what the handler read or wrote failed because of it."""
    transport = request.transport
    return transport is None or transport.is_closing()


def status_label(status: int) -> str:
    """The status class, except a client that hung up (499), which is no error of ours."""
    return "499" if status == CLIENT_CLOSED_REQUEST else f"{status // 100}xx"


def latency_middleware(metrics: Metrics):
    children: dict[tuple[str, str, str], object] = {}  # labels() takes a lock: once per key

    def observe(door: str, method: str, status: str, seconds: float) -> None:
        key = (door, method, status)
        child = children.get(key)
        if child is None:
            child = children[key] = metrics.request_seconds.labels(*key)
        child.observe(seconds)

    @web.middleware
    async def middleware(request: web.Request, handler):
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except ConnectionResetError:
            if not client_gone(request):
                raise
            # the caller hung up (mid-body, say): no one to answer, and not our fault
            log.info("client went away: %s %s", request.method, request.path)
            status = CLIENT_CLOSED_REQUEST
            return web.Response(status=status)
        finally:
            observe(door_of(request.path), request.method, status_label(status),
                    time.perf_counter() - started)  # fmt: skip

    return middleware
