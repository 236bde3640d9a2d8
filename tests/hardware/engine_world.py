"""The hall for real: ``guahao serve`` as a process (SQLite file, or PostgreSQL) with
kiosks configured, a private mosquitto whose password file and ACL the engine writes (and
reloads by SIGHUP), the three device simulators on ptys and ``guahao-kiosk run`` as a
process, registered in the engine's registry like any kiosk.

The test process opens the same database (with the ``kiosk`` outbox consumer, so what it
writes reaches the engine's publisher as the console's writes would): it sets the hospital
up, reads what the engine recorded, and does what a desk would (re-print, cancel). Times
are real: today's session runs from the next half hour for an hour and a half, Beijing
time.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from booking_core import bookings, kiosks, payments
from booking_core.bus import BookingServices, bootstrap
from booking_core.kernel.actor import SYSTEM, Channel
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.schedule import Period
from booking_core.store import make_store
from hardware.hall.mosquitto import BrokerFiles, EngineAccount, password_hash
from hardware.simulators import CardReaderSimulator, CardTerminalSimulator
from tests.booking_core.kiosks.hall import jobs
from tests.hardware.kiosk_world import AgentProcess, HoldingPrinter
from tests.support.engine_process import EngineProcess
from tests.support.fixtures import TEST_PII_KEY
from tests.support.services import (
    PrivateBroker,
    ServiceError,
    service_missing,
    start_private_mosquitto,
)
from tests.support.world import World, resident_id, slot_ids

TZ = ZoneInfo("Asia/Shanghai")
ENGINE_USER, ENGINE_PASSWORD = "engine", "engine-secret-1"
KIOSK_PASSWORD = "kiosk-secret-1"
FEE = 5000  # the world's doctor's fee, in fen


async def eventually(
    check: Callable[[], Any], seconds: float = 15.0, what: str = "", logs: Callable[[], str] = str
) -> Any:
    """Wait until ``check()`` (sync or async) is true; its value."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {seconds} s: {what}\n{logs()}")
        await asyncio.sleep(0.05)


SLOT_MINUTES = 15
LAST_END = time_of_day(23, 55)  # today's session ends by then (sessions do not cross midnight)


def session_times() -> tuple[datetime, datetime]:
    """Today's session (Beijing): from the next five minutes on, for an hour and a half or
    until 23:55. In the last 40 minutes before Beijing's midnight (15:20-16:00 UTC) there is
    no room for one and the test is skipped, CI or not: the engine runs on the real clock,
    and a session cannot cross midnight."""
    now = datetime.now(TZ)
    start = (now + timedelta(minutes=3)).replace(second=0, microsecond=0)
    start += timedelta(minutes=(5 - start.minute % 5) % 5)
    end = min(start + timedelta(minutes=90), datetime.combine(now.date(), LAST_END, TZ))
    if end - start < timedelta(minutes=SLOT_MINUTES * 2):
        pytest.skip("too close to midnight in Beijing for a session today")
    return start, end


