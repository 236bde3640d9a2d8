"""What the benchmarks share: a server started on a free port and stopped, the engine's
command and environment, the services over a bench database with its hospital (built by
the tests' World builder), a HIS token, registering many patients."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO

from stdnum.cn import ric

from booking_core import operators, patients
from booking_core.bus import BookingServices, bootstrap
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from hospital_api.auth import hash_token, new_token
from tests.support.world import World

ROOT = Path(__file__).resolve().parents[2]
HOSPITAL = "H001"
REGISTER_BATCH = 2000  # patients registered concurrently (the SQLite store group-commits them)


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds; nan for none."""
    values = sorted(values)
    return 1000 * values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


@contextmanager
def serving(
    command: list[str],
    env: dict[str, str] | None = None,
    *,
    timeout: float = 30,
    stderr: IO[str] | None = None,
) -> Iterator[tuple[subprocess.Popen, str]]:
    """``command`` run from the repository with a free port as its last argument; the
    process and its URL once ``/healthz`` answers; stopped on leaving."""
    port = free_port()
    proc = subprocess.Popen(
        [*command, str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, timeout)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait()


def engine_command(db: str) -> list[str]:
    """``guahao serve`` on ``db``, waiting for its port (see :func:`serving`)."""
    return [sys.executable, "-m", "engine.cli", "serve", "--db", db, "--port"]


def engine_env(key: str, **settings: str) -> dict[str, str]:
    """This environment without its GUAHAO_ settings, with the PII key and ``settings``
    (``log_level="WARNING"`` is GUAHAO_LOG_LEVEL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUAHAO_")}
    return env | {"GUAHAO_PII_KEY": key} | {f"GUAHAO_{k.upper()}": v for k, v in settings.items()}


@asynccontextmanager
async def services_on(db: str, key: str) -> AsyncIterator[BookingServices]:
    """The booking services over the bench database, its store closed on leaving."""
    store = make_store(db, SystemClock())
    await store.open()
    try:
        yield bootstrap(store, Cipher.from_base64(key))
    finally:
        await store.close()


@asynccontextmanager
async def bench_world(db: str, key: str) -> AsyncIterator[World]:
    """The bench hospital H001 (基准医院) and its department 101 (心内科); the caller adds
    the doctors and sessions it needs through the World."""
    async with services_on(db, key) as services:
        world = World(services, HOSPITAL)
        await world.hospital(name="基准医院")
        await world.department()
        yield world


async def his_token(services: BookingServices, name: str) -> str:
    """A new HIS token of H001 (its hash stored through the services)."""
    token = new_token()
    await services.handle(
        operators.CreateToken(
            name=name, role="his", hospital_code=HOSPITAL, token_hash=hash_token(token)
        )
    )
    return token


def id_number(i: int) -> str:
    """A valid, distinct resident ID number for bench patient ``i`` (i < 80,000)."""
    body = f"110105{1940 + i // 1000 % 80}0101{i % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def patient_name(i: int) -> str:
    """A distinct name for bench patient ``i`` without digits (names cannot have them)."""
    return "患者" + "".join("零一二三四五六七八九"[int(d)] for d in str(i))


async def register_patients(services: BookingServices, hospital_code: str, count: int) -> list:
    made = []
    for start in range(0, count, REGISTER_BATCH):
        made += await asyncio.gather(
            *(
                services.handle(
                    patients.RegisterPatient(
                        hospital_code=hospital_code,
                        name=patient_name(i),
                        id_number=id_number(i),
                        phone=f"13{i % 10}{i:08d}"[:11],
                    )
                )
                for i in range(start, min(start + REGISTER_BATCH, count))
            )
        )
    return made
