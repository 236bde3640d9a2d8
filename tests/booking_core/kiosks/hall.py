"""The hospital hall the kiosk tests share: H001 with a session this afternoon (so a
booking of it can be checked in now: the clock stands at 2026-07-10 09:00 Beijing) and one
tomorrow, a registered kiosk and a patient; and what the tests read back (jobs, the
ledger, a booking's columns) and send (a kiosk's acks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from booking_core import bookings, kiosks
from booking_core.bus import BookingServices
from booking_core.kernel.actor import SYSTEM as ENGINE
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import one, rows, val
from booking_core.rules import RuleKey
from booking_core.schedule import Period
from tests.booking_core.helpers import events, set_rule
from tests.support.world import World, resident_id, slot_ids

TODAY = date(2026, 7, 10)
TOMORROW = date(2026, 7, 11)
FEE = 5000  # the world's doctor 00868
HASH = "$7$101$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5"  # a broker hash as the door would make it


@dataclass
class Hall:
    services: BookingServices
    world: World
    kiosk: kiosks.Kiosk
    patient: Any  # patients.Patient (李四)
    id_number: str  # the patient's
    today: list[int]  # this afternoon's slots (14:00-17:00)
    tomorrow: list[int]  # tomorrow morning's slots (08:00-12:00)

    async def book(self, slot_id: int | None = None, patient=None):
        view = await self.world.book(
            slot_id or self.today[0], (patient or self.patient).id, Channel.API
        )
        return view.booking.booking_no

    async def ack(self, job_id: str, outcome: str = "done", kiosk_id: str | None = None, **kw):
        return await self.services.handle(
            kiosks.RecordJobAck(
                kiosk_id=kiosk_id or self.kiosk.kiosk_id, job_id=job_id, outcome=outcome, **kw
            )
        )

    async def charge_done(self, job: kiosks.KioskJob, ref: str = "100000000001", **kw):
        detail = {"terminal_ref": ref, "amount": job.amount, "card": "6222********0123"}
        detail.update(kw)
        return await self.ack(job.job_id, detail=detail)


async def hall(services: BookingServices, *, prepay: bool = False, places: int = 2) -> Hall:
    world = World(services)
    this_afternoon = await world.basic(
        TODAY, places=places, period=Period.AFTERNOON, start=time(14, 0), end=time(17, 0)
    )
    tomorrow = await world.session(TOMORROW, places=places)
    if prepay:
        await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    kiosk = await services.handle(
        kiosks.RegisterKiosk(
            hospital_code="H001", name="门诊大厅1号机", location="门诊楼一层", password_hash=HASH
        )
    )
    id_number = resident_id()
    patient = await world.patient("李四", id_number=id_number)
    return Hall(
        services,
        world,
        kiosk,
        patient,
        id_number,
        await slot_ids(services, this_afternoon.id),
        await slot_ids(services, tomorrow.id),
    )


async def jobs(services, **where: Any) -> list[kiosks.KioskJob]:
    """Every job (oldest first) whose columns equal ``where`` (kind, kiosk_id, status …)."""

    def q(tx):
        clause = " AND ".join(f"{k} = ?" for k in where) or "1 = 1"
        found = yield rows(
            f"SELECT job_id FROM kiosk_jobs WHERE {clause} ORDER BY id", *where.values()
        )
        return [r["job_id"] for r in found]

    return [
        await services.read(kiosks.kiosk_job, job_id, ENGINE)
        for job_id in await services.store.read(q)
    ]


async def booking_row(services, booking_no: str) -> dict:
    def q(tx):
        return dict((yield one("SELECT * FROM bookings WHERE booking_no = ?", booking_no)))

    return await services.store.read(q)


async def ledger(services) -> list[tuple[str, str, int, str | None]]:
    """(kind, method, amount, reference) of every ledger row, in order."""

    def q(tx):
        found = yield rows("SELECT kind, method, amount, reference FROM ledger ORDER BY id")
        return [(r["kind"], r["method"], r["amount"], r["reference"]) for r in found]

    return await services.store.read(q)


async def balance(services, patient_id: int) -> int:
    def q(tx):
        return (yield val("SELECT balance FROM patients WHERE id = ?", patient_id))

    return await services.store.read(q)


async def topics_since(services, after: int) -> list[str]:
    return [e.topic for e in await events(services, after)]


async def queued_events(services, after: int = 0) -> list[Any]:
    """The payloads of kiosk.job_queued events after event ``after``."""
    return [e.payload for e in await events(services, after) if e.topic == "kiosk.job_queued"]


async def status_of(services, booking_no: str) -> str:
    view = await services.read(bookings.get_booking, booking_no, ENGINE)
    return str(view.booking.status)
