"""A hospital hall for the devices screen's tests (and the browser test and screenshots):
hospital ``code`` with a session this afternoon (the clock stands at 2026-07-10 09:00
Beijing), two kiosks and what they did:

- 门诊大厅1号机 (``main``): online, its printer out of paper, its terminal with a reversal of
  its own to send; a ticket that failed (paper out), one printed, one sent and not yet
  acknowledged, and a card charge that came after its hold ended, so a reversal of it is
  queued (money waiting);
- 二楼2号机 (``upstairs``): registered, never seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from booking_core import kiosks
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Channel
from booking_core.rules import RuleKey
from booking_core.schedule import Period
from tests.booking_core.helpers import set_rule
from tests.support.world import World, slot_ids

TODAY = date(2026, 7, 10)
HASH = "$7$101$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5"  # a broker hash as the console would make it
FEE = 5000  # the world's doctor 00868, in fen
REF = "100000000001"


@dataclass
class Hall:
    code: str
    main: str  # kiosk ids
    upstairs: str
    failed_ticket: str  # job ids
    printed_ticket: str
    unacked_ticket: str
    charge: str
    reversal: str
    failed_booking: str  # the booking of the failed ticket (checked in)


async def hall(services: BookingServices, code: str, clock) -> Hall:
    world = World(services, code)
    session = await world.basic(
        TODAY, places=4, period=Period.AFTERNOON, start=time(14, 0), end=time(17, 0)
    )
    slots = await slot_ids(services, session.id)

    async def register(name: str, location: str) -> str:
        kiosk = await services.handle(
            kiosks.RegisterKiosk(
                hospital_code=code, name=name, location=location, password_hash=HASH
            )
        )
        return kiosk.kiosk_id

    main = await register("门诊大厅1号机", "门诊楼一层")
    upstairs = await register("二楼2号机", "门诊楼二层")
    await services.handle(
        kiosks.RecordKioskStatus(
            kiosk_id=main,
            online=True,
            devices={
                "printer": {"state": "paper_out", "reason": "paper sensor"},
                "card_reader": {"state": "ok"},
                "terminal": {"state": "ok", "pending_reversals": 1},
            },
        )
    )

    async def check_in(slot: int, name: str) -> tuple[str, str]:
        patient = await world.patient(name)
        booked = await world.book(slot, patient.id, Channel.API)
        booking_no = booked.booking.booking_no
        done = await services.handle(kiosks.CheckInAtKiosk(kiosk_id=main, booking_no=booking_no))
        await services.handle(kiosks.MarkJobSent(job_id=done.job.job_id))
        return booking_no, done.job.job_id

    async def ack(job_id: str, outcome: str = "done", **kw) -> kiosks.JobAcked:
        return await services.handle(
            kiosks.RecordJobAck(kiosk_id=main, job_id=job_id, outcome=outcome, **kw)
        )

    failed_booking, failed = await check_in(slots[0], "李四")
    await ack(failed, "failed", reason="paper_out", message="paper sensor")
    _, printed = await check_in(slots[1], "王五")
    await ack(printed)
    _, unacked = await check_in(slots[2], "赵六")

    await set_rule(services, RuleKey.PREPAY_REQUIRED, True, hospital=code)
    payer = await world.patient("钱七")
    held = await world.book(slots[3], payer.id, Channel.API)
    charge = await services.handle(
        kiosks.PayAtKiosk(kiosk_id=main, booking_no=held.booking.booking_no)
    )
    await services.handle(kiosks.MarkJobSent(job_id=charge.job_id))
    clock.advance(minutes=15, seconds=3)  # approved at the last second, acked after the hold
    acked = await ack(charge.job_id, detail={"terminal_ref": REF, "amount": FEE})
    reversal = next(j for j in acked.queued if j.kind == kiosks.JobKind.REVERSAL)
    return Hall(code, main, upstairs, failed, printed, unacked, charge.job_id, reversal.job_id,
                failed_booking)  # fmt: skip
