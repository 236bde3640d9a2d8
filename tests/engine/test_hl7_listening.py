"""The engine's HL7 listener (#13): off unless configured; with ``hl7_listen_port`` the
engine listens when it starts, a check-in sent by the HIS as SIU^S14 over MLLP checks the
booking in through the engine's own core, and the port is closed when the engine stops."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date

import pytest
from hl7.mllp import open_hl7_connection

from booking_core import bookings
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.pii import Cipher
from engine.app import build_app
from engine.config import load_settings
from engine.hl7_listening import hl7_listening_ctx
from engine.keys import SERVICES
from hospital_api.hl7.mllp import field_text
from tests.support.world import World, first_slot, local

KEY = Cipher.generate_key()
DAY = date(2026, 7, 11)


def settings_for(db: str, **extra):
    base = load_settings(env={"GUAHAO_PII_KEY": KEY}, overrides={"db": db})
    return dataclasses.replace(base, **extra)


def test_no_listener_unless_configured(tmp_path):
    app = build_app(settings_for(str(tmp_path / "g.db")))
    assert hl7_listening_ctx not in app.cleanup_ctx


async def test_the_engine_takes_a_window_check_in_over_mllp(
    aiohttp_client, tmp_path, clock, unused_tcp_port
):
    settings = settings_for(
        str(tmp_path / "g.db"),
        hl7_listen_port=unused_tcp_port,
        hl7_listen_hospital="H001",
        hl7_listen_peers=("127.0.0.0/8",),
    )
    app = build_app(settings, clock=clock)
    assert hl7_listening_ctx in app.cleanup_ctx
    client = await aiohttp_client(app)
    services = app[SERVICES]
    world = World(services)
    session = await world.basic(DAY)
    patient = await world.patient()
    view = await world.book(await first_slot(services, session.id), patient.id)
    no = view.booking.booking_no
    clock.set(local(2026, 7, 11, 7, 45))

    reader, writer = await open_hl7_connection("127.0.0.1", unused_tcp_port, encoding="utf-8")
    message = (
        "MSH|^~\\&|HIS|H001|GUAHAO|H001|20260711074500+0800||SIU^S14^SIU_S12|REG-1|P|2.5.1\r"
        f"SCH|{no}^HIS|||||checked_in^已取号^GUAHAO\r"
    )
    writer.writeblock(message.encode("utf-8"))
    await writer.drain()
    async with asyncio.timeout(5):
        ack = await reader.readmessage()
    writer.close()
    assert (field_text(ack, "MSA", 1), field_text(ack, "MSA", 2)) == ("AA", "REG-1")
    done = (await services.read(bookings.get_booking, no, SYSTEM)).booking
    assert (done.status, done.queue_no) == ("checked_in", 1)

    await client.close()  # the engine stops: so does the listener
    with pytest.raises(ConnectionRefusedError):
        await open_hl7_connection("127.0.0.1", unused_tcp_port)
