"""A small world for the back-office tests: two hospitals, sessions with bookings, and
operators signed in through the console (JSON twins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from booking_core.bookings import BookSlot
from booking_core.bus import BookingServices
from booking_core.events import outbox
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.unit import val
from booking_core.schedule import Period
from tests.agent_console.helpers import Console, add_operator
from tests.support.world import World

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CLINIC_DAY = date(2026, 7, 11)  # the clock says 2026-07-10 09:00 in Beijing
NAMES = ("张三丰", "李四", "王五", "赵六")


@dataclass
class Hospital:
    code: str
    stopped_session: int = 0  # three bookings on it
    substitute: int = 0
    other_session: int = 0  # one booking, another day
    patients: list[Any] = field(default_factory=list)
    bookings: list[str] = field(default_factory=list)


def _first_free_slot(tx, session_id: int):
    return (
        yield val(
            "SELECT min(id) FROM slots WHERE session_id = ? AND booked < capacity", session_id
        )
    )


async def book(
    services: BookingServices,
    session_id: int,
    patient_id: int,
    channel: Channel = Channel.AGENT,
    actor: Actor = SYSTEM,
) -> str:
    slot_id = await services.read(_first_free_slot, session_id)
    booked = await services.handle(
        BookSlot(slot_id=slot_id, patient_id=patient_id, channel=channel, actor=actor)
    )
    return booked.booking.booking_no


async def hospital(services: BookingServices, code: str) -> Hospital:
    world = World(services)
    await world.hospital(code, f"医院{code}")
    await world.department("101", "心内科")
    await world.department("102", "呼吸科")
    await world.doctor("00868", "101")
    await world.doctor("00869", "101")
    await world.doctor("00870", "102")
    h = Hospital(code)
    h.stopped_session = (await world.session(CLINIC_DAY, "00868", places=2)).id
    h.substitute = (await world.session(CLINIC_DAY, "00869", places=2)).id
    h.other_session = (
        await world.session(date(2026, 7, 12), "00870", Period.AFTERNOON, places=2)
    ).id
    channels = (Channel.AGENT, Channel.IVR, Channel.SMS)
    for i, name in enumerate(NAMES):
        patient = await world.patient(name)
        h.patients.append(patient)
        if i < 3:
            h.bookings.append(await book(services, h.stopped_session, patient.id, channels[i]))
        else:
            h.bookings.append(await book(services, h.other_session, patient.id, Channel.KIOSK))
    return h


async def sign_in(browser, services, username: str, roles: tuple[str, ...], hospital: str | None):
    admin = any(r in ("hospital_admin", "platform_admin") for r in roles)
    await add_operator(services, username, roles, hospital, totp_secret=SECRET if admin else None)
    console: Console = await browser()
    await console.sign_in(username, secret=SECRET if admin else None)
    return console


async def events(services: BookingServices, *topics: str) -> list:
    found = await services.read(outbox.events)
    return [e for e in found if not topics or e.topic in topics]
