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
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking_core import catalogue, operators, schedule  # noqa: E402
from booking_core.bus import bootstrap  # noqa: E402
from booking_core.kernel.clock import SystemClock  # noqa: E402
from booking_core.kernel.pii import Cipher  # noqa: E402
from booking_core.kernel.unit import rows  # noqa: E402
from booking_core.schedule import Period  # noqa: E402
from booking_core.store import make_store  # noqa: E402
from hospital_api.auth import hash_token, new_token  # noqa: E402
from scripts.bench.common import free_port, register_patients, wait_healthy  # noqa: E402

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
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts/bench/bare_server.py"), "--port", str(port)]
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        bodies = ({"slot_id": 1, "patient_id": i} for i in range(10**9))
        load = Load(f"{url}/api/v1/bookings", {}, bodies, seconds, concurrency)
        elapsed = asyncio.run(load.run())
        return load.summary(elapsed)
    finally:
        proc.terminate()
        proc.wait()


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
    store = make_store(db, SystemClock())
    await store.open()
    services = bootstrap(store, Cipher.from_base64(key))
    try:
        await services.handle(catalogue.UpsertHospital(code="H001", name="基准医院"))
        await services.handle(
            catalogue.UpsertDepartment(hospital_code="H001", code="101", name="心内科")
        )
        await services.handle(
            catalogue.UpsertDoctor(
                hospital_code="H001",
                work_no="00868",
                department_code="101",
                name="张建国",
                fee=5000,
            )
        )
        today = datetime.now(TZ).date()
        places = patients // 48 + 1  # 48 five-minute slots a morning
        for offset in range(1, DAYS + 1):
            await services.handle(
                schedule.CreateSession(
                    hospital_code="H001",
                    doctor_work_no="00868",
                    day=today + timedelta(days=offset),
                    period=Period.MORNING,
                    start=clock_time(8, 0),
                    end=clock_time(12, 0),
                    slot_minutes=5,
                    places_per_slot=places,
                )
            )
        made = await register_patients(services, "H001", patients)
        token = new_token()
        await services.handle(
            operators.CreateToken(
                name="bench", role="his", hospital_code="H001", token_hash=hash_token(token)
            )
        )

        def slots_by_day(tx):
            found = yield rows(
                "SELECT sl.id, se.day FROM slots sl JOIN sessions se ON se.id = sl.session_id"
            )
            out: dict[str, list[int]] = {}
            for r in found:
                out.setdefault(r["day"], []).append(r["id"])
            return list(out.values())

        return token, [p.id for p in made], await store.read(slots_by_day)
    finally:
        await store.close()


def run_engine(folder: str, seconds: float, concurrency: int, patients: int) -> dict:
    db = os.path.join(folder, "guahao.db")
    key = Cipher.generate_key()
    token, patient_ids, day_slots = asyncio.run(prepare_engine_db(db, key, patients))
    rng = random.Random(7)

    def bodies():
        for slots in day_slots:  # day by day: each patient books once a day
            for p in patient_ids:
                yield {"slot_id": rng.choice(slots), "patient_id": p}

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUAHAO_")}
    env["GUAHAO_PII_KEY"] = key
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", "--db", db, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
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
    finally:
        proc.terminate()
        proc.wait()


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
