"""The three-door race: N bookers at once for a few places, through the API, the phone
line and texts, against a real engine process, on SQLite and on PostgreSQL.

    .venv/bin/python scripts/bench/race.py [--bookers 999] [--places 10]
        [--stores sqlite,postgres] [--pg-dsn postgresql://…] [--budget-ivr 2.5]

A third of the bookers are HIS clients (``POST /api/v1/bookings`` with an Idempotency-Key),
a third callers (signed voice webhooks; each call is first walked to the confirmation step,
then every caller presses 1 at once), a third texters (one signed SMS webhook with a booking
code). All race requests leave together. Printed per door: decided (a booking or a refusal
the person can act on), booked, busy ("系统繁忙" / 503), texted later (the SMS door's "the
result will be texted"), p50/p99 of the race request; beside them the same requests to a
bare aiohttp server in the same run (the ceiling). Then the check of issue #9 item 4, from
the database: bookings made for a booker who was told "busy" (must be 0), and bookings
nobody was told of (texted-later bookings count as told once their reply is queued).

With no ``--pg-dsn`` a private PostgreSQL is started from the binaries on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking_core.kernel.pii import Cipher  # noqa: E402
from booking_core.kernel.unit import rows  # noqa: E402
from scripts.bench.common import (  # noqa: E402
    HOSPITAL,
    bench_world,
    engine_command,
    engine_env,
    his_token,
    patient_name,
    pct,
    register_patients,
    services_on,
    serving,
)
from tests.support.world import first_slot  # noqa: E402

TOKEN = "bench-twilio-auth-token"
PUBLIC_URL = "https://race.bench.test"
TZ = ZoneInfo("Asia/Shanghai")
BUSY_VOICE = "系统繁忙"
SMS_BUSY = "系统繁忙，您的短信未能处理"
SMS_LATER = "结果将稍后以短信告知"
CLIENT_TIMEOUT_SECONDS = 15  # what Twilio waits for a webhook; the HIS client the same
WALK_CONCURRENCY = 50  # calls walked to the confirmation step at once before the race
DIGITS = "零一二三四五六七八九"
SPOKEN_NUMBER = re.compile("(?:[零一二三四五六七八九]，){8}[零一二三四五六七八九]")


# --- set-up -----------------------------------------------------------------------------------


async def prepare(db: str, key: str, bookers: int, places: int) -> dict:
    async with bench_world(db, key) as world:
        await world.doctor(name="医生甲", specialty="")
        day = datetime.now(TZ).date() + timedelta(days=1)
        session = await world.session(day, end=clock_time(8, 30), places=places)  # one slot
        slot_id = await first_slot(world.services, session.id)
        made = await register_patients(world.services, HOSPITAL, bookers)
        token = await his_token(world.services, "race")
        patients = [
            {
                "id": p.id,
                "card": p.card_no,
                "phone": f"13{i % 10}{i:08d}"[:11],
                "name": patient_name(i),
            }
            for i, p in enumerate(made)
        ]
        return {
            "slot_id": slot_id,
            "mmdd": day.strftime("%m%d"),
            "token": token,
            "patients": patients,
        }


async def outcome_in_db(db: str, key: str) -> dict:
    """Booked patient ids, and the texts whose reply was queued to be sent (texted later)."""

    def q(tx):
        booked = yield rows("SELECT patient_id, booking_no FROM bookings")
        queued = yield rows(
            "SELECT booking_no FROM messages WHERE direction = 'out' AND kind = 'reply' "
            "AND status <> 'sent'"
        )
        return {r["patient_id"]: r["booking_no"] for r in booked}, [r["booking_no"] for r in queued]

    async with services_on(db, key) as services:
        return await services.read(q)


# --- the bookers ------------------------------------------------------------------------------


class Race:
    def __init__(self, base: str, setup: dict, bare: bool, pid: int) -> None:
        self.base, self.setup, self.bare, self.pid = base, setup, bare, pid
        self.cpu_seconds = 0.0  # the server's CPU time during the race itself
        self.validator = RequestValidator(TOKEN)
        self.sids = itertools.count(1)
        self.results: dict[str, list[tuple[str, float, int]]] = {"api": [], "ivr": [], "sms": []}

    def signed(self, path: str, params: dict) -> dict:
        return {"X-Twilio-Signature": self.validator.compute_signature(PUBLIC_URL + path, params)}

    async def voice(self, session, path: str, params: dict) -> ET.Element:
        async with session.post(
            self.base + path, data=params, headers=self.signed(path, params)
        ) as resp:
            return ET.fromstring((await resp.text()).encode())

    async def walk_call(self, session, patient: dict, sid: str) -> str:
        """Incoming call → 1 → card → 101 → 00868 → MMDD → 0800: the confirm step's path."""
        params = {"CallSid": sid, "From": "+86" + patient["phone"], "To": "+8610"}
        doc = await self.voice(session, "/twilio/voice", params)
        for digits in ("1", patient["card"], "101", "00868", self.setup["mmdd"], "0800"):
            gather = doc.find("./Gather")
            if gather is None:
                raise RuntimeError("the call left the booking path: " + ET.tostring(doc, "unicode"))
            path = gather.get("action")[len(PUBLIC_URL) :]
            doc = await self.voice(session, path, {**params, "Digits": digits})
        return doc.find("./Gather").get("action")[len(PUBLIC_URL) :]

    async def api(self, session, patient: dict, go: asyncio.Event) -> None:
        body = {"slot_id": self.setup["slot_id"], "patient_id": patient["id"]}
        headers = {
            "Authorization": f"Bearer {self.setup['token']}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        await go.wait()
        t0 = time.perf_counter()
        try:
            async with session.post(
                self.base + "/api/v1/bookings", json=body, headers=headers
            ) as resp:
                status = resp.status
                await resp.read()
        except TimeoutError:
            status = 0
        took = time.perf_counter() - t0
        kind = {201: "booked", 409: "refused", 422: "refused"}.get(status, "busy")
        self.results["api"].append((kind, took, patient["id"]))

    async def ivr(self, session, patient: dict, path: str, sid: str, go: asyncio.Event) -> None:
        params = {"CallSid": sid, "From": "+86" + patient["phone"], "To": "+8610", "Digits": "1"}
        await go.wait()
        t0 = time.perf_counter()
        try:
            doc = await self.voice(session, path, params)
            said = " ".join(el.text or "" for el in doc.iter("Say"))
        except TimeoutError:
            said = BUSY_VOICE
        took = time.perf_counter() - t0
        if BUSY_VOICE in said:
            kind = "busy"
        elif SPOKEN_NUMBER.search(said) or "预约成功" in said:
            kind = "booked"
        else:
            kind = "refused"
        self.results["ivr"].append((kind, took, patient["id"]))

    async def sms(self, session, patient: dict, go: asyncio.Event) -> None:
        params = {
            "MessageSid": f"SM{next(self.sids):032d}",
            "From": "+86" + patient["phone"],
            "To": "+8610",
            "Body": f"GHDH00868,{self.setup['mmdd']}0800,{patient['name']}",
        }
        headers = self.signed("/twilio/sms", params)
        await go.wait()
        t0 = time.perf_counter()
        try:
            async with session.post(self.base + "/twilio/sms", data=params, headers=headers) as r:
                reply = await r.text()
        except TimeoutError:
            reply = SMS_BUSY
        took = time.perf_counter() - t0
        if SMS_BUSY in reply:
            kind = "busy"
        elif SMS_LATER in reply:
            kind = "later"
        elif "预约成功" in reply:
            kind = "booked"
        else:
            kind = "refused"
        self.results["sms"].append((kind, took, patient["id"]))

    async def run(self) -> dict:
        patients = self.setup["patients"]
        third = len(patients) // 3
        api_p, ivr_p, sms_p = patients[:third], patients[third : 2 * third], patients[2 * third :]
        timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_SECONDS)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            sids = [f"CA{uuid.uuid4().hex}" for _ in ivr_p]
            if self.bare:
                paths = ["/twilio/voice/step?s=7"] * len(ivr_p)
            else:
                gate = asyncio.Semaphore(WALK_CONCURRENCY)

                async def walk(p, sid):
                    async with gate:
                        return await self.walk_call(session, p, sid)

                paths = await asyncio.gather(
                    *(walk(p, s) for p, s in zip(ivr_p, sids, strict=True))
                )
            go = asyncio.Event()
            tasks = [
                *(self.api(session, p, go) for p in api_p),
                *(
                    self.ivr(session, p, path, sid, go)
                    for p, path, sid in zip(ivr_p, paths, sids, strict=True)
                ),
                *(self.sms(session, p, go) for p in sms_p),
            ]
            running = [asyncio.ensure_future(t) for t in tasks]
            await asyncio.sleep(0.2)  # every booker waiting at the gate
            before = cpu_seconds(self.pid)
            go.set()
            await asyncio.gather(*running)
            self.cpu_seconds = cpu_seconds(self.pid) - before
        return self.results


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- servers ----------------------------------------------------------------------------------


