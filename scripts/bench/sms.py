"""Inbound texts under load: Twilio's SMS webhook, flat out.

    .venv/bin/python scripts/bench/sms.py [--concurrency 32] [--seconds 8]

Each simulated patient texts as Twilio would deliver it (a signed form POST with a new
MessageSid): a booking code ``GHDH<工号>,<MMDDhhmm>,<姓名>`` (a durable booking), then
``CX`` (their bookings), and one in ten also ``KS`` (the departments). Printed: webhooks/s
and p50/p99 latency for `guahao serve` on a fresh SQLite file (synchronous=FULL, every
text and its reply stored) and, in the same run with the same client, for a bare aiohttp
endpoint that parses the form and answers a TwiML ``<Message>`` with no database (the
ceiling).
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
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking_core.kernel.pii import Cipher  # noqa: E402
from scripts.bench.common import (  # noqa: E402
    HOSPITAL,
    engine_command,
    engine_env,
    patient_name,
    serving,
)
from scripts.bench.ivr import prepare  # noqa: E402

TOKEN = "bench-twilio-auth-token"
PUBLIC_URL = "https://sms.bench.test"
BARE_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>预约成功 预约号123456789 '
    "7月15日08:30 心内科 医生00868 主任医师 挂号费50元 请按时就诊</Message></Response>"
)


def bare_server(port: int) -> None:
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=BARE_TWIML, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/twilio/sms", answer)
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Texts:
    def __init__(self, base: str, patients, choices, seconds: float, concurrency: int):
        self.base, self.patients, self.choices = base, patients, choices
        self.seconds, self.concurrency = seconds, concurrency
        self.validator = RequestValidator(TOKEN)
        self.latencies: list[float] = []
        self.errors = 0
        self.booked = 0
        self.sids = itertools.count(random.randrange(10**12))
        self.rng = random.Random(5)

    async def text(self, session, phone: str, body: str) -> str:
        params = {
            "MessageSid": f"SM{next(self.sids):032d}",
            "AccountSid": "AC" + "0" * 32,
            "From": phone,
            "To": "+8610",
            "Body": body,
            "NumSegments": "1",
        }
        sig = self.validator.compute_signature(PUBLIC_URL + "/twilio/sms", params)
        t0 = time.perf_counter()
        async with session.post(
            self.base + "/twilio/sms", data=params, headers={"X-Twilio-Signature": sig}
        ) as resp:
            answer = await resp.text()
        if time.perf_counter() < self.deadline:
            self.latencies.append(time.perf_counter() - t0)
        if resp.status != 200 or "<Message>" not in answer:
            self.errors += 1
        return answer

    async def patient_loop(self, session) -> None:
        while time.perf_counter() < self.deadline:
            patient = next(self.patients, None)
            if patient is None:
                return
            work_no, mmdd, hhmm = self.rng.choice(self.choices)
            answer = await self.text(
                session, patient["phone"], f"GHDH{work_no},{mmdd}{hhmm},{patient['name']}"
            )
            if "预约成功" in answer:
                self.booked += 1
            await self.text(session, patient["phone"], "CX")
            if self.rng.random() < 0.1:
                await self.text(session, patient["phone"], "KS")

    async def run(self) -> dict:
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            self.deadline = time.perf_counter() + self.seconds
            started = time.perf_counter()
            await asyncio.gather(*(self.patient_loop(session) for _ in range(self.concurrency)))
            elapsed = time.perf_counter() - started
        lat = sorted(self.latencies)
        return {
            "per_second": len(lat) / elapsed,
            "p50_ms": 1000 * lat[len(lat) // 2] if lat else float("nan"),
            "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else float("nan"),
            "errors": self.errors,
            "booked": self.booked,
            "texts": len(lat),
        }


def sms_env(key: str) -> dict:
    return engine_env(
        key,
        twilio_auth_token=TOKEN,
        public_url=PUBLIC_URL,
        sms_hospital=HOSPITAL,
        log_level="WARNING",
    )


def show(name: str, r: dict) -> None:
    print(
        f"  {name:<22}: {r['per_second']:7.0f} webhooks/s  p50 {r['p50_ms']:6.2f} ms  "
        f"p99 {r['p99_ms']:6.2f} ms  (texts {r['texts']}, booked {r['booked']}, "
        f"errors {r['errors']})",
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--concurrency", type=int, default=32, help="patients texting at once")
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
        return 0
    count = int(args.concurrency * args.seconds * 40) + 1000  # more than can be served
    with tempfile.TemporaryDirectory() as folder:
        db = os.path.join(folder, "guahao.db")
        key = Cipher.generate_key()
        print(f"preparing {count} patients ...", flush=True)
        callers, choices = asyncio.run(prepare(db, key, count))
        patients = [{"phone": c["phone"], "name": patient_name(i)} for i, c in enumerate(callers)]
        print(f"{args.concurrency} patients texting at once, no pause, {args.seconds:.0f} s:")
        with serving([sys.executable, __file__, "--bare-server"]) as (_proc, url):
            bare = asyncio.run(
                Texts(url, iter(patients), choices, args.seconds, args.concurrency).run()
            )
        show("bare aiohttp (ceiling)", bare)
        with serving(engine_command(db), sms_env(key)) as (_proc, url):
            eng = asyncio.run(
                Texts(url, iter(patients), choices, args.seconds, args.concurrency).run()
            )
        show("guahao /twilio/sms", eng)
    share = 100 * eng["per_second"] / bare["per_second"] if bare["per_second"] else 0
    print(f"  guahao takes {share:.0f} % of the bare ceiling's webhooks/s")
    return 0 if eng["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
