"""The demo's simulated modem: a text written into the FIFO reaches the engine over the
pty, and the answer the engine sends through the modem is printed."""

from __future__ import annotations

import asyncio
import dataclasses
import os

from aiohttp.test_utils import TestClient, TestServer

from booking_core.kernel.pii import Cipher
from engine import demo_modem
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES
from tests.support.world import World

PHONE = "13800130001"


async def test_a_text_into_the_fifo_is_answered_through_the_simulated_modem(
    tmp_path, clock, capsys
):
    settings = dataclasses.replace(
        load_settings(env={"GUAHAO_PII_KEY": Cipher.generate_key()}, overrides={}),
        db=str(tmp_path / "g.db"),
        modem_port=str(demo_modem.port_path(tmp_path)),
        modem_send_interval_seconds=0.0,
        sms_notices="modem",
    )
    app = build_app(settings, clock=clock)
    app.cleanup_ctx.insert(0, demo_modem.simulated_modem_ctx(tmp_path))
    async with TestClient(TestServer(app)) as client:
        world = World(client.app[SERVICES])
        await world.hospital()
        await world.patient("张三", phone_no=PHONE)
        fd = os.open(demo_modem.inbox_path(tmp_path), os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, f"{PHONE} CX\n".encode())
        os.close(fd)
        async with asyncio.timeout(10):
            while "[demo modem] text to 138****0001" not in capsys.readouterr().out:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    assert not demo_modem.inbox_path(tmp_path).exists()  # the FIFO goes with the demo
