"""The release storm (放号风暴, issue 15 "What must be shown" 3), on a real store.

5,000 requests from 2,000 patients for the 100 places of a session released at 07:30 in
fair mode (公平放号, N = 10 s), all sent at once through the real bus: 100 "bots" send 20
each for the first slot (first in the queue, as a grab script on a fast line is), 1,100
people send twice, 800 once, for any slot. Then:

* every request is answered — queued (its one ticket), already queued (a repeat), never a
  time-out or a store error — within a generous bound;
* the draw books exactly 100, each patient at most once, every ticket decided and told
  (``booking.created`` drawn or ``draw.refused``);
* the winners are a uniform draw among the patients who asked: bots win no more than their
  share of patients (a hypergeometric tail), and the winners do not depend on how many
  requests a patient sent (a chi-square over the three groups), with a fixed seed.

The control: the same tickets served first come, first served (the draw's shuffle taken
away) fail the same statistics — the bots, first in the queue, take every place — so the
test could not pass on an unfair draw.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from datetime import date, time

from booking_core import bookings
from booking_core.bookings import ACTIVE_SQL
from booking_core.bookings.lottery import lot_order
from booking_core.kernel.actor import Channel
from booking_core.kernel.deps import Deps
from booking_core.kernel.errors import AlreadyQueued, Queued
from booking_core.kernel.unit import rows, val
from booking_core.rules import RuleKey
from tests.booking_core.helpers import events, set_rule
from tests.support.world import World, local, slot_ids

DAY = date(2026, 7, 17)  # released at 2026-07-10 07:30 Beijing (7 days ahead)
RELEASE = local(2026, 7, 10, 7, 30)
N = 10
PATIENTS, BOTS, TWICE = 2000, 100, 1100  # the rest (800) ask once
BOT_REQUESTS = 20
PLACES = 100
SEED = 20261207
ANSWER_SECONDS = 60  # far beyond any answer on a loaded test machine: "never a time-out"
P_FLOOR = 0.001  # a fair draw fails a test this unlikely once in a thousand seeds


def hypergeom_tail(population: int, marked: int, drawn: int, at_least: int) -> float:
    """P(X >= at_least) for X the marked among ``drawn`` taken without replacement."""
    total = math.comb(population, drawn)
    return (
        sum(
            math.comb(marked, k) * math.comb(population - marked, drawn - k)
            for k in range(at_least, min(marked, drawn) + 1)
        )
        / total
    )


def chi_square(observed: dict[str, int], sizes: dict[str, int], winners: int) -> float:
    population = sum(sizes.values())
    expected = {g: winners * sizes[g] / population for g in sizes}
    return sum((observed.get(g, 0) - expected[g]) ** 2 / expected[g] for g in sizes)


CHI2_2DOF_P001 = 13.816  # the chi-square statistic with 2 degrees of freedom at p = 0.001


def fair_enough(winners: list[int], group_of: dict[int, str], sizes: dict[str, int]) -> bool:
    """Both statistics: bots win no more than their share, the groups win alike."""
    won = Counter(group_of[p] for p in winners)
    bots_tail = hypergeom_tail(sum(sizes.values()), sizes["bot"], len(winners), won["bot"])
    return bots_tail > P_FLOOR and chi_square(won, sizes, len(winners)) < CHI2_2DOF_P001


async def test_a_release_storm_is_drawn_fairly_and_every_request_answered(race_services, clock):
    services = race_services
    services.deps = Deps(cipher=services.cipher, cache=services.cache, rng=random.Random(SEED))
    world = World(services)
    # 10 slots of 24 minutes × 10 places: 100 places
    session = await world.basic(DAY, places=10, slot_minutes=24, end=time(12, 0))
    slots = await slot_ids(services, session.id)
    assert len(slots) == 10
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, N)
    patients = await world.patients(PATIENTS)
    pick = random.Random(SEED)
    shuffled = pick.sample(patients, len(patients))
    bots, twice, once = shuffled[:BOTS], shuffled[BOTS : BOTS + TWICE], shuffled[BOTS + TWICE :]
    group_of = {p: "bot" for p in bots} | {p: "twice" for p in twice} | {p: "once" for p in once}
    sizes = Counter(group_of.values())

    def ask(patient_id: int, slot: int) -> bookings.BookSlot:
        return bookings.BookSlot(slot_id=slot, patient_id=patient_id, channel=Channel.API)

    storm = [ask(b, slots[0]) for _ in range(BOT_REQUESTS) for b in bots]  # the bots first
    people = [ask(p, pick.choice(slots)) for p in twice for _ in range(2)]
    people += [ask(p, pick.choice(slots)) for p in once]
    pick.shuffle(people)
    storm += people
    assert len(storm) == 5000

    clock.set(RELEASE)

    async def answer(cmd: bookings.BookSlot) -> BaseException | object:
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                return await services.handle(cmd)
        except Exception as err:  # every answer, a time-out included, is looked at
            return err

    answers = await asyncio.gather(*(answer(cmd) for cmd in storm))
    kinds = Counter(type(a).__name__ for a in answers)
    assert kinds == {"Queued": PATIENTS, "AlreadyQueued": 5000 - PATIENTS}, kinds
    draw_at = local(2026, 7, 10, 7, 30, N)
    assert all(a.draw_at == draw_at for a in answers if isinstance(a, Queued | AlreadyQueued))
    per_bot = Counter(
        cmd.patient_id for cmd, a in zip(storm, answers, strict=True) if isinstance(a, Queued)
    )
    assert set(per_bot.values()) == {1}  # one ticket each, bots included

    clock.set(draw_at)
    outcome = await services.handle(bookings.RunDraws())
    assert (outcome.draws, outcome.booked, outcome.refused) == (1, PLACES, PATIENTS - PLACES)

    def results(tx):
        booked = yield rows(
            f"SELECT patient_id FROM bookings WHERE session_id = ? AND status IN {ACTIVE_SQL}",
            session.id,
        )
        tickets = yield rows(
            "SELECT id, patient_id, status, refusal, draw_rank, arrived_at "
            "FROM release_requests WHERE session_id = ? ORDER BY id",
            session.id,
        )
        taken = yield val("SELECT sum(booked) FROM slots WHERE session_id = ?", session.id)
        return [r["patient_id"] for r in booked], [dict(t) for t in tickets], taken

    booked, tickets, taken = await services.store.read(results)
    assert len(booked) == PLACES == taken  # exactly the places, the counters agree
    assert len(set(booked)) == PLACES  # each patient at most once, bots included
    assert len(tickets) == PATIENTS
    assert Counter(t["status"] for t in tickets) == {"booked": PLACES, "refused": PATIENTS - PLACES}
    assert {t["refusal"] for t in tickets if t["status"] == "refused"} == {"slot_full"}
    told = Counter(e.topic for e in await events(services))
    assert told["draw.refused"] == PATIENTS - PLACES
    drawn = [e for e in await events(services) if e.topic == "booking.created"]
    assert len(drawn) == PLACES
    assert all(e.payload["drawn"] for e in drawn)

    # fairness: the winners are a uniform draw among the patients who asked
    winners = [t["patient_id"] for t in tickets if t["status"] == "booked"]
    won = Counter(group_of[p] for p in winners)
    assert fair_enough(winners, group_of, dict(sizes)), won

    # the control: the same tickets first come, first served fail the same statistics
    class FirstCome(random.Random):
        def shuffle(self, x) -> None:  # type: ignore[override]
            return None

    unfair = lot_order(tickets, int(draw_at.timestamp()), Deps(services.cipher, rng=FirstCome()))
    first_come = [t["patient_id"] for t in unfair[:PLACES]]
    assert not fair_enough(first_come, group_of, dict(sizes))


def test_the_statistics_on_known_numbers():
    # 5 bots of 100 winners among 100 bots in 2000: the expected share, far from the floor
    assert hypergeom_tail(2000, 100, 100, 5) > 0.5
    assert hypergeom_tail(2000, 100, 100, 15) < P_FLOOR
    assert chi_square({"a": 50, "b": 50}, {"a": 1, "b": 1}, 100) == 0
    sizes = {"bot": 100, "twice": 1100, "once": 800}
    assert chi_square({"bot": 5, "twice": 55, "once": 40}, sizes, 100) == 0
    assert chi_square({"bot": 30, "twice": 40, "once": 30}, sizes, 100) > CHI2_2DOF_P001
