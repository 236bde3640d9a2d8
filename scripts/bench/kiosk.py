"""The 07:30 rush at the kiosks: many kiosks checking patients in at once, over MQTT.

    .venv/bin/python scripts/bench/kiosk.py [--kiosks 200] [--patients 5] [--store sqlite|URL]

Every kiosk is an MQTT client in this process with its own user name and password, under
the ACL the engine writes (docs/kiosk.md), on a private mosquitto; all start at the same
instant and check in their patients one after another, as the real agent does: ``swipe``
(request → reply), ``check_in`` (request → reply), the ``print_ticket`` job arrives, the
kiosk acks it ``done`` (the printing itself, a second on a real printer, is not counted).

Printed, for ``guahao serve`` (SQLite file by default, or a PostgreSQL URL) and, in the same
run on the same broker with the same kiosks, for a bare responder (one MQTT client on the
engine's shared subscriptions that answers each request at once and sends the job on a
check-in: the MQTT round trips with no engine, the ceiling): check-ins per second, and p50
/ p99 / max from the swipe to the ticket's job at the kiosk.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time as clock
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
from paho.mqtt.client import MQTTv5

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking_core import bookings, kiosks  # noqa: E402
from booking_core.kernel.actor import Channel  # noqa: E402
from booking_core.kernel.pii import Cipher  # noqa: E402
from booking_core.schedule import Period  # noqa: E402
from edge.mosquitto import password_hash  # noqa: E402
from hardware import protocol  # noqa: E402
from hardware.hall.mosquitto import BrokerFiles, EngineAccount  # noqa: E402
from scripts.bench.common import (  # noqa: E402
    HOSPITAL,
    bench_world,
    engine_command,
    engine_env,
    register_patients,
    serving,
)
from tests.support.services import start_private_mosquitto  # noqa: E402
from tests.support.world import slot_ids  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
ENGINE_USER = "engine"
SHARE = "$share/guahao/"
WAIT_SECONDS = 30.0  # a reply or a job later than this is a failure, not a latency
TICKET = {  # what the engine's print_ticket job carries, for the bare responder to send
    "hospital": "基准医院",
    "department": "心血管内科",
    "doctor": "张建国",
    "doctor_title": "主任医师",
    "room": "门诊楼3层 312诊室",
    "day": "2026-07-10",
    "start": "08:30",
    "end": "08:45",
    "queue_no": 12,
    "booking_no": "384759261",
    "masked_name": "李*",
    "fee": 5000,
    "paid_by": "未支付",
}


@dataclass
class KioskPlan:
    kiosk_id: str
    password: str
    patients: list[tuple[str, str]]  # card number, booking number


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- the data: a hospital, kiosks, patients booked for today --------------------------------


async def prepare(db: str, key: str, kiosk_count: int, per_kiosk: int) -> list[KioskPlan]:
    """Kiosks of H001 and ``per_kiosk`` patients each, every one booked (confirmed, to pay
    at the hospital) in a clinic running all of today, so each swipe finds one booking to
    check in."""
    async with bench_world(db, key) as world:
        services = world.services
        await world.doctor(fee=5000)
        today = datetime.now(TZ).date()
        total = kiosk_count * per_kiosk
        # bookings close when a clinic starts: this one starts 20 minutes from now and runs
        # to 23:45, and check-in is open until it ends
        start = (datetime.now(TZ) + timedelta(minutes=20)).replace(second=0, microsecond=0)
        start = start.replace(minute=start.minute - start.minute % 15)
        end = time(23, 45)
        if start.date() != today or start.time() >= time(23, 0):
            raise SystemExit("run the kiosk bench before 22:40 hospital time (sessions end 23:45)")
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        session = await world.session(
            today,
            period=Period.EVENING,
            start=start.time(),
            end=end,
            slot_minutes=15,
            places=-(-total // (minutes // 15)),
        )
        slots = await slot_ids(services, session.id)
        people = await register_patients(services, HOSPITAL, total)
        booked = await asyncio.gather(
            *(
                services.handle(
                    bookings.BookSlot(
                        slot_id=slots[i % len(slots)], patient_id=p.id, channel=Channel.SMS
                    )
                )
                for i, p in enumerate(people)
            )
        )
        plans = []
        for k in range(kiosk_count):
            password = uuid.uuid4().hex
            kiosk = await services.handle(
                kiosks.RegisterKiosk(
                    hospital_code=HOSPITAL,
                    name=f"大厅{k + 1}号机",
                    password_hash=password_hash(password),
                )
            )
            mine = range(k * per_kiosk, (k + 1) * per_kiosk)
            plans.append(
                KioskPlan(
                    kiosk.kiosk_id,
                    password,
                    [(people[i].card_no, booked[i].booking.booking_no) for i in mine],
                )
            )
        return plans


# --- a kiosk ---------------------------------------------------------------------------------


class BenchKiosk:
    """One kiosk's MQTT side, as the agent does it, without devices or a screen."""

    def __init__(self, plan: KioskPlan, host: str, port: int) -> None:
        self.plan = plan
        self.client = aiomqtt.Client(
            host,
            port,
            identifier=plan.kiosk_id,
            username=plan.kiosk_id,
            password=plan.password,
            protocol=MQTTv5,
            keepalive=30,
        )
        self.replies: dict[str, asyncio.Future[protocol.Reply]] = {}
        self.jobs: asyncio.Queue[protocol.Job] = asyncio.Queue()

    async def run(self, start: asyncio.Event, result: Result) -> None:
        kiosk_id = self.plan.kiosk_id
        async with self.client:
            await self.client.subscribe(protocol.topic(kiosk_id, protocol.REPLIES), qos=1)
            await self.client.subscribe(protocol.topic(kiosk_id, protocol.JOBS), qos=1)
            reader = asyncio.create_task(self._read())
            online = protocol.status("bench", datetime.now(TZ), {})
            await self.client.publish(
                protocol.topic(kiosk_id, protocol.STATUS), protocol.dump(online), qos=1, retain=True
            )
            try:
                await start.wait()
                for card_no, booking_no in self.plan.patients:
                    began = clock.perf_counter()
                    try:
                        await self._check_in(card_no, booking_no)
                    except Exception as err:  # counted, and the next patient steps up
                        result.failures.append(f"{kiosk_id}: {type(err).__name__}: {err}")
                    else:
                        result.latencies.append(clock.perf_counter() - began)
            finally:
                reader.cancel()

    async def _check_in(self, card_no: str, booking_no: str) -> None:
        card = {"type": "patient_card", "card_no": card_no}
        t0 = clock.perf_counter()
        swiped = await self._ask("swipe", card=card)
        PHASES["swipe"].append(clock.perf_counter() - t0)
        if not swiped.ok:
            raise RuntimeError(f"swipe refused: {swiped.body.get('code')}")
        found = [b["booking_no"] for b in swiped.body.get("bookings", [])]
        if booking_no not in found:
            raise RuntimeError(f"the swipe did not find booking {booking_no}: {found}")
        t0 = clock.perf_counter()
        checked = await self._ask("check_in", booking_no=booking_no)
        PHASES["check_in"].append(clock.perf_counter() - t0)
        t0 = clock.perf_counter()
        if not checked.ok:
            raise RuntimeError(f"check_in refused: {checked.body.get('code')}")
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                job = await self.jobs.get()
                await self.client.publish(
                    protocol.topic(self.plan.kiosk_id, protocol.ACKS),
                    protocol.dump(protocol.ack_done(job.job_id)),
                    qos=1,
                )
                if job.kind == "print_ticket" and job.payload.get("booking_no") == booking_no:
                    PHASES["job"].append(clock.perf_counter() - t0)
                    return

    async def _ask(self, kind: str, **fields: Any) -> protocol.Reply:
        request_id = str(uuid.uuid4())
        answer = self.replies[request_id] = asyncio.get_running_loop().create_future()
        try:
            await self.client.publish(
                protocol.topic(self.plan.kiosk_id, protocol.REQUESTS),
                protocol.dump(protocol.request(request_id, kind, **fields)),
                qos=1,
            )
            async with asyncio.timeout(WAIT_SECONDS):
                return await answer
        finally:
            self.replies.pop(request_id, None)

    async def _read(self) -> None:
        async for message in self.client.messages:
            leaf = str(message.topic).rsplit("/", 1)[-1]
            data = bytes(message.payload)  # type: ignore[arg-type]
            if leaf == protocol.REPLIES:
                reply = protocol.read_reply(data)
                waiting = None
                if isinstance(reply, protocol.Reply):
                    waiting = self.replies.get(reply.request_id)
                if waiting is not None and not waiting.done():
                    waiting.set_result(reply)
            elif leaf == protocol.JOBS:
                job = protocol.read_job(data)
                if isinstance(job, protocol.Job):
                    self.jobs.put_nowait(job)


