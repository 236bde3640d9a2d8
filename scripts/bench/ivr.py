"""The phone line under load: many concurrent simulated calls walking the booking path.

    .venv/bin/python scripts/bench/ivr.py [--calls 500] [--seconds 20] [--think 1.0]

Each simulated call does what a caller does, signed like Twilio signs: the incoming
webhook, then 1 (book) → card number → department → doctor → date → time → 1 (confirm),
with ``--think`` seconds (±50%) between key presses (a real caller takes several seconds
per step), then the status callback; a finished call is replaced by a new one, so
``--calls`` calls are always in progress. Printed: webhook p50/p99 latency and calls/s,
for `guahao serve` on a fresh SQLite file (synchronous=FULL) and, in the same run and
with the same client, for a bare aiohttp endpoint that parses the form and answers a
TwiML-sized body with no database (the ceiling). Then the same two flat out (no think
time, ``--flat-concurrency`` calls): the webhooks/s each can take on this machine.

Target (issue #3): webhook p99 < 20 ms at 500 concurrent calls.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking_core.kernel.pii import Cipher  # noqa: E402
from scripts.bench.common import (  # noqa: E402
    HOSPITAL,
    bench_world,
    engine_command,
    engine_env,
    register_patients,
    serving,
)

TOKEN = "bench-twilio-auth-token"
PUBLIC_URL = "https://ivr.bench.test"
TARGET_P99_MS = 20
MAX_PLACES = 500  # the most a slot may have; 96 slots hold every simulated caller
TZ = ZoneInfo("Asia/Shanghai")
DOCTORS = ["00868", "00869", "00870", "00871"]
BARE_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="{url}" finishOnKey="#" '
    'input="dtmf" method="POST" timeout="8"><Say language="cmn-CN" voice="Polly.Zhiyu">'
    "请输入三位科室代码，以井号键结束。听科室列表请按9。</Say></Gather>"
    '<Redirect method="POST">{url}&amp;e=timeout</Redirect></Response>'
)


# --- the bare ceiling: same requests, no database -------------------------------------------


def bare_server(port: int) -> None:
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        step = int(request.query.get("s", "0")) + 1
        url = f"{PUBLIC_URL}/twilio/voice/step?s={step}"
        text = BARE_TWIML.format(url=url)
        if form.get("Digits") == "1" and step > 6:
            text = text.replace("请输入三位科室代码", "预约成功")
        return web.Response(text=text, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/twilio/voice", answer)
    app.router.add_post("/twilio/voice/{tail:.*}", answer)
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- a hospital with room for every call -----------------------------------------------------


async def prepare(db: str, key: str, patients: int) -> tuple[list[dict], list[tuple]]:
    async with bench_world(db, key) as world:
        for work_no in DOCTORS:  # 医生<work_no>, 主任医师, 50元
            await world.doctor(work_no, specialty="")
        today = datetime.now(TZ).date()
        choices = []
        for offset in range(1, 4):
            day = today + timedelta(days=offset)
            for work_no in DOCTORS:  # 08:00-12:00 in half hours
                await world.session(day, work_no, places=MAX_PLACES)
                for minute in range(0, 240, 30):
                    at = clock_time(8 + minute // 60, minute % 60)
                    choices.append((work_no, day.strftime("%m%d"), at.strftime("%H%M")))
        made = await register_patients(world.services, HOSPITAL, patients)
        callers = [
            {"card": p.card_no, "phone": f"+86{13}{i % 10}{i:08d}"[:14]} for i, p in enumerate(made)
        ]
        return callers, choices


# --- simulated callers --------------------------------------------------------------------------


class Calls:
    def __init__(self, base: str, callers, choices, think: float, seconds: float, calls: int):
        self.base, self.callers, self.choices = base, iter(callers), choices
        self.think, self.seconds, self.calls = think, seconds, calls
        self.validator = RequestValidator(TOKEN)
        self.latencies: list[float] = []
        self.by_step: dict[str, list[float]] = {}
        self.errors = 0
        self.broken = 0
        self.completed = 0
        self.booked = 0
        self.sids = itertools.count(random.randrange(10**12))  # CallSids never repeat
        self.rng = random.Random(3)

    async def post(self, session, path: str, params: dict, step: str = "") -> ET.Element:
        sig = self.validator.compute_signature(PUBLIC_URL + path, params)
        t0 = time.perf_counter()
        async with session.post(
            self.base + path, data=params, headers={"X-Twilio-Signature": sig}
        ) as resp:
            body = await resp.read()
        if time.perf_counter() < self.deadline:
            self.latencies.append(time.perf_counter() - t0)
            self.by_step.setdefault(step, []).append(time.perf_counter() - t0)
        if resp.status != 200:
            self.errors += 1
            raise RuntimeError(f"{resp.status} {body[:200]!r}")
        return ET.fromstring(body)

    async def pause(self) -> None:
        if self.think:
            await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))

    async def one_call(self, session) -> bool:
        caller = next(self.callers, None)
        if caller is None:
            return False
        work_no, mmdd, hhmm = self.rng.choice(self.choices)
        sid = f"CA{next(self.sids):032d}"
        params = {
            "CallSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": caller["phone"],
            "To": "+8610",
        }
        doc = await self.post(session, "/twilio/voice", params, "incoming")
        steps = ("menu", "card", "dept", "doctor", "date", "time", "confirm")
        for step, digits in zip(
            steps, ("1", caller["card"], "101", work_no, mmdd, hhmm, "1"), strict=True
        ):
            await self.pause()
            gather = doc.find("./Gather")
            if gather is None:
                said = " ".join(el.text or "" for el in doc.iter("Say"))
                raise RuntimeError(f"no menu after {digits!r}: {said[:80]}")
            action = gather.get("action")
            doc = await self.post(
                session, action[len(PUBLIC_URL) :], params | {"Digits": digits}, step
            )
        if any("预约成功" in (s.text or "") for s in doc.iter("Say")):
            self.booked += 1
        await self.post(
            session,
            "/twilio/voice/status",
            params | {"CallStatus": "completed", "CallDuration": "60"},
            "status",
        )
        self.completed += 1
        return True

    async def caller_loop(self, session) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.think * 2))  # calls do not all start at once
        while time.perf_counter() < self.deadline:
            try:
                if not await self.one_call(session):
                    return
            except (RuntimeError, AttributeError) as err:  # an answer without the next menu
                self.broken += 1
                if self.broken <= 3:
                    print(f"    call broken: {err!r}", flush=True)
                if self.errors > 100:
                    return

    async def run(self) -> float:
        connector = aiohttp.TCPConnector(limit=self.calls)
        async with aiohttp.ClientSession(connector=connector) as session:
            self.deadline = time.perf_counter() + self.seconds
            started = time.perf_counter()
            await asyncio.gather(*(self.caller_loop(session) for _ in range(self.calls)))
            return time.perf_counter() - started

    def summary(self, elapsed: float) -> dict:
        lat = sorted(self.latencies)
        steps = {}
        for step, values in self.by_step.items():
            values.sort()
            steps[step] = (1000 * values[len(values) // 2], 1000 * values[int(len(values) * 0.99)])
        return {
            "steps": steps,
            "webhooks_per_second": len(lat) / elapsed,
            "calls_per_second": self.completed / elapsed,
            "p50_ms": 1000 * lat[len(lat) // 2] if lat else float("nan"),
            "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else float("nan"),
            "errors": self.errors,
            "broken": self.broken,
            "completed": self.completed,
            "booked": self.booked,
        }


def load(base, callers, choices, think, seconds, calls) -> dict:
    sim = Calls(base, callers, choices, think, seconds, calls)
    elapsed = asyncio.run(sim.run())
    return sim.summary(elapsed)


def serve_engine(db: str, key: str):
    env = engine_env(
        key,
        twilio_auth_token=TOKEN,
        public_url=PUBLIC_URL,
        ivr_hospital=HOSPITAL,
        log_level="WARNING",
    )
    return serving(engine_command(db), env)


def show(name: str, r: dict, by_step: bool = False) -> None:
    print(
        f"  {name:<22}: p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
        f"{r['webhooks_per_second']:7.0f} webhooks/s  {r['calls_per_second']:6.1f} calls/s  "
        f"(calls {r['completed']}, booked {r['booked']}, broken {r['broken']}, "
        f"errors {r['errors']})"
    )
    if by_step:
        print(
            "    by step (p50/p99 ms): "
            + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in r["steps"].items())
        )


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--calls", type=int, default=500, help="calls in progress at once")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--think", type=float, default=1.0, help="seconds between key presses")
    p.add_argument("--flat-concurrency", type=int, default=32)
    p.add_argument("--flat-seconds", type=float, default=8)
    p.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
        return 0

    calls_per_caller = args.seconds / (8 * max(args.think, 0.1)) + 2
    flat_calls = args.flat_concurrency * args.flat_seconds * 15  # ~ 2 calls/s each, flat out
    patients = int(args.calls * calls_per_caller + flat_calls)
    with tempfile.TemporaryDirectory() as folder:
        db = os.path.join(folder, "guahao.db")
        key = Cipher.generate_key()
        print(f"preparing {patients} patients ...", flush=True)
        callers, choices = asyncio.run(prepare(db, key, patients))
        paced_callers, flat_callers = callers[: patients // 2], callers[patients // 2 :]
        print(
            f"{args.calls} calls in progress, {args.think:.1f} s (±50%) between key presses, "
            f"{args.seconds:.0f} s:"
        )
        with serving([sys.executable, __file__, "--bare-server"]) as (_proc, url):
            bare = load(url, iter(paced_callers), choices, args.think, args.seconds, args.calls)
            show("bare aiohttp (ceiling)", bare)
            bare_flat = load(
                url, iter(flat_callers), choices, 0, args.flat_seconds, args.flat_concurrency
            )
        with serve_engine(db, key) as (_proc, url):
            eng = load(url, iter(paced_callers), choices, args.think, args.seconds, args.calls)
            show("guahao /twilio/voice", eng, by_step=True)
            print(
                f"flat out, {args.flat_concurrency} calls with no pause, {args.flat_seconds:.0f} s:"
            )
            show("bare aiohttp (ceiling)", bare_flat)
            eng_flat = load(
                url, iter(flat_callers), choices, 0, args.flat_seconds, args.flat_concurrency
            )
            show("guahao /twilio/voice", eng_flat)
    verdict = "met" if eng["p99_ms"] < TARGET_P99_MS else "NOT met"
    print(f"  target p99 < {TARGET_P99_MS} ms at {args.calls} calls: {verdict}")
    return 0 if eng["errors"] == 0 and eng["broken"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
