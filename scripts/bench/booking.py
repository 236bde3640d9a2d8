"""Booking throughput through the HTTP API, beside two ceilings measured in the same run.

    .venv/bin/python scripts/bench/booking.py [--seconds 8] [--concurrency 64]

1. bare HTTP: an aiohttp endpoint that parses the request and answers a booking-sized
   body, no database (scripts/bench/bare_server.py), loaded by the same client;
2. raw sqlite3: one booking per durable transaction (WAL, synchronous=FULL) in a tight
   loop — the per-commit limit of SQLite on this disk;
3. guahao: `guahao serve` on a fresh SQLite file (synchronous=FULL), real rules, real
   tokens, POST /api/v1/bookings from many concurrent clients.

Target (issue #2): guahao bookings/s >= 50% of the bare-HTTP ceiling, durably. The
SQLite store gets there by group commit: one fsync for every booking waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
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

from booking_core.kernel.pii import Cipher  # noqa: E402
from scripts.bench.common import (  # noqa: E402
    HOSPITAL,
    bench_world,
    engine_command,
    engine_env,
    his_token,
    register_patients,
    serving,
)
from tests.support.world import slot_ids  # noqa: E402

TARGET_RATIO = 0.5
DAYS = 5  # one booking per patient per department per day, at most 5 active: 5 days each
TZ = ZoneInfo("Asia/Shanghai")


class Load:
    """Closed-loop clients: each sends its next request when the last one answered."""

    def __init__(self, url: str, headers: dict, bodies, seconds: float, concurrency: int):
        self.url, self.headers, self.bodies = url, headers, bodies
        self.seconds, self.concurrency = seconds, concurrency
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    async def run(self) -> float:
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        async with aiohttp.ClientSession(connector=connector, headers=self.headers) as session:
            # warm up connections and code paths, not counted
            await asyncio.gather(
                *(self._one(session, record=False) for _ in range(self.concurrency))
            )
            self.latencies.clear()
            self.statuses.clear()
            self.deadline = time.perf_counter() + self.seconds
            started = time.perf_counter()
            await asyncio.gather(*(self._client(session) for _ in range(self.concurrency)))
            return time.perf_counter() - started

    async def _client(self, session) -> None:
        while time.perf_counter() < self.deadline:
            if not await self._one(session):
                return

    async def _one(self, session, record: bool = True) -> bool:
        body = next(self.bodies, None)
        if body is None:
            return False
        t0 = time.perf_counter()
        async with session.post(self.url, json=body) as resp:
            await resp.read()
        if record:
            self.latencies.append(time.perf_counter() - t0)
            self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
        return True

    def summary(self, elapsed: float, ok_status: int = 201) -> dict:
        lat = sorted(self.latencies)
        ok = self.statuses.get(ok_status, 0)
        return {
            "per_second": ok / elapsed,
            "p50_ms": 1000 * lat[len(lat) // 2] if lat else float("nan"),
            "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else float("nan"),
            "statuses": dict(sorted(self.statuses.items())),
            "mean_ms": 1000 * statistics.fmean(lat) if lat else float("nan"),
        }


def run_bare(seconds: float, concurrency: int) -> dict:
    bare = [sys.executable, str(ROOT / "scripts/bench/bare_server.py"), "--port"]
    with serving(bare) as (_proc, url):
        bodies = ({"slot_id": 1, "patient_id": i} for i in range(10**9))
        load = Load(f"{url}/api/v1/bookings", {}, bodies, seconds, concurrency)
        elapsed = asyncio.run(load.run())
        return load.summary(elapsed)


def run_raw_sqlite(folder: str, seconds: float) -> dict:
    """One booking per transaction, durably: the per-commit ceiling of SQLite here."""
    conn = sqlite3.connect(os.path.join(folder, "raw.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE slots (id INTEGER PRIMARY KEY, capacity INTEGER, booked INTEGER)")
    conn.execute(
        "CREATE TABLE bookings (id INTEGER PRIMARY KEY, booking_no TEXT UNIQUE, slot_id INTEGER, "
        "patient_id INTEGER, status TEXT, created_at INTEGER)"
    )
    conn.executemany("INSERT INTO slots VALUES (?, 1000000, 0)", [(i,) for i in range(1, 101)])
    n = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        n += 1
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE slots SET booked = booked + 1 WHERE id = ? AND booked < capacity",
            (n % 100 + 1,),
        )
        conn.execute(
            "INSERT INTO bookings (booking_no, slot_id, patient_id, status, created_at) "
            "VALUES (?, ?, ?, 'confirmed', ?)",
            (f"{n:09d}", n % 100 + 1, n, int(time.time())),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return {"per_second": n / elapsed}


async def prepare_engine_db(
    db: str, key: str, patients: int
) -> tuple[str, list[int], dict[int, list[int]]]:
    async with bench_world(db, key) as world:
        await world.doctor(name="张建国", title="", specialty="")
        today = datetime.now(TZ).date()
        places = patients // 48 + 1  # 48 five-minute slots a morning
        sessions = [
            await world.session(today + timedelta(days=d), slot_minutes=5, places=places)
            for d in range(1, DAYS + 1)
        ]
        made = await register_patients(world.services, HOSPITAL, patients)
        token = await his_token(world.services, "bench")
        day_slots = [await slot_ids(world.services, s.id) for s in sessions]
        return token, [p.id for p in made], day_slots


def run_engine(folder: str, seconds: float, concurrency: int, patients: int) -> dict:
    db = os.path.join(folder, "guahao.db")
    key = Cipher.generate_key()
    token, patient_ids, day_slots = asyncio.run(prepare_engine_db(db, key, patients))
    rng = random.Random(7)

    def bodies():
        for slots in day_slots:  # day by day: each patient books once a day
            for p in patient_ids:
                yield {"slot_id": rng.choice(slots), "patient_id": p}

    with serving(engine_command(db), engine_env(key)) as (_proc, url):
        load = Load(
            f"{url}/api/v1/bookings",
            {"Authorization": f"Bearer {token}"},
            bodies(),
            seconds,
            concurrency,
        )
        elapsed = asyncio.run(load.run())
        result = load.summary(elapsed)
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
        result["commits"] = next(
            (
                float(line.split()[-1])
                for line in metrics.splitlines()
                if line.startswith("guahao_sqlite_write_batches ")
            ),
            float("nan"),
        )
        return result


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--patients", type=int, default=12000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="guahao-bench-") as folder:
        print(
            f"guahao booking benchmark: {args.seconds:g} s per run, "
            f"{args.concurrency} concurrent clients, {os.cpu_count()} cores"
        )
        bare = run_bare(args.seconds, args.concurrency)
        print(
            f"  bare aiohttp endpoint : {bare['per_second']:8.0f} req/s   "
            f"p50 {bare['p50_ms']:6.2f} ms  p99 {bare['p99_ms']:6.2f} ms"
        )
        raw = run_raw_sqlite(folder, min(args.seconds, 4))
        print(
            f"  raw sqlite3 txn loop  : {raw['per_second']:8.0f} bookings/s "
            "(one durable commit each)"
        )
        eng = run_engine(folder, args.seconds, args.concurrency, args.patients)
        print(
            f"  guahao POST /bookings : {eng['per_second']:8.0f} bookings/s  "
            f"p50 {eng['p50_ms']:6.2f} ms  p99 {eng['p99_ms']:6.2f} ms  statuses {eng['statuses']}"
        )
    ratio = eng["per_second"] / bare["per_second"]
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(
        f"  ratio to bare HTTP    : {ratio:6.1%}  (target >= {TARGET_RATIO:.0%}) {verdict};"
        f" {eng['per_second'] / raw['per_second']:.1f}x the one-commit-per-booking SQLite loop"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
