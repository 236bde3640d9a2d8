"""What the benchmarks share: ports, waiting for a server, registering many patients."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import urllib.request

from stdnum.cn import ric

from booking_core import patients
from booking_core.bus import BookingServices

REGISTER_BATCH = 2000  # patients registered concurrently (the SQLite store group-commits them)


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
