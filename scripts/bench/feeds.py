"""Feeds to a hospital's systems under load: how fast webhooks leave, and how fast a FHIR
Slot search answers, each beside its ceiling.

    .venv/bin/python scripts/bench/feeds.py [--bookings 2000] [--subscriptions 1]
                                            [--store sqlite|URL]

The bench database holds ``--bookings`` bookings made while ``--subscriptions`` webhook
subscriptions of the hospital (topic booking.created) were active, so each booking is a
delivery waiting for each subscription. A receiver process (scripts/bench/webhook_receiver.py)
verifies every request with the ``standardwebhooks`` package and answers 204.

Printed, in the same run against the same receiver:

* the ceiling: this process POSTing the same bodies, signed the same way, 20 at a time (as
  a subscription's lane sends them) with no store behind — what HTTP and the receiver
  allow;
* ``guahao serve`` started on the database: the fan-out, the lanes claiming, sending and
  recording each attempt in the store, from the first delivery the receiver took to the
  last (deliveries per second);
* FHIR: ``GET /fhir/R4/Slot?status=free&_count=50`` (a page of 50 with its next link) from
  20 clients at once against that engine, and the same bytes from a bare aiohttp handler
  (the ceiling): searches per second, p50, p99, max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking_core import bookings, feeds  # noqa: E402
from booking_core.bus import bootstrap  # noqa: E402
from booking_core.events import outbox, webhook_body  # noqa: E402
from booking_core.kernel.actor import Actor, Channel  # noqa: E402
from booking_core.kernel.clock import SystemClock  # noqa: E402
from booking_core.kernel.pii import Cipher  # noqa: E402
from booking_core.kernel.unit import execute  # noqa: E402
from booking_core.store import make_store  # noqa: E402
from hospital_api.webhooks import headers  # noqa: E402
from scripts.bench.common import (  # noqa: E402
    HOSPITAL,
    engine_command,
    engine_env,
    his_token,
    pct,
    register_patients,
    services_on,
    serving,
)
from tests.support.world import World, slot_ids  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = Actor("operator", "bench", None, Channel.AGENT)
SEARCHERS = 20  # FHIR clients searching slots at once
LANE = 20  # hospital_api.dispatch.BATCH: a lane's deliveries sent side by side
PLACES = 50
UNSET_URL = "https://receiver.invalid/hook"  # replaced once the receiver has its port


async def prepare(db: str, key: str, url: str, count: int, subscriptions: int):
    """The hospital, its sessions, ``count`` bookings and the subscriptions; the secret and
    the bodies of the bookings' events (for the ceiling)."""
    store = make_store(db, SystemClock(), outbox_consumers=[feeds.OUTBOX_CONSUMER])
    await store.open()
    services = bootstrap(store, Cipher.from_base64(key))
    try:
        world = World(services, HOSPITAL)
        await world.hospital(name="基准医院")
        await world.department()
        tomorrow = datetime.now(TZ).date() + timedelta(days=1)
        slots: list[int] = []
        doctor = 0
        while len(slots) * PLACES < count:
            doctor += 1
            work_no = f"{doctor:05d}"
            await world.doctor(work_no, fee=0)
            session = await world.session(tomorrow, work_no, places=PLACES)
            slots += await slot_ids(services, session.id)
        for extra in range(10):  # sessions with places still free: what a Slot search finds
            work_no = f"{doctor + 1 + extra:05d}"
            await world.doctor(work_no, fee=0)
            await world.session(tomorrow, work_no, places=PLACES)
        token = await his_token(services, "bench-fhir")
        secret = ""
        for n in range(subscriptions):
            made = await services.handle(
                feeds.CreateSubscription(
                    actor=ADMIN, hospital_code=HOSPITAL, kind=feeds.FeedKind.WEBHOOK,
                    name=f"bench {n}", url=url, topics=("booking.created",),
                )
            )  # fmt: skip
            secret = secret or made.secret
        # the receiver knows one secret: every subscription signs with it (the bench's own
        # shortcut; the engine draws one per subscription)
        await _same_secret(services, secret)
        patients = await register_patients(services, HOSPITAL, count)
        for start in range(0, count, 500):
            await asyncio.gather(
                *(
                    services.handle(
                        bookings.BookSlot(
                            slot_id=slots[i // PLACES], patient_id=patients[i].id,
                            channel=Channel.API,
                        )
                    )
                    for i in range(start, min(count, start + 500))
                )
            )  # fmt: skip
        created = [e for e in await services.read(outbox.events) if e.topic == "booking.created"]
        return secret, token, [webhook_body(e, HOSPITAL) for e in created]
    finally:
        await store.close()


async def _same_secret(services, secret: str) -> None:
    sealed = services.cipher.encrypt(secret, context="webhook_secret")

    def unit(tx):
        yield execute("UPDATE feed_subscriptions SET secret = ?", sealed)

    await services.store.write(unit)


def receiver_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/count", timeout=5) as answer:
        return json.loads(answer.read())


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/reset", method="POST"), timeout=5)


async def ceiling(url: str, secret: str, bodies: list[bytes]) -> tuple[float, list[float]]:
    """This process POSTing every body, signed, ``LANE`` at a time: (per second, latencies)."""
    secrets = feeds.SubscriptionSecrets(current=secret)
    queue = list(enumerate(bodies))
    took: list[float] = []
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            while queue:
                n, body = queue.pop()
                sent = headers(secrets, f"msg_ceiling_{n}", time.time(), body)
                started = time.perf_counter()
                async with http.post(f"{url}/hook", data=body, headers=sent) as answer:
                    assert answer.status == 204, answer.status
                took.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(LANE)))
        return len(bodies) / (time.perf_counter() - started), took


