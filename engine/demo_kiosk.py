"""The demo's kiosk (自助机) in the hospital hall: a private mosquitto, the three simulated
devices on pseudo-terminals and the real kiosk agent (``guahao-kiosk``), each its own
process, as on a hospital LAN.

:func:`prepare` registers the kiosk in the demo's hospital, writes the broker's password
file and ACL (with the engine's own :class:`~hardware.hall.mosquitto.BrokerFiles`, which the
engine then keeps), the broker's configuration and the agent's, and returns the settings
that point the engine at the broker. :func:`kiosk_ctx` starts the processes ahead of the
engine and stops them after it. Without mosquitto installed the demo runs without a kiosk
and says how to get one.

What a patient does is typed into files, as on the real agent's test screen::

    echo '1087204225' > .demo/kiosk/card.in            swipe a patient card
    cat .demo/kiosk/state/screen.txt                   what the screen shows
    echo 1 > .demo/kiosk/state/touch.in                touch the first choice

Each printed ticket is drawn as ``.demo/kiosk/tickets/ticket-0001.png``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from booking_core import kiosks
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor
from edge.mosquitto import new_password, password_hash
from hardware.hall.mosquitto import BrokerFiles, EngineAccount

log = logging.getLogger(__name__)

ENGINE_USER = "engine"
PASSWORD_ENV = "GUAHAO_KIOSK_BROKER_PASSWORD_FILE"
KIOSK_NAME = "门诊大厅1号机"
KIOSK_LOCATION = "门诊楼一层大厅"
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0


def find_mosquitto() -> str | None:
    """mosquitto on PATH, or where Debian puts it (/usr/sbin is not on a user's PATH)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


@dataclass(frozen=True)
class DemoKiosk:
    folder: Path  # <demo dir>/kiosk
    kiosk_id: str
    broker_port: int
    mosquitto: str

    @property
    def devices(self) -> Path:
        """The simulators' links, their card.in FIFO and the drawn tickets."""
        return self.folder

    @property
    def state(self) -> Path:
        return self.folder / "state"

    @property
    def broker(self) -> Path:
        return self.folder / "broker"

    def settings(self) -> dict[str, Any]:
        """The engine's settings for this broker (its password is in PASSWORD_ENV's file)."""
        return {
            "kiosk_broker_url": f"mqtt://127.0.0.1:{self.broker_port}",
            "kiosk_broker_user": ENGINE_USER,
            "kiosk_broker_passwd_path": str(self.broker / "passwd"),
            "kiosk_broker_acl_path": str(self.broker / "acl"),
            "kiosk_broker_pid_path": str(self.broker / "mosquitto.pid"),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _secret(path: Path, value: str) -> Path:
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


async def prepare(services: BookingServices, folder: Path, actor: Actor) -> DemoKiosk | None:
    """Register the demo kiosk and write every file its processes read; None (and nothing
    done) when mosquitto is not installed."""
    mosquitto = find_mosquitto()
    if mosquitto is None:
        return None
    base = folder / "kiosk"
    shutil.rmtree(base, ignore_errors=True)  # a fresh demo database: a fresh kiosk
    kiosk_password = new_password()
    kiosk_hash = password_hash(kiosk_password)
    kiosk = await services.handle(
        kiosks.RegisterKiosk(
            hospital_code="H001",
            name=KIOSK_NAME,
            location=KIOSK_LOCATION,
            password_hash=kiosk_hash,
            actor=actor,
        )
    )
    demo = DemoKiosk(base, kiosk.kiosk_id, free_port(), mosquitto)
    for part in (demo.state, demo.broker):
        part.mkdir(parents=True, mode=0o700)
    engine_password = new_password()
    os.environ[PASSWORD_ENV] = str(_secret(base / "engine.password", engine_password))
    BrokerFiles(demo.broker / "passwd", demo.broker / "acl").write(
        EngineAccount(ENGINE_USER, engine_password), [(kiosk.kiosk_id, kiosk_hash)]
    )
    (demo.broker / "mosquitto.conf").write_text(
        "# written by guahao demo: the hall's broker, for this machine only\n"
        "per_listener_settings false\n"
        f"listener {demo.broker_port} 127.0.0.1\n"
        "allow_anonymous false\n"
        f"password_file {demo.broker / 'passwd'}\n"
        f"acl_file {demo.broker / 'acl'}\n"
        f"pid_file {demo.broker / 'mosquitto.pid'}\n"
        "persistence false\n"
        "log_dest stdout\n" + ("user root\n" if os.geteuid() == 0 else "")
        # as root mosquitto would become its own user, who cannot read the demo's files
    )
    password_file = _secret(base / "kiosk.password", kiosk_password)
    device_ports = {
        "printer": demo.devices / "printer",
        "card_reader": demo.devices / "card-reader",
        "terminal": demo.devices / "card-terminal",
    }
    sections = "".join(
        f"\n[{device}]\nport = {json.dumps(str(port))}\nreconnect_seconds = 1.0\n"
        for device, port in device_ports.items()
    )
    (base / "kiosk.toml").write_text(
        "# written by guahao demo: the demo kiosk's agent (every key: docs/kiosk.md)\n"
        f'kiosk_id = "{kiosk.kiosk_id}"\n'
        f"password_file = {json.dumps(str(password_file))}\n"
        f"state_dir = {json.dumps(str(demo.state))}\n"
        f'\n[broker]\nhost = "127.0.0.1"\nport = {demo.broker_port}\ntls = false\n' + sections
    )
    return demo


def kiosk_ctx(demo: DemoKiosk) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that starts the broker, the devices and the agent (put it before
    the engine's own, so the broker listens when the engine connects) and stops them after
    the engine has stopped."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        started: list[asyncio.subprocess.Process] = []
        logs = []
        try:
            broker_log = (demo.folder / "mosquitto.log").open("ab")
            logs.append(broker_log)
            started.append(
                await asyncio.create_subprocess_exec(
                    demo.mosquitto,
                    "-c",
                    str(demo.broker / "mosquitto.conf"),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=broker_log,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C stops the engine; it stops the broker after
                )
            )
            await _wait_for(lambda: _listening(demo.broker_port), "the kiosks' broker")
            # the devices print what they print here; typed lines (paper-out …) reach them,
            # so they stay in the terminal's process group (and stop on Ctrl-C with it)
            started.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "hardware.simulators", str(demo.devices)
                )
            )
            links = [demo.devices / name for name in ("printer", "card-reader", "card-terminal")]
            await _wait_for(lambda: all(link.exists() for link in links), "the kiosk's devices")
            agent_log = (demo.folder / "agent.log").open("ab")
            logs.append(agent_log)
            started.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "hardware.agent",
                    "run",
                    "--config",
                    str(demo.folder / "kiosk.toml"),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=agent_log,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,  # stopped by the engine, after its own link
                )
            )
            yield
        finally:
            for process in reversed(started):
                await _stop(process)
            for file in logs:
                file.close()

    return ctx


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


async def _wait_for(ready: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_SECONDS
    while not ready():
        if loop.time() > deadline:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(0.05)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
