"""A kiosk as the end-to-end tests see it: a private mosquitto with passwords and the ACL of
docs/kiosk.md, the three device simulators on ptys, ``guahao-kiosk run`` as a real process,
and a fake engine (an aiomqtt client with the engine's rights) that publishes jobs and reads
acks, requests and status."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hardware.hall.mosquitto import acl_text
from hardware.simulators import CardReaderSimulator, CardTerminalSimulator, PrinterSimulator
from tests.support.services import (
    BrokerTls,
    PrivateBroker,
    ServiceError,
    service_missing,
    start_private_mosquitto,
)

REPO = Path(__file__).resolve().parents[2]
ENGINE, ENGINE_PASSWORD = "engine", "engine-secret-1"
KIOSK_A, KIOSK_B = "k0000000a", "k0000000b"
PASSWORDS = {ENGINE: ENGINE_PASSWORD, KIOSK_A: "kiosk-a-secret", KIOSK_B: "kiosk-b-secret"}
ROOT = "guahao/v1/kiosk"

ACL = acl_text(ENGINE)
"""The ACL the engine writes, which docs/kiosk.md tells hospital IT to install (a test
keeps the two the same)."""

TICKET = {
    "hospital": "首都医科大学附属北京安贞医院",
    "department": "心血管内科",
    "doctor": "张建国",
    "doctor_title": "主任医师",
    "room": "门诊楼3层 312诊室",
    "day": "2026-07-10",
    "start": "08:30",
    "end": "09:00",
    "queue_no": 12,
    "booking_no": "384759261",
    "masked_name": "李*",
    "fee": 5000,
    "paid_by": "银行卡 尾号0123",
}


def start_broker(tmp_path: Path, **options: Any) -> PrivateBroker:
    try:
        return start_private_mosquitto(tmp_path, users=PASSWORDS, acl=ACL, **options)
    except ServiceError as err:
        service_missing("mosquitto", str(err))


async def eventually(check: Callable[[], object], seconds: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {seconds} s: {what or check}")
        await asyncio.sleep(0.02)


def mqtt_client(broker: PrivateBroker, user: str, password: str | None = None, **kw: Any):
    connect = Properties(PacketTypes.CONNECT)
    connect.SessionExpiryInterval = 3600
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=user,
        password=PASSWORDS[user] if password is None else password,
        identifier=kw.pop("identifier", f"{user}-{uuid.uuid4().hex[:6]}"),
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=connect,
        **kw,
    )


@dataclass
class Received:
    kiosk: str
    leaf: str
    payload: Any  # the JSON, or the raw bytes when it is none
    connection: int  # which of the engine's connections received it


class FakeEngine:
    """The engine's side of the protocol, reconnecting like the real one will."""

    def __init__(self, broker: PrivateBroker) -> None:
        self.broker = broker
        self.received: list[Received] = []
        self.connections = 0
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FakeEngine:
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(10):
            await self.connected.wait()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await self._task

    async def _run(self) -> None:
        identifier = f"engine-{uuid.uuid4().hex[:6]}"  # one persistent session for the test
        while True:
            try:
                async with mqtt_client(self.broker, ENGINE, identifier=identifier) as client:
                    for leaf in ("acks", "requests", "status"):
                        await client.subscribe(f"{ROOT}/+/{leaf}", qos=1)
                    self.connections += 1
                    self._client = client
                    self.connected.set()
                    async for message in client.messages:
                        _, _, _, kiosk, leaf = str(message.topic).split("/")
                        raw = message.payload
                        assert isinstance(raw, bytes)
                        try:
                            payload = json.loads(raw)
                        except ValueError:
                            payload = raw
                        self.received.append(Received(kiosk, leaf, payload, self.connections))
            except aiomqtt.MqttError:
                self._client = None
                self.connected.clear()
                await asyncio.sleep(0.2)

    async def publish(self, kiosk: str, leaf: str, payload: Any) -> None:
        async with asyncio.timeout(15):
            await self.connected.wait()
        assert self._client is not None
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await self._client.publish(f"{ROOT}/{kiosk}/{leaf}", data, qos=1)

    async def job(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        job_id: str = "",
        kiosk: str = KIOSK_A,
        **more: Any,
    ) -> str:
        job_id = job_id or f"J{uuid.uuid4().hex[:12]}"
        job = {"v": 1, "job_id": job_id, "kind": kind, "created_at": "2026-07-10T08:00:00+08:00"}
        await self.publish(kiosk, "jobs", job | {"payload": payload} | more)
        return job_id

    def of(self, leaf: str, kiosk: str = KIOSK_A) -> list[Any]:
        return [r.payload for r in self.received if r.leaf == leaf and r.kiosk == kiosk]

    def acks(self, job_id: str) -> list[dict[str, Any]]:
        return [a for a in self.of("acks") if isinstance(a, dict) and a.get("job_id") == job_id]

    async def ack(self, job_id: str, seconds: float = 15.0) -> dict[str, Any]:
        await eventually(lambda: self.acks(job_id), seconds, f"an ack of {job_id}")
        return self.acks(job_id)[0]

    def status(self, kiosk: str = KIOSK_A) -> dict[str, Any] | None:
        statuses = self.of("status", kiosk)
        return statuses[-1] if statuses else None

    def device(self, name: str, kiosk: str = KIOSK_A) -> str | None:
        status = self.status(kiosk)
        if not status or not status.get("online"):
            return None
        return status["devices"].get(name, {}).get("state")

    async def request(self, kind: str, nth: int = 0, seconds: float = 15.0) -> dict[str, Any]:
        def found() -> list[dict[str, Any]]:
            return [r for r in self.of("requests") if isinstance(r, dict) and r["kind"] == kind]

        await eventually(lambda: len(found()) > nth, seconds, f"a {kind} request")
        return found()[nth]

    async def reply(self, request: dict[str, Any], **body: Any) -> None:
        reply = {"v": 1, "request_id": request["request_id"], "ok": True} | body
        await self.publish(KIOSK_A, "replies", reply)