class HoldingTerminal(CardTerminalSimulator):
    """A terminal whose approvals can be held back: the money is taken (its journal says
    so) but the kiosk does not hear of it until :meth:`release`."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.hold_approvals = False
        self._held: list[tuple[str, ...]] = []

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def _answer(self, fields: tuple[str, ...]) -> None:
        if self.hold_approvals and fields and fields[0] == "APPROVED":
            self._held.append(fields)
            return
        super()._answer(fields)

    def release(self) -> None:
        self.hold_approvals = False
        held, self._held = self._held, []
        for fields in held:
            super()._answer(fields)


def write_agent_config(directory: Path, broker: PrivateBroker, kiosk_id: str) -> Path:
    (directory / "password").write_text(KIOSK_PASSWORD + "\n")
    lines = [
        f'kiosk_id = "{kiosk_id}"',
        'password_file = "password"',
        'state_dir = "state"',
        "",
        "[broker]",
        f'host = "{broker.host}"',
        f"port = {broker.port}",
        "tls = false",
    ]
    for name, link in (
        ("printer", "printer"),
        ("card_reader", "card-reader"),
        ("terminal", "card-terminal"),
    ):
        lines += ["", f"[{name}]", f'port = "{directory / link}"', "reconnect_seconds = 0.5"]
    path = directory / "kiosk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class EngineHall:
    tmp: Path
    db: str
    broker: PrivateBroker
    files: BrokerFiles
    engines: list[EngineProcess]
    agent: AgentProcess
    printer: HoldingPrinter
    reader: CardReaderSimulator
    terminal: HoldingTerminal
    services: BookingServices
    world: World
    kiosk_id: str
    today: list[int]  # today's slots
    tomorrow: list[int]  # tomorrow morning's slots
    patient: Any  # 李四, with a patient card
    id_number: str
    _patients: int = field(default=0)

    @property
    def engine(self) -> EngineProcess:
        return self.engines[0]

    @property
    def today_day(self) -> str:
        return datetime.now(TZ).date().isoformat()

    @property
    def state_dir(self) -> Path:
        return self.tmp / "state"

    def screen(self) -> str:
        try:
            return (self.state_dir / "screen.txt").read_text(encoding="utf-8")
        except OSError:
            return ""

    def logs(self) -> str:
        engines = "\n".join(f"--- engine {n}\n{e.log_tail(40)}" for n, e in enumerate(self.engines))
        return f"{engines}\n--- agent\n{self.agent.log()[-3000:]}"

    async def until(self, check: Callable[[], Any], seconds: float = 15.0, what: str = "") -> Any:
        return await eventually(check, seconds, what, self.logs)

    # --- what the tests read and do ---------------------------------------------------------

    async def job(self, job_id: str) -> kiosks.KioskJob:
        return await self.services.read(kiosks.kiosk_job, job_id, SYSTEM)

    async def jobs(self, **where: Any) -> list[kiosks.KioskJob]:
        return await jobs(self.services, **where)

    async def booking(self, booking_no: str) -> bookings.BookingView:
        return await self.services.read(bookings.get_booking, booking_no, SYSTEM)

    async def new_patient(self, name: str = "王五") -> Any:
        self._patients += 1
        return await self.world.patient(name, id_number=resident_id())

    async def confirmed_booking(self, patient: Any | None = None, slot: int = 0) -> str:
        """A booking of today, paid from the prepaid balance."""
        patient = patient or await self.new_patient()
        await self.services.handle(payments.TopUp(patient_id=patient.id, amount=FEE))
        view = await self.world.book(self.today[slot], patient.id, Channel.API)
        booking_no = view.booking.booking_no
        await self.services.handle(bookings.PayBooking(booking_no=booking_no, method="balance"))
        return booking_no

    async def kiosk_ready(self, *, devices: bool = True) -> None:
        """The engine recorded the kiosk online (with every device ok, unless ``devices``
        is false: with several engines a kiosk's statuses go to any of them, and one that
        says the same second's older thing may be recorded last, until the next status)."""

        async def ok() -> bool:
            [overview] = await self.services.read(kiosks.kiosks, SYSTEM)
            states = {d.device: d.state for d in overview.devices}
            return bool(overview.kiosk.online) and (
                not devices or states == {"printer": "ok", "card_reader": "ok", "terminal": "ok"}
            )

        await self.until(ok, 30, "the kiosk online in the engine with every device ok")

    async def job_ended(self, job_id: str, seconds: float = 20.0) -> kiosks.KioskJob:
        async def ended() -> kiosks.KioskJob | None:
            job = await self.job(job_id)
            return job if job.status in ("done", "failed") else None

        return await self.until(ended, seconds, f"job {job_id} acked in the engine")

    @asynccontextmanager
    async def as_kiosk(self) -> AsyncIterator[KioskClient]:
        """An MQTT client with the kiosk's user (what a vendor's kiosk software would send
        for the requests ``guahao-kiosk``'s own flow does not make: slots, book, top up)."""
        connect = Properties(PacketTypes.CONNECT)
        connect.SessionExpiryInterval = 600
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.kiosk_id,
            password=KIOSK_PASSWORD,
            identifier=f"{self.kiosk_id}-screen-{uuid.uuid4().hex[:4]}",
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=True,
            properties=connect,
        )
        async with client:
            root = f"guahao/v1/kiosk/{self.kiosk_id}"
            await client.subscribe(f"{root}/replies", qos=1)
            screen = KioskClient(client, root)
            reading = asyncio.create_task(screen.read())
            try:
                yield screen
            finally:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)


@dataclass
class KioskClient:
    client: aiomqtt.Client
    root: str
    replies: list[dict[str, Any]] = field(default_factory=list)

    async def read(self) -> None:
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            self.replies.append(json.loads(message.payload))

    async def send(self, kind: str, request_id: str = "", **fields: Any) -> str:
        request_id = request_id or str(uuid.uuid4())
        body = {"v": 1, "request_id": request_id, "kind": kind, **fields}
        await self.client.publish(f"{self.root}/requests", json.dumps(body), qos=1)
        return request_id

    def answers(self, request_id: str) -> list[dict[str, Any]]:
        return [r for r in self.replies if r.get("request_id") == request_id]

    async def ask(self, kind: str, seconds: float = 10.0, **fields: Any) -> dict[str, Any]:
        request_id = await self.send(kind, **fields)
        await eventually(lambda: self.answers(request_id), seconds, f"the reply to {kind}")
        return self.answers(request_id)[0]