async def rush(plans: list[KioskPlan], host: str, port: int) -> Result:
    """Every kiosk connected, then all released at once; the run's wall time and latencies."""
    result = Result()
    start = asyncio.Event()
    kiosks_ = [BenchKiosk(plan, host, port) for plan in plans]
    tasks = [asyncio.create_task(k.run(start, result)) for k in kiosks_]
    await asyncio.sleep(2.0 + len(plans) / 100)  # connected and subscribed (and seen online)
    began = clock.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    result.seconds = clock.perf_counter() - began
    return result


# --- the ceiling: a bare responder ------------------------------------------------------------


async def bare_responder(host: str, port: int, password: str, ready: asyncio.Event) -> None:
    """Answers every request at once (a swipe with the booking its card was given; a
    check-in with a queue number and then the ticket's job), on the engine's shared
    subscriptions and rights: MQTT with no engine behind it."""
    async with aiomqtt.Client(
        host, port, identifier="bench-bare", username=ENGINE_USER, password=password,
        protocol=MQTTv5,
    ) as client:  # fmt: skip
        topic = f"{SHARE}{protocol.ROOT}/+/{protocol.REQUESTS}"
        await client.subscribe(topic, qos=1)
        await client.subscribe(f"{SHARE}{protocol.ROOT}/+/{protocol.ACKS}", qos=1)
        ready.set()
        sent: set[asyncio.Task[None]] = set()
        serial = 0

        async def answer(kiosk_id: str, request: protocol.Request) -> None:
            nonlocal serial
            fields = request.fields
            if request.kind == "swipe":
                card_no = fields["card"]["card_no"]
                booked = [{"booking_no": BOOKED[card_no], "status": "confirmed"}]
                patient = {"masked_name": "患*", "card_no": card_no}
                body = {"ok": True, "patient": patient, "bookings": booked}
            else:
                body = {"ok": True, "queue_no": 1}
            await client.publish(
                protocol.topic(kiosk_id, protocol.REPLIES),
                protocol.dump(protocol.reply(request.request_id, body)),
                qos=1,
            )
            if request.kind == "check_in":
                serial += 1
                job = protocol.job(
                    f"bare{serial}",
                    "print_ticket",
                    TICKET | {"booking_no": fields["booking_no"]},
                    created_at=datetime.now(TZ),
                )
                await client.publish(
                    protocol.topic(kiosk_id, protocol.JOBS), protocol.dump(job), qos=1
                )

        async for message in client.messages:
            parsed = protocol.parse_topic(str(message.topic))
            if parsed is None or parsed[1] != protocol.REQUESTS:
                continue
            request = protocol.read_request(bytes(message.payload))  # type: ignore[arg-type]
            if isinstance(request, protocol.Request):
                task = asyncio.create_task(answer(parsed[0], request))
                sent.add(task)
                task.add_done_callback(sent.discard)


