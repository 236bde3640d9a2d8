"""Release-storm throughput (放号风暴, issue 15), in process, on a SQLite file, beside its
ceiling measured in the same run.

    .venv/bin/python scripts/bench/release_storm.py [--patients 2000] [--requests 5000]
        [--places 100] [--seconds 10]

The same storm twice, each on its own doctor's session released at 07:30 (the clock frozen
at the release instant): ``patients`` patients, 5 % of them bots sending 20 requests each,
the others one or two, ``requests`` in all, every request sent at once through the bus.

1. ceiling: first come, first served (fair admission off): each request is a booking
   attempt (booked, or refused: full, already booked …);
2. fair: fair admission on (``--seconds``): each request is a cheap queued row, or a
   repeat answered "already queued"; then the draw, one unit serving every ticket.

Printed: requests answered per second for both, the draw's time, and for each the bots'
share of the places against their share of the patients. A fair request runs every rule a
booking runs (refused at once rather than texted later) plus the queue's look-ups, so it
answers a little slower than a first-come attempt; one run on the 2-core development box
(shared): ceiling 945/s, fair 785/s, the draw of 2,000 tickets 0.42 s; bots 10 % of the
places first come (twice their 5 % share), 6 % by lot.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking_core import bookings, catalogue, rules  # noqa: E402
from booking_core.bus import bootstrap  # noqa: E402
from booking_core.kernel.actor import Channel  # noqa: E402
from booking_core.kernel.clock import FrozenClock  # noqa: E402
from booking_core.kernel.pii import Cipher  # noqa: E402
from booking_core.kernel.unit import rows  # noqa: E402
from booking_core.rules import Rule, RuleKey  # noqa: E402
from booking_core.store import make_store  # noqa: E402
from tests.support.world import World, local, slot_ids  # noqa: E402

DAY = date(2026, 7, 17)  # released 2026-07-10 07:30 Beijing
RELEASE = local(2026, 7, 10, 7, 30)
BOT_SHARE, BOT_REQUESTS = 0.05, 20


def storm_of(patients: list[int], slots: list[int], total: int, seed: int) -> tuple[list, set]:
    pick = random.Random(seed)
    bots = set(pick.sample(patients, max(1, int(len(patients) * BOT_SHARE))))
    asks = [(b, slots[0]) for _ in range(BOT_REQUESTS) for b in bots]
    people = [p for p in patients if p not in bots]
    left = total - len(asks)
    twice = max(0, min(len(people), left - len(people)))
    asks += [(p, pick.choice(slots)) for p in people[:twice] for _ in range(2)]
    asks += [(p, pick.choice(slots)) for p in people[twice:]]
    return asks, bots


async def storm(services, asks) -> tuple[float, Counter]:
    async def one(patient_id: int, slot: int) -> str:
        try:
            await services.handle(
                bookings.BookSlot(slot_id=slot, patient_id=patient_id, channel=Channel.API)
            )
            return "booked"
        except Exception as err:
            return type(err).__name__

    started = time.perf_counter()
    answers = await asyncio.gather(*(one(p, s) for p, s in asks))
    return time.perf_counter() - started, Counter(answers)


async def winners(services, session_id: int) -> list[int]:
    def q(tx):
        found = yield rows(
            "SELECT patient_id FROM bookings WHERE session_id = ? AND status <> 'cancelled'",
            session_id,
        )
        return [r["patient_id"] for r in found]

    return await services.store.read(q)


async def main(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock(local(2026, 7, 9, 9, 0))
        store = make_store(str(Path(tmp) / "storm.db"), clock)
        await store.open()
        services = bootstrap(store, Cipher.from_base64(Cipher.generate_key()))
        try:
            world = World(services)
            await world.hospital(name="基准医院")
            await world.department()
            per_slot = max(1, args.places // 10)
            sessions = {}
            await world.department("102", "消化内科")  # one booking per department and day
            for work_no, department in (("00868", "101"), ("00869", "102")):
                await world.doctor(work_no, department)
                sessions[work_no] = await world.session(
                    DAY, work_no, slot_minutes=24, end=clock_time(12, 0), places=per_slot
                )
            patients = await world.patients(args.patients)
            clock.set(RELEASE)
            lines = []
            for name, work_no, fair in (("ceiling", "00868", False), ("fair", "00869", True)):
                seconds = args.seconds if fair else 0
                hospital = (await services.read(catalogue.hospital, "H001")).id
                await services.handle(
                    rules.SetRule(
                        rule=Rule(RuleKey.FAIR_ADMISSION_SECONDS, seconds, hospital_id=hospital)
                    )
                )
                session = sessions[work_no]
                slots = await slot_ids(services, session.id)
                asks, bots = storm_of(patients, slots, args.requests, seed=7)
                took, answers = await storm(services, asks)
                draw_took = 0.0
                if fair:
                    clock.set(RELEASE.replace(second=args.seconds))
                    started = time.perf_counter()
                    await services.handle(bookings.RunDraws())
                    draw_took = time.perf_counter() - started
                    clock.set(RELEASE)
                won = await winners(services, session.id)
                bot_places = sum(1 for p in won if p in bots)
                lines.append(
                    f"{name:8} {len(asks) / took:8.0f} requests/s answered "
                    f"({len(asks)} in {took:.2f} s)  draw {draw_took:.2f} s  "
                    f"booked {len(won)}  bots {bot_places}/{len(won)} places "
                    f"for {len(bots)}/{len(patients)} patients  answers {dict(answers)}"
                )
            print(*lines, sep="\n")
        finally:
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