@dataclass
class AgentProcess:
    """``guahao-kiosk run`` (as ``python -m hardware.agent run``) on the kiosk's config."""

    config: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUAHAO_")}
        env["PYTHONPATH"] = str(REPO)
        env |= self.env
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hardware.agent", "run", "--config", str(self.config)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def count(self, text: str) -> int:
        return self.log().count(text)


def write_config(
    directory: Path,
    broker: PrivateBroker,
    kiosk: str = KIOSK_A,
    *,
    ca_file: Path | None = None,
    **devices: str,
) -> Path:
    (directory / "password").write_text(PASSWORDS[kiosk] + "\n")
    lines = [
        f'kiosk_id = "{kiosk}"',
        'password_file = "password"',
        'state_dir = "state"',
        "",
        "[broker]",
        f'host = "{broker.host}"',
        f"port = {broker.port}",
        f'tls = true\nca_file = "{ca_file}"' if ca_file else "tls = false",
    ]
    for name, port in devices.items():
        lines += ["", f"[{name}]", f'port = "{port}"', "reconnect_seconds = 0.5"]
    path = directory / "kiosk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class HoldingPrinter(PrinterSimulator):
    """A printer whose answer to the status query after a job can be held back (for up to
    the driver's 2 s): the job is then in hand, printed but not finished."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.hold_after_next_job = False
        self.holding = False
        self._held: list[int] = []

    def _cut(self) -> None:
        super()._cut()
        if self.hold_after_next_job:
            self.hold_after_next_job, self.holding = False, True

    def _status(self, n: int) -> None:
        if self.holding:
            self._held.append(n)
            return
        super()._status(n)

    def release(self) -> None:
        self.holding = False
        held, self._held = self._held, []
        for n in held:
            super()._status(n)


@dataclass
class KioskWorld:
    tmp: Path
    broker: PrivateBroker
    engine: FakeEngine
    agent: AgentProcess
    printer: HoldingPrinter
    reader: CardReaderSimulator
    terminal: CardTerminalSimulator

    @property
    def state_dir(self) -> Path:
        return self.tmp / "state"

    def screen(self) -> str:
        try:
            return (self.state_dir / "screen.txt").read_text(encoding="utf-8")
        except OSError:
            return ""

    def touch(self, line: str) -> None:
        fd = os.open(self.state_dir / "touch.in", os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, line.encode() + b"\n")
        finally:
            os.close(fd)

    async def ready(self, seconds: float = 20.0) -> None:
        """The agent is connected and every device reported ok."""
        names = ("printer", "card_reader", "terminal")

        def ok() -> bool:
            return all(self.engine.device(name) == "ok" for name in names)

        try:
            await eventually(ok, seconds, "the kiosk online with every device ok")
        except AssertionError as err:
            raise AssertionError(f"{err}\n{self.agent.log()[-3000:]}") from None


def make_tls(directory: Path, name: str = "ca") -> BrokerTls:
    """A CA of our own and a certificate it signed for 127.0.0.1 (PEM files)."""
    now = datetime.now(UTC)

    def cert(subject: str, key, issuer: x509.Name, issuer_key, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"guahao test {name}")])
    ca_cert = cert(f"guahao test {name}", ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = cert("127.0.0.1", server_key, ca_name, ca_key, ca=False)
    tls = BrokerTls(
        directory / f"{name}.pem",
        directory / f"{name}-server.pem",
        directory / f"{name}-server.key",
    )
    tls.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    tls.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    tls.key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tls