def bare_server(port: int) -> None:
    """The ceiling: each race request parsed and answered with a small body, no database."""
    from aiohttp import web

    async def api(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({"booking_no": "123456789"}, status=201)

    async def twiml(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(
            text="<Response><Say>预约成功</Say><Message>预约成功</Message></Response>",
            content_type="text/xml",
        )

    app = web.Application()
    app.router.add_post("/api/v1/bookings", api)
    app.router.add_post("/twilio/{tail:.*}", twiml)
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@contextmanager
def serve(command: list[str], env: dict | None = None):
    """:func:`serving` with the server's log in a file of the temp directory, not in the
    report."""
    with (
        tempfile.NamedTemporaryFile("w", prefix="race-", suffix=".log", delete=False) as log,
        serving(command, env, timeout=60, stderr=log) as (proc, url),
    ):
        yield proc, url


def race_env(key: str) -> dict:
    return engine_env(
        key,
        twilio_auth_token=TOKEN,
        public_url=PUBLIC_URL,
        sms_hospital=HOSPITAL,
        ivr_hospital=HOSPITAL,
        log_level="ERROR",
        hold_sweep_seconds="3600",
        no_show_sweep_seconds="3600",
    )


def show(name: str, results: dict, cpu: float) -> None:
    bookers = sum(len(found) for found in results.values())
    print(f"  {name}: server CPU {cpu:.2f} s in the race, {1000 * cpu / bookers:.2f} ms a booker")
    for door, found in results.items():
        kinds = [k for k, _, _ in found]
        took = [t for _, t, _ in found]
        booked, refused = kinds.count("booked"), kinds.count("refused")
        print(
            f"    {door:<4} {len(found):4d} bookers: decided {booked + refused:4d}"
            f"  booked {booked:3d}"
            f"  busy {kinds.count('busy'):4d}  texted later {kinds.count('later'):4d}"
            f"  p50 {pct(took, 0.5):7.1f} ms  p99 {pct(took, 0.99):7.1f} ms",
            flush=True,
        )


def check(results: dict, booked_in_db: dict, queued: list[str]) -> int:
    """Item 4's promise, from the database: returns the number of broken promises."""
    told = {}
    for found in results.values():
        for kind, _, patient_id in found:
            told[patient_id] = kind
    lies = [p for p, no in booked_in_db.items() if told.get(p) == "busy"]
    untold = [
        p
        for p, no in booked_in_db.items()
        if (told.get(p) == "later" and no not in queued) or told.get(p) == "refused"
    ]
    print(
        f"    bookings {len(booked_in_db)}; made for a booker told busy: {len(lies)}; "
        f"made and never told: {len(untold)}",
        flush=True,
    )
    return len(lies) + len(untold)


def one_store(label: str, db: str, args) -> int:
    key = Cipher.generate_key()
    setup = asyncio.run(prepare(db, key, args.bookers, args.places))
    print(f"{label}: {args.bookers} bookers for {args.places} places", flush=True)
    with serve([sys.executable, __file__, "--bare-server"]) as (proc, url):
        bare_race = Race(url, setup, bare=True, pid=proc.pid)
        bare = asyncio.run(bare_race.run())
    show("bare aiohttp (ceiling)", bare, bare_race.cpu_seconds)
    with serve(engine_command(db), race_env(key)) as (proc, url):
        race = Race(url, setup, bare=False, pid=proc.pid)
        results = asyncio.run(race.run())
        time.sleep(args.settle)  # texted-later replies are queued by now
    show("guahao", results, race.cpu_seconds)
    booked_in_db, queued = asyncio.run(outcome_in_db(db, key))
    return check(results, booked_in_db, queued)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--bookers", type=int, default=999)
    p.add_argument("--places", type=int, default=10)
    p.add_argument("--stores", default="sqlite,postgres")
    p.add_argument("--pg-dsn", help="an empty PostgreSQL database (default: a private server)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds for late replies")
    p.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
        return 0
    broken = 0
    with tempfile.TemporaryDirectory() as folder:
        if "sqlite" in args.stores:
            broken += one_store("SQLite", os.path.join(folder, "race.db"), args)
        if "postgres" in args.stores:
            if args.pg_dsn:
                broken += one_store("PostgreSQL", args.pg_dsn, args)
            else:
                from tests.support.services import (
                    create_database,
                    start_private_postgres,
                )

                pg = start_private_postgres(Path(folder) / "pg")
                try:
                    broken += one_store("PostgreSQL", create_database(pg.dsn), args)
                finally:
                    pg.stop()
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