PHASES: dict[str, list[float]] = {"swipe": [], "check_in": [], "job": []}  # seconds, per step
BOOKED: dict[str, str] = {}  # card number → booking number, for the bare responder


# --- the run ---------------------------------------------------------------------------------


def report(name: str, result: Result, expected: int) -> None:
    done = len(result.latencies)
    ms = sorted(x * 1000 for x in result.latencies) or [0.0]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"{name:<34} {done:>5}/{expected:<5} check-ins in {result.seconds:6.2f} s = "
        f"{done / result.seconds if result.seconds else 0:7.1f}/s   swipe→ticket job "
        f"p50 {statistics.median(ms):6.1f} ms  p99 {p99:6.1f} ms  max {ms[-1]:6.1f} ms"
    )
    parts = []
    for phase, xs in PHASES.items():
        if xs:
            parts.append(f"{phase} p50 {statistics.median(xs) * 1000:.0f} ms")
        xs.clear()
    print(f"{'':<34} of which: " + ", ".join(parts) + " (swipe, check_in: request → reply; "
          "job: the check-in's reply → its print_ticket job)")  # fmt: skip
    for failure in result.failures[:5]:
        print(f"    failed: {failure}")
    if len(result.failures) > 5:
        print(f"    … and {len(result.failures) - 5} more failures")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--patients", type=int, default=5, help="check-ins per kiosk")
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgresql:// URL")
    args = parser.parse_args()
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # paho counting its queued publishes
    key = Cipher.generate_key()
    with tempfile.TemporaryDirectory(prefix="guahao-kiosk-bench-") as tmp:
        base = Path(tmp)
        db = str(base / "bench.db") if args.store == "sqlite" else args.store
        t0 = clock.perf_counter()
        plans = await prepare(db, key, args.kiosks, args.patients)
        for plan in plans:
            BOOKED.update(plan.patients)
        print(
            f"prepared {args.kiosks} kiosks, {args.kiosks * args.patients} patients booked "
            f"for today in {clock.perf_counter() - t0:.1f} s ({args.store})"
        )
        engine_password = uuid.uuid4().hex
        files = BrokerFiles(base / "passwd", base / "acl")
        # the bench's kiosk hashes are made again here: the store keeps only its own copy
        files.write(
            EngineAccount(ENGINE_USER, engine_password),
            [(p.kiosk_id, password_hash(p.password)) for p in plans],
        )
        broker = start_private_mosquitto(base, password_file=files.password_path,
                                         acl_file=files.acl_path)  # fmt: skip
        try:
            expected = args.kiosks * args.patients
            ready = asyncio.Event()
            bare = asyncio.create_task(
                bare_responder(broker.host, broker.port, engine_password, ready)
            )
            await ready.wait()
            ceiling = await rush(plans, broker.host, broker.port)
            bare.cancel()
            print(f"{args.kiosks} kiosks × {args.patients} patients, one broker, "
                  f"{os.cpu_count()} cores")  # fmt: skip
            report("bare MQTT responder (ceiling)", ceiling, expected)
            env = engine_env(
                key,
                log_level="WARNING",
                kiosk_broker_url=f"mqtt://{broker.host}:{broker.port}",
                kiosk_broker_user=ENGINE_USER,
                kiosk_broker_password=engine_password,
            )
            with serving(engine_command(db), env, stderr=sys.stderr):
                await asyncio.sleep(2.0)  # the engine's link connected and subscribed
                engine = await rush(plans, broker.host, broker.port)
        finally:
            broker.stop()
    report(f"guahao serve ({'SQLite' if args.store == 'sqlite' else 'PostgreSQL'})", engine,
           expected)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