async def seed(
    services: BookingServices,
) -> tuple[World, str, list[int], list[int], Any, str]:
    """H001 with today's session and tomorrow morning's, a patient (李四) and the kiosk: the
    world, the kiosk's id, today's and tomorrow's slot ids, the patient and their ID number."""
    start, end = session_times()
    period = Period.MORNING if start.hour < 12 else Period.AFTERNOON
    if start.hour >= 18:
        period = Period.EVENING
    world = World(services)
    await world.hospital()
    await world.department()
    await world.doctor()
    session = await world.session(
        start.date(),
        period=period,
        start=start.time(),
        end=end.time(),
        slot_minutes=SLOT_MINUTES,
        places=3,
    )
    tomorrow = await world.session(start.date() + timedelta(days=1), places=3)
    kiosk = await services.handle(
        kiosks.RegisterKiosk(
            hospital_code="H001",
            name="门诊大厅1号机",
            location="门诊楼一层",
            password_hash=password_hash(KIOSK_PASSWORD),
        )
    )
    id_number = resident_id()
    patient = await world.patient("李四", id_number=id_number)
    return (
        world,
        kiosk.kiosk_id,
        await slot_ids(services, session.id),
        await slot_ids(services, tomorrow.id),
        patient,
        id_number,
    )


def engine_env(
    tmp: Path, broker: PrivateBroker, files: BrokerFiles, client_id: str
) -> dict[str, str]:
    return {
        "GUAHAO_KIOSK_BROKER_URL": f"mqtt://{broker.host}:{broker.port}",
        "GUAHAO_KIOSK_BROKER_USER": ENGINE_USER,
        "GUAHAO_KIOSK_BROKER_PASSWORD": ENGINE_PASSWORD,
        "GUAHAO_KIOSK_BROKER_CLIENT_ID": client_id,
        "GUAHAO_KIOSK_BROKER_PASSWD_PATH": str(files.password_path),
        "GUAHAO_KIOSK_BROKER_ACL_PATH": str(files.acl_path),
        "GUAHAO_KIOSK_BROKER_PID_PATH": str(broker.pid_file),
        "GUAHAO_LOG_LEVEL": "INFO",
    }


@asynccontextmanager
async def engine_hall(tmp: Path, db: str, *, engines: int = 1) -> AsyncIterator[EngineHall]:
    """The whole hall, running; see the module docstring."""
    files = BrokerFiles(tmp / "passwd", tmp / "acl")
    files.write(EngineAccount(ENGINE_USER, ENGINE_PASSWORD), [])  # hospital IT's first files
    try:
        broker = start_private_mosquitto(
            tmp, password_file=files.password_path, acl_file=files.acl_path, persistence=True
        )
    except ServiceError as err:
        service_missing("mosquitto", str(err))
    store = make_store(db, SystemClock(), outbox_consumers=[kiosks.OUTBOX_CONSUMER])
    await store.open()
    services = bootstrap(store, Cipher.from_base64(TEST_PII_KEY))
    processes: list[EngineProcess] = []
    agent = AgentProcess(write_agent_config(tmp, broker, "k00000000"), tmp / "agent.log")
    try:
        world, kiosk_id, today, tomorrow, patient, id_number = await seed(services)
        write_agent_config(tmp, broker, kiosk_id)
        for n in range(engines):
            process = EngineProcess(db, TEST_PII_KEY, tmp / f"engine-{n}.log")
            process.env = engine_env(tmp, broker, files, f"guahao-test-engine-{n}")
            processes.append(process)
            await asyncio.to_thread(process.start)
        await eventually(
            lambda: kiosk_id in files.password_path.read_text(), 10, "the kiosk let in"
        )
        printer = HoldingPrinter(link=tmp / "printer")
        reader = CardReaderSimulator(link=tmp / "card-reader")
        terminal = HoldingTerminal(link=tmp / "card-terminal")
        async with printer, reader, terminal:
            agent.start()
            hall = EngineHall(
                tmp,
                db,
                broker,
                files,
                processes,
                agent,
                printer,
                reader,
                terminal,
                services,
                world,
                kiosk_id,
                today,
                tomorrow,
                patient,
                id_number,
            )
            await hall.kiosk_ready(devices=engines == 1)
            try:
                yield hall
            finally:
                await asyncio.to_thread(agent.stop)
    finally:
        agent.stop()
        for process in processes:
            await asyncio.to_thread(process.stop)
        await store.close()
        broker.stop()
