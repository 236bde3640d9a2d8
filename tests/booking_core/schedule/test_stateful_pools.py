"""A hypothesis state machine for channel pools with staged release (号源池、分时放号, issue
15, "What must be shown" 2).

The machine drives the real bus on a real store (a fresh SQLite file or PostgreSQL database
per example) with random bookings from random channels (IVR, SMS, the desk, a kiosk, the HIS,
the HIS marking a referral), cancellations, and a clock moved forward across each pool's
release, the public release and the rolls (to the edges, a second before, at and after them).
Beside it runs a model written apart from the code: each pool's share, when it opens and
rolls, and which pool a booking must take or which refusal it must get.

After every step:

* every pool counter has 0 <= booked <= capacity, the session's pools add up to its places,
  and each pool's counter is its active bookings (the model's, too);
* every slot has 0 <= booked <= capacity and booked == its active bookings, so no session
  holds more than its places;
* a refused booking changed nothing and recorded no event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from booking_core.bookings import BookSlot, CancelBooking
from booking_core.kernel import errors as e
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import rows
from booking_core.rules import Rule, RuleKey, SetRule
from booking_core.schedule import Period
from tests.support.machine import (
    SETTINGS,
    Database,
    StoreMachine,
    postgres_databases,
    sqlite_databases,
)
from tests.support.world import World, local, slots_of

DAY = date(2026, 8, 7)
PLAN = {
    "pools": [
        {"pool": "referral", "percent": 25, "release_days": 21, "roll_at_public_release": True},
        {"pool": "ivr", "percent": 25},
        {"pool": "sms", "percent": 25, "roll_hours_before": 30},
    ]
}
PUBLIC_RELEASE = local(2026, 7, 31, 7, 30)  # the hospital's default: 7 days before at 07:30
REFERRAL_RELEASE = local(2026, 7, 17, 7, 30)


@dataclass(frozen=True)
class MSessionPlan:
    period: Period
    start: time
    end: time
    slot_minutes: int
    places: int  # per slot

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(DAY, self.start, tzinfo=PUBLIC_RELEASE.tzinfo)


SESSIONS = (  # 2 slots of 4 (8 places: 2 / 2 / 2 / public 2); 2 slots of 3 (6: 1 / 1 / 1 / 3)
    MSessionPlan(Period.MORNING, time(8, 0), time(12, 0), 120, 4),
    MSessionPlan(Period.AFTERNOON, time(13, 0), time(17, 0), 120, 3),
)
SHARES = {"referral": 25, "ivr": 25, "sms": 25}
N_PATIENTS = 16
CHANNELS = ("ivr", "sms", "agent", "kiosk", "his", "referral")  # referral: the HIS, marked
STARTS = (  # before the referral release, around it, around the public one, around the rolls
    local(2026, 7, 16, 9, 0),
    local(2026, 7, 17, 7, 29, 59),
    local(2026, 7, 31, 7, 29, 59),
    local(2026, 8, 1, 9, 0),
    local(2026, 8, 6, 1, 59, 59),
    local(2026, 8, 6, 7, 59, 59),
)


def edges() -> list[datetime]:
    """Every instant a pool opens or rolls, for both sessions, and the last minute before
    each session (its start, where booking closes, is reached by moving on from there)."""
    out = [REFERRAL_RELEASE, PUBLIC_RELEASE]
    for s in SESSIONS:
        out += [s.starts_at - timedelta(hours=h) for h in (24, 30)]
        out.append(s.starts_at - timedelta(minutes=1))
    return sorted(set(out))


EDGES = edges()


# --- the model ----------------------------------------------------------------------------


@dataclass
class MSession:
    id: int
    plan: MSessionPlan
    slots: list[int]
    capacity: dict[str, int] = field(default_factory=dict)  # the split, public included

    def release(self, pool: str) -> datetime:
        return REFERRAL_RELEASE if pool == "referral" else PUBLIC_RELEASE

    def roll(self, pool: str) -> datetime:
        if pool == "referral":
            return PUBLIC_RELEASE
        hours = 30 if pool == "sms" else 24
        return self.plan.starts_at - timedelta(hours=hours)


@dataclass
class MBooking:
    booking_no: str
    patient: int
    slot: int
    session: int  # index
    pool: str
    active: bool = True


@dataclass
class Model:
    sessions: list[MSession]
    slot_capacity: dict[int, int]
    bookings: list[MBooking] = field(default_factory=list)

    def active(self, session: int, pool: str | None = None) -> list[MBooking]:
        return [
            b
            for b in self.bookings
            if b.active and b.session == session and (pool is None or b.pool == pool)
        ]

    def expected(
        self, now: datetime, patient: int, slot: int, channel: str
    ) -> tuple[str | None, type[e.BookingError] | None]:
        """(the pool a booking must take, None) or (None, the refusal it must get)."""
        index = next(i for i, s in enumerate(self.sessions) if slot in s.slots)
        s = self.sessions[index]
        if now >= s.plan.starts_at:
            return None, e.BookingClosed
        if any(b.active and b.patient == patient and b.slot == slot for b in self.bookings):
            return None, e.AlreadyBooked
        if sum(1 for b in self.bookings if b.active and b.slot == slot) >= self.slot_capacity[slot]:
            return None, e.SlotFull
        own = channel if channel in SHARES else None
        rolled = {p for p in SHARES if now >= s.roll(p)}
        booked = {p: len(self.active(index, p)) for p in (*SHARES, "public")}
        # the public pool: every place no unrolled pool keeps, less what is booked in it;
        # a rolled pool keeps only what it has booked
        keeps = sum(s.capacity[p] if p not in rolled else booked[p] for p in SHARES)
        public_free = sum(s.capacity.values()) - keeps - booked["public"]
        opens = []
        if own is not None and own not in rolled:
            if now >= s.release(own):
                if booked[own] < s.capacity[own]:
                    return own, None
            else:
                opens.append(s.release(own))
        if now >= PUBLIC_RELEASE:
            if public_free > 0:
                return "public", None
        else:
            opens.append(PUBLIC_RELEASE)
        if opens:
            return None, e.OutsideBookingWindow
        others = sum(s.capacity[p] - booked[p] for p in SHARES if p != own and p not in rolled)
        return None, e.ChannelFull if others > 0 else e.SlotFull


# --- the machine ----------------------------------------------------------------------------


class PoolMachine(StoreMachine):
    def __init__(self, new_database: Callable[[], Database]) -> None:
        super().__init__(new_database, STARTS[0])
        self.model: Model | None = None
        self.patients: list[int] = []

    @initialize(start=st.sampled_from(STARTS))
    def build_world(self, start: datetime) -> None:
        self.open()
        world = World(self.services)
        sessions = []
        slot_capacity = {}
        self._await(world.hospital())
        self._await(world.department())  # 101
        self._await(world.doctor())  # 00868
        for plan in SESSIONS:
            made = self._await(
                world.session(
                    DAY,
                    period=plan.period,
                    start=plan.start,
                    end=plan.end,
                    slot_minutes=plan.slot_minutes,
                    places=plan.places,
                    room=str(plan.period),
                )
            )
            slots = list(self.read(slots_of, made.id))
            for slot in slots:
                slot_capacity[slot] = plan.places
            total = plan.places * len(slots)
            shares = {p: total * pct // 100 for p, pct in SHARES.items()}
            sessions.append(
                MSession(made.id, plan, slots, {**shares, "public": total - sum(shares.values())})
            )
        for key, value in (
            (RuleKey.CHANNEL_POOLS, PLAN),
            (RuleKey.PER_DEPARTMENT_PER_DAY, 4),
            (RuleKey.MAX_ACTIVE_PER_PATIENT, 10),
        ):
            self._await(self.services.handle(SetRule(rule=Rule(key, value))))
        self.patients = self._await(world.patients(N_PATIENTS))
        self.model = Model(sessions, slot_capacity)
        self.clock.set(start)

    # --- rules ------------------------------------------------------------------------------

    @rule(
        requests=st.lists(
            st.tuples(st.integers(0, N_PATIENTS - 1), st.integers(0, 3), st.sampled_from(CHANNELS)),
            min_size=1,
            max_size=8,
        )
    )
    def book(self, requests: list[tuple[int, int, str]]) -> None:
        """A few bookings one after another (a busy minute fills the pools)."""
        for patient, slot, channel in requests:
            self._book(patient, slot, channel)

    def _book(self, patient: int, slot: int, channel: str) -> None:
        model = self.model
        slot_id = [s for m in model.sessions for s in m.slots][slot]
        referral = channel == "referral"
        cmd = BookSlot(
            slot_id=slot_id,
            patient_id=self.patients[patient],
            channel=Channel.HIS if referral else Channel(channel),
            referral=referral,
        )
        pool, refusal = model.expected(self.clock.now(), patient, slot_id, channel)
        outcome = self.run(cmd)
        event(f"book {channel}: {pool or refusal.__name__}")
        if refusal is not None:
            assert isinstance(outcome, refusal), (channel, refusal, outcome)
            return
        assert not isinstance(outcome, e.BookingError), (channel, pool, outcome)
        assert outcome.booking.pool == pool, (channel, pool, outcome.booking.pool)
        index = next(i for i, s in enumerate(model.sessions) if slot_id in s.slots)
        model.bookings.append(MBooking(outcome.booking.booking_no, patient, slot_id, index, pool))

    @precondition(
        lambda self: self.model is not None and any(b.active for b in self.model.bookings)
    )
    @rule(pick=st.integers(0, 1000))
    def cancel(self, pick: int) -> None:
        active = [b for b in self.model.bookings if b.active]
        b = active[pick % len(active)]
        outcome = self.run(CancelBooking(booking_no=b.booking_no))
        session = self.model.sessions[b.session]
        if self.clock.now() >= session.plan.starts_at:
            assert isinstance(outcome, e.CancelDeadlinePassed), outcome
            return
        assert not isinstance(outcome, e.BookingError), outcome
        b.active = False

    @rule(edge=st.integers(0, len(EDGES) - 1), offset=st.sampled_from([-1, 0, 1, 600]))
    def jump_to_edge(self, edge: int, offset: int) -> None:
        """To a second before, at or after a release, a roll or a start (never backwards)."""
        to = EDGES[edge] + timedelta(seconds=offset)
        if to > self.clock.now():
            self.clock.set(to)

    @rule(minutes=st.integers(1, 240))
    def advance(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def pools_and_slots_agree_with_their_bookings(self) -> None:
        if self.model is None:
            return
        snap = self.read(_snapshot)
        model = self.model
        active: dict[tuple[int, str | None], int] = {}
        per_slot: dict[int, int] = {}
        for b in snap["bookings"]:
            if b["status"] in ("held", "confirmed", "checked_in"):
                key = (b["session_id"], b["pool"])
                active[key] = active.get(key, 0) + 1
                per_slot[b["slot_id"]] = per_slot.get(b["slot_id"], 0) + 1
        for slot in snap["slots"]:
            assert 0 <= slot["booked"] <= slot["capacity"], slot
            assert slot["booked"] == per_slot.get(slot["id"], 0), slot
        by_session: dict[int, list[dict]] = {}
        for p in snap["pools"]:
            by_session.setdefault(p["session_id"], []).append(p)
            assert 0 <= p["booked"] <= p["capacity"], p
            assert p["booked"] == active.get((p["session_id"], p["pool"]), 0), p
        for index, s in enumerate(model.sessions):
            counted = by_session.get(s.id, [])
            if counted:
                assert sum(p["capacity"] for p in counted) == sum(s.capacity.values()), counted
            assert (s.id, None) not in active  # every booking under pools names its pool
            for p in counted:
                assert p["booked"] == len(model.active(index, p["pool"])), (p, model.bookings)
            assert sum(p["booked"] for p in counted) <= sum(s.capacity.values())


def _snapshot(tx):
    slots = yield rows("SELECT id, capacity, booked FROM slots ORDER BY id")
    bookings = yield rows("SELECT session_id, slot_id, pool, status FROM bookings ORDER BY id")
    pools = yield rows("SELECT session_id, pool, capacity, booked FROM session_pools")
    return {
        "slots": [dict(r) for r in slots],
        "bookings": [dict(r) for r in bookings],
        "pools": [dict(r) for r in pools],
    }


MACHINE_SETTINGS = {**SETTINGS, "stateful_step_count": 50}


def test_channel_pools_state_machine_on_sqlite(tmp_path, migrated_sqlite) -> None:
    run_state_machine_as_test(
        lambda: PoolMachine(sqlite_databases(tmp_path, migrated_sqlite)),
        settings=settings(max_examples=20, **MACHINE_SETTINGS),
    )


@pytest.mark.postgres
def test_channel_pools_state_machine_on_postgres(postgres_dsn, migrated_template) -> None:
    run_state_machine_as_test(
        lambda: PoolMachine(postgres_databases(postgres_dsn, migrated_template)),
        settings=settings(max_examples=6, **MACHINE_SETTINGS),
    )