async def fetch(url: str, headers: dict) -> bytes:
    async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.read()


async def hammer(url: str, headers: dict, count: int) -> tuple[float, list[float]]:
    """``count`` GETs of ``url`` from :data:`SEARCHERS` clients: (per second, latencies)."""
    left = count
    took: list[float] = []
    async with aiohttp.ClientSession(headers=headers) as http:

        async def client() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                started = time.perf_counter()
                async with http.get(url) as answer:
                    await answer.read()
                    assert answer.status == 200, answer.status
                took.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(SEARCHERS)))
        return count / (time.perf_counter() - started), took


def engine_rate(receiver: str, expected: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = receiver_stats(receiver)
        if stats["unique"] >= expected:
            assert stats["forged"] == 0
            return expected / max(1e-9, stats["last_at"] - stats["first_at"])
        time.sleep(0.2)
    raise SystemExit(f"only {receiver_stats(receiver)['unique']} of {expected} arrived")


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q):.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=1)
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgresql:// URL")
    parser.add_argument("--searches", type=int, default=2000, help="FHIR Slot searches")
    args = parser.parse_args()
    key = Cipher.generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db") if args.store == "sqlite" else args.store
        t0 = time.perf_counter()
        # made before the receiver runs: its address is set once it has a port
        secret, token, bodies = await prepare(db, key, UNSET_URL, args.bookings, args.subscriptions)
        print(
            f"prepared {len(bodies)} bookings × {args.subscriptions} subscription(s) in "
            f"{time.perf_counter() - t0:.1f} s ({args.store}); body "
            f"{statistics.mean(len(b) for b in bodies):.0f} bytes"
        )
        receiver_env = engine_env(key) | {"BENCH_WEBHOOK_SECRET": secret}
        receiver_cmd = [sys.executable, "scripts/bench/webhook_receiver.py"]
        with serving(receiver_cmd, receiver_env) as (_proc, receiver):
            await _point_at(db, key, f"{receiver}/hook")
            rate, took = await ceiling(receiver, secret, bodies)
            print(
                f"ceiling (aiohttp client → receiver, {LANE} at a time): {rate:,.0f} /s, "
                f"p50 {ms(took, 0.5)}, p99 {ms(took, 0.99)}"
            )
            reset(receiver)
            expected = len(bodies) * args.subscriptions
            settings = {"log_level": "WARNING", "feeds_allow_private_addresses": "true"}
            store = "SQLite" if args.store == "sqlite" else "PostgreSQL"
            with serving(engine_command(db), engine_env(key, **settings)) as (_engine, url):
                engine = engine_rate(receiver, expected)
                print(
                    f"guahao serve ({store}, {args.subscriptions} lane(s)): "
                    f"{engine:,.0f} deliveries/s ({engine / rate:.0%} of the ceiling)"
                )
                search = f"{url}/fhir/R4/Slot?status=free&_count=50"
                auth = {"Authorization": f"Bearer {token}"}
                page = Path(tmp) / "slots.json"
                page.write_bytes(await fetch(search, auth))
                served = await hammer(search, auth, args.searches)
        bare_env = receiver_env | {"BENCH_BARE_JSON": str(page)}
        with serving(receiver_cmd, bare_env) as (_proc, bare):
            ceiling_searches = await hammer(f"{bare}/bare", {}, args.searches)
        print(
            f"FHIR Slot search (status=free, _count=50: {page.stat().st_size:,} bytes), "
            f"{SEARCHERS} clients, {args.searches} requests:"
        )
        for name, (per_second, took) in (
            ("ceiling (bare aiohttp, same bytes)", ceiling_searches),
            (f"guahao serve ({store})", served),
        ):
            print(
                f"  {name}: {per_second:,.0f} /s, p50 {ms(took, 0.5)}, p99 {ms(took, 0.99)}, "
                f"max {ms(took, 1.0)}"
            )


async def _point_at(db: str, key: str, url: str) -> None:
    def unit(tx):  # each its own path: the receiver counts a message once per path
        yield execute("UPDATE feed_subscriptions SET url = ? || '/' || CAST(id AS TEXT)", url)

    async with services_on(db, key) as services:
        await services.store.write(unit)


if __name__ == "__main__":
    asyncio.run(main())
