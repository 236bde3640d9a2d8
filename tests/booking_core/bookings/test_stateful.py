"""A hypothesis state machine over the booking services (issue 2, "What must be shown" 2).

The machine drives the real bus on a real store (a fresh SQLite file, or a fresh PostgreSQL
database, per example) with random book / pay / cancel / reschedule / check-in / stop-session /
top-up commands, moves a frozen clock across holds, cut-offs and session ends, and runs the
sweeps (ExpireHolds, SweepNoShows). Beside it runs a model: what each command must do, or which
typed refusal it must give, and every booking's status history.

After every step the stored world must agree with the model and with itself:

* every slot has 0 <= booked <= capacity, and booked == its active (held, confirmed,
  checked_in) bookings, plus its finished ones (completed, no_show: the no-show sweep keeps
  their places counted for the record, see test_lifecycle), so booked == active in every slot
  the sweep has not reached; no patient is twice active in a slot; no two active bookings
  share a place, and every active place is within 1..capacity;
* every booking's status, slot, place, payment and queue number are the model's, and its
  outbox events (``events(key=booking_no)``) are exactly the changes the model made to it;
* a refused command (a ``BookingError``) changed nothing and recorded no event;
* patient balances are the model's, and never negative; the last ``slot.changed`` of a slot
  tells its current count; each stop and each ban has its one event.
* bans follow the credit ladder (信用): each no-show, and each Nth same-day or Nth
  cancellation by the patient, is a strike; the ladder's step of the strike's number is a
  warning (its event) or a ban of so many days from today (its event, unless a longer ban
  is in force); a banned patient is refused until the ban's end.
* the waitlist (候补, issue 15: join, leave, offers on every freed place, confirm, lapse at
  the deadline, 加号): every entry's status and offered booking are the model's; an entry
  offered holds exactly one held booking; in each session every entry ever offered came
  before every entry still waiting (a freed place goes to exactly one patient, in order);
  no patient is both waiting and booked for one session.
* channel pools (号源池, issue 15), on in some examples: half of every session's places are
  the booking channel's own pool, the rest public (each pool opens with the public release
  and rolls 24 h before), so every place stays reachable and the model is unchanged; every
  pool has 0 <= booked <= capacity and booked == the bookings counted against it (as the
  slots count them), the pools hold no more than their session's places, and every booking
  of a pooled session names its pool — whatever took or gave back the place (a booking, a
  cancellation, an expiry, a reschedule, a stop's moves, a waitlist offer, 加号).

Each rule runs its coroutine with ``loop.run_until_complete`` on an event loop the machine owns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

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

from booking_core import payments
from booking_core.bookings import (
    ACTIVE_STATUSES,
    AddExtraPlaces,
    BookingStatus,
    BookSlot,
    CancelBooking,
    CheckIn,
    ConfirmBooking,
    ExpireHolds,
    JoinWaitlist,
    LeaveWaitlist,
    PayBooking,
    RescheduleBooking,
    StopSession,
    SweepNoShows,
    SweepWaitlists,
)
from booking_core.events import outbox
from booking_core.kernel import errors as e
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import rows
from booking_core.rules import PeriodType, Rule, RuleKey, SetRule
from booking_core.schedule import Period
from tests.support.machine import (
    SETTINGS,
    Database,
    StoreMachine,
    postgres_databases,
    sqlite_databases,
)
from tests.support.world import TZ, World, local, resident_id, slots_of

S = BookingStatus
FINISHED = frozenset({S.COMPLETED, S.NO_SHOW})
POOLS = {"pools": [{"pool": "api", "percent": 50}]}  # 号源池: the rest is public
STARTS = (  # where an example's clock starts: before, around and between the sessions
    local(2026, 7, 10, 20, 0),
    local(2026, 7, 10, 23, 50),
    local(2026, 7, 11, 7, 50),
    local(2026, 7, 11, 8, 40),
    local(2026, 7, 11, 11, 30),
    local(2026, 7, 11, 23, 55),
)
HOLD = timedelta(minutes=15)  # the platform default hold_minutes
OFFER = timedelta(minutes=120)  # the platform default waitlist_offer_minutes (候补)
EXTRA_MAX = 5  # the platform default extra_places_per_session (加号)
HOSPITAL = "H001"
DOCTORS = {"00868": ("101", 5000), "00869": ("101", 3000), "00870": ("102", 0)}  # dept, fee


@dataclass(frozen=True)
class Plan:
    work_no: str
    day: date
    period: Period
    start: time
    end: time
    places: int


# Two 30-minute slots each. Four sessions on 11 July, three of them in department 101 (the
# per-department-per-day limit), one on 12 July. Department 102's doctor charges no fee.
PLANS = (
    Plan("00868", date(2026, 7, 11), Period.MORNING, time(8, 0), time(9, 0), 2),
    Plan("00869", date(2026, 7, 11), Period.MORNING, time(8, 0), time(9, 0), 1),
    Plan("00870", date(2026, 7, 11), Period.MORNING, time(10, 0), time(11, 0), 1),
    Plan("00868", date(2026, 7, 11), Period.AFTERNOON, time(13, 0), time(14, 0), 2),
    Plan("00869", date(2026, 7, 12), Period.MORNING, time(8, 0), time(9, 0), 2),
)
N_PATIENTS = 5
N_SLOTS = 2 * len(PLANS)
ANY = st.integers(min_value=0, max_value=10_000)  # picks a booking or session, see pick()
SWEEPS = st.sampled_from(["none", "holds", "no_shows", "both", "waitlists"])
REQUEST = st.tuples(st.integers(0, N_PATIENTS - 1), st.integers(0, N_SLOTS - 1))  # patient, slot


# --- the model ---------------------------------------------------------------------------------


@dataclass
class MSession:
    id: int
    department: str
    day: date
    starts_at: datetime
    ends_at: datetime
    fee: int
    slots: list[int]
    open: bool = True
    last_queue_no: int = 0
    extra: int = 0  # places added (加号)


@dataclass
class MSlot:
    id: int
    session: int  # index into Model.sessions
    start: str  # "HH:MM"
    capacity: int


@dataclass
class MBooking:
    no: str
    patient: int  # index into Model.patients
    slot: int  # index into Model.slots
    place: int | None  # as the store numbered it (synced after every step)
    status: BookingStatus
    fee: int
    paid: int = 0
    method: str | None = None
    hold_until: datetime | None = None
    queue_no: int | None = None
    topics: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def holds_place(self) -> bool:
        """Active, or finished (completed, no-show): such a place stays counted for the record."""
        return self.status is not S.CANCELLED


@dataclass
class MEntry:
    """A place in a session's line (候补); its index in ``Model.entries`` is arrival order."""

    patient: int  # index into Model.patients
    session: int  # index into Model.sessions
    status: str = "waiting"
    booking: MBooking | None = None  # the held booking it was offered

    @property
    def live(self) -> bool:
        return self.status in ("waiting", "offered")


@dataclass
class MPatient:
    id: int
    balance: int
    strikes: int = 0  # on the credit ladder (all within its rolling year: the run is days)
    ban_until: datetime | None = None  # the end of the longest ban given
    bans: int = 0  # ban events
    warnings: int = 0  # credit_warned events
    cancels: list[bool] = field(default_factory=list)  # not yet consumed: same-day or not

    def banned(self, now: datetime) -> bool:
        return self.ban_until is not None and now < self.ban_until


@dataclass
class Model:
    prepay: bool
    max_active: int
    ladder: list[int]  # the credit ladder: ban days of the 1st, 2nd … strike (0: a warning)
    same_day_every: int  # every this many same-day cancellations: a strike
    cancel_every: int  # every this many cancellations (within 30 days): a strike
    sessions: list[MSession] = field(default_factory=list)
    slots: list[MSlot] = field(default_factory=list)
    patients: list[MPatient] = field(default_factory=list)
    bookings: list[MBooking] = field(default_factory=list)
    entries: list[MEntry] = field(default_factory=list)

    def session_of(self, b: MBooking) -> MSession:
        return self.sessions[self.slots[b.slot].session]

    def active_in(self, slot: int) -> list[MBooking]:
        return [b for b in self.bookings if b.active and b.slot == slot]

    def booked(self, slot: int) -> int:
        return sum(1 for b in self.bookings if b.holds_place and b.slot == slot)

    def admit(
        self, now: datetime, patient: int, slot: int, moving: MBooking | None
    ) -> type[e.BookingError] | None:
        """The refusal a new place in ``slot`` must get, in the order the core checks."""
        session = self.sessions[self.slots[slot].session]
        if not session.open:
            return e.SessionUnavailable
        if now >= session.starts_at:  # cut-off 0: booking closes when the session starts
            return e.BookingClosed
        if self.patients[patient].banned(now):
            return e.Blacklisted
        mine = [b for b in self.bookings if b.active and b.patient == patient and b is not moving]
        if any(b.slot == slot for b in mine):
            return e.AlreadyBooked
        same_day = [
            b
            for b in mine
            if (self.session_of(b).department, self.session_of(b).day)
            == (session.department, session.day)
        ]
        # 候补: waiting counts as booked, except for the session this place is in
        waits = [
            w
            for w in self.entries
            if w.status == "waiting"
            and w.patient == patient
            and w.session != self.slots[slot].session
        ]
        waits_same_day = [
            w
            for w in waits
            if (self.sessions[w.session].department, self.sessions[w.session].day)
            == (session.department, session.day)
        ]
        if same_day or waits_same_day or len(mine) + len(waits) >= self.max_active:
            return e.LimitReached
        if self.booked(slot) >= self.slots[slot].capacity:
            return e.SlotFull
        return None

    def cancel(self, b: MBooking, now: datetime, reason: str = "patient") -> None:
        """Cancelled (reason ``patient``, ``hospital``, ``hold_expired`` or
        ``session_stopped``); a place freed other than by a stop goes to the line (候补)."""
        was_held = b.status is S.HELD
        b.status = S.CANCELLED
        if b.paid > 0 and (b.method or "balance") == "balance":
            self.patients[b.patient].balance += b.paid
        b.topics.append("booking.cancelled")
        offer = self.offer_of(b)
        if offer is not None and was_held:
            offer.status = {"hold_expired": "lapsed", "session_stopped": "closed"}.get(
                reason, "declined"
            )
        if reason != "session_stopped":
            self.offer_places(self.slots[b.slot].session, now)

    def strike(self, patient: int, now: datetime) -> bool:
        """A strike on the ladder: its step, a warning or a ban; True: a new ban."""
        p = self.patients[patient]
        p.strikes += 1
        days = self.ladder[min(p.strikes, len(self.ladder)) - 1]
        if not days:
            p.warnings += 1
            event("ladder: a warning")
            return False
        today = now.astimezone(TZ).date()
        ends = datetime.combine(today + timedelta(days=days), time(0, 0), tzinfo=TZ)
        current = p.ban_until if p.banned(now) else None
        if current is not None and current >= ends:
            return False
        p.ban_until = ends
        p.bans += 1
        event(f"ladder: a ban of {days} days")
        return True

    def cancelled_by_patient(self, b: MBooking, now: datetime) -> None:
        """当日退号 / 频繁退号: counted until a strike consumes every cancellation so far."""
        p = self.patients[b.patient]
        p.cancels.append(now.astimezone(TZ).date() == self.session_of(b).day)
        same_day = p.cancels[-1] and sum(p.cancels) >= self.same_day_every
        if same_day or len(p.cancels) >= self.cancel_every:
            p.cancels.clear()
            event(f"ladder: a {'same-day ' if same_day else ''}cancellation strike")
            self.strike(b.patient, now)

    def move(self, b: MBooking, slot: int, now: datetime, *, stopping: bool = False) -> None:
        old = self.slots[b.slot].session
        b.place = None
        b.slot = slot
        if b.status is S.CHECKED_IN:
            b.status = S.CONFIRMED
        b.queue_no = None
        b.topics.append("booking.moved")
        self.leave_line(b.patient, self.slots[slot].session)
        if not stopping:
            self.offer_places(old, now)

    # --- the waitlist (候补) ------------------------------------------------------------

    def offer_of(self, b: MBooking) -> MEntry | None:
        return next((w for w in self.entries if w.booking is b and w.status == "offered"), None)

    def free(self, session: int) -> int:
        slots = self.sessions[session].slots
        return sum(max(self.slots[s].capacity - self.booked(s), 0) for s in slots)

    def leave_line(self, patient: int, session: int) -> None:
        """Booked into a session they wait for: they leave its line."""
        for w in self.entries:
            if w.patient == patient and w.session == session and w.status == "waiting":
                w.status = "left"

    def offer_places(self, session: int, now: datetime) -> int:
        """The session's free places to its first waiting patients, each a held booking
        until the offer time or the session's start (the cut-off), whichever is first."""
        s = self.sessions[session]
        deadline = min(now + OFFER, s.starts_at)
        if not s.open or deadline <= now:
            return 0
        offered = 0
        while True:
            first = next(
                (w for w in self.entries if w.session == session and w.status == "waiting"), None
            )
            if first is None:
                return offered
            mine = {x.slot for x in self.bookings if x.active and x.patient == first.patient}
            free = [
                sl for sl in s.slots if self.booked(sl) < self.slots[sl].capacity and sl not in mine
            ]
            if not free:
                return offered
            b = MBooking(
                no="",  # the store's number, read back after the step
                patient=first.patient,
                slot=free[0],
                place=None,
                status=S.HELD,
                fee=s.fee,
                hold_until=deadline,
                topics=["booking.created"],
            )
            self.bookings.append(b)
            first.status, first.booking = "offered", b
            offered += 1
            event("waitlist: a freed place offered")

    def accept(self, b: MBooking) -> None:
        offer = self.offer_of(b)
        if offer is not None:
            offer.status = "accepted"

    def close_line(self, session: int) -> int:
        closed = 0
        for w in self.entries:
            if w.session == session and w.status == "waiting":
                w.status = "closed"
                closed += 1
        return closed


def nearest_free_slot(model: Model, target: MSession, b: MBooking) -> int | None:
    """The stop-session rule: the free slot whose clock time is closest to the old one,
    among those the patient holds no place in already."""

    def minutes(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    old = minutes(model.slots[b.slot].start)
    mine = {x.slot for x in model.bookings if x.active and x.patient == b.patient}
    free = [s for s in target.slots if model.booked(s) < model.slots[s].capacity and s not in mine]
    if not free:
        return None
    return min(free, key=lambda s: (abs(minutes(model.slots[s].start) - old), model.slots[s].start))


# --- the machine -------------------------------------------------------------------------------


class BookingMachine(StoreMachine):
    def __init__(self, new_database: Callable[[], Database]) -> None:
        super().__init__(new_database, STARTS[0])
        self.model: Model | None = None
        self.pools = False

    @staticmethod
    def expect(outcome: Any, expected: type[e.BookingError] | None, what: str) -> bool:
        """Check the outcome is the expected refusal (or a success); True for a success."""
        event(f"{what.split()[0]}: {'ok' if expected is None else expected.__name__}")
        if expected is None:
            assert not isinstance(outcome, e.BookingError), f"{what}: refused with {outcome!r}"
            return True
        assert isinstance(outcome, expected), f"{what}: wanted {expected.__name__}, got {outcome!r}"
        return False

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def pick(self, n: int, *statuses: BookingStatus) -> MBooking:
        """A booking in one of ``statuses`` when there is one, but one time in four (or when
        there is none) any booking at all: the wrong state must be refused too."""
        everyone = self.model.bookings
        fitting = [b for b in everyone if b.status in statuses]
        pool = fitting if fitting and n % 4 else everyone
        return pool[(n // 4) % len(pool)]

    # --- the world ------------------------------------------------------------------------

    @initialize(
        start=st.sampled_from(STARTS),
        prepay=st.booleans(),
        max_active=st.sampled_from([2, 5]),
        ladder=st.sampled_from([[0, 30, 90], [30], [0, 0, 30]]),
        same_day_every=st.sampled_from([1, 2]),
        cancel_every=st.sampled_from([2, 3]),
        balances=st.lists(
            st.sampled_from([0, 3000, 5000, 8000, 20000]), min_size=N_PATIENTS, max_size=N_PATIENTS
        ),
        opening=st.lists(REQUEST, min_size=2, max_size=4),
        pools=st.booleans(),
    )
    def build_world(
        self,
        start: datetime,
        prepay: bool,
        max_active: int,
        ladder: list[int],
        same_day_every: int,
        cancel_every: int,
        balances: list[int],
        opening: list[tuple[int, int]],
        pools: bool,
    ) -> None:
        """The hospital, its sessions and patients, then a few bookings to work on."""
        self.clock.set(start)
        self.open()
        self.model = model = Model(
            prepay=prepay,
            max_active=max_active,
            ladder=ladder,
            same_day_every=same_day_every,
            cancel_every=cancel_every,
        )
        world = World(self.services, HOSPITAL)
        hospital = self._await(world.hospital(name="协和医院"))
        for dept in ("101", "102"):
            self._await(world.department(dept, dept))
        for work_no, (dept, fee) in DOCTORS.items():
            self._await(world.doctor(work_no, dept, fee, title="", specialty=""))
        rules = [
            Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, max_active, hospital_id=hospital.id),
            *(
                Rule(
                    key, value, hospital_id=hospital.id, period_type=PeriodType.DAYS, period_value=d
                )
                for key, value, d in (
                    (RuleKey.CREDIT_LADDER, ladder, 365),
                    (RuleKey.SAME_DAY_CANCEL_STRIKE, same_day_every, 365),
                    (RuleKey.BOOK_CANCEL_STRIKE, cancel_every, 30),
                )
            ),
        ]
        if prepay:
            rules.append(Rule(RuleKey.PREPAY_REQUIRED, True, hospital_id=hospital.id))
        if pools:  # the machine books through the API: its own pool, then the public one
            rules.append(Rule(RuleKey.CHANNEL_POOLS, POOLS, hospital_id=hospital.id))
        self.pools = pools
        for r in rules:
            self._await(self.services.handle(SetRule(rule=r)))
        for plan in PLANS:
            session = self._await(
                world.session(
                    plan.day,
                    plan.work_no,
                    plan.period,
                    plan.start,
                    plan.end,
                    places=plan.places,
                    room="",
                )
            )
            slot_ids = self.read(slots_of, session.id)
            first_slot = len(model.slots)
            model.sessions.append(
                MSession(
                    id=session.id,
                    department=DOCTORS[plan.work_no][0],
                    day=plan.day,
                    starts_at=datetime.combine(plan.day, plan.start, tzinfo=TZ),
                    ends_at=datetime.combine(plan.day, plan.end, tzinfo=TZ),
                    fee=DOCTORS[plan.work_no][1],
                    slots=list(range(first_slot, first_slot + len(slot_ids))),
                )
            )
            opens = datetime.combine(plan.day, plan.start)
            for i, slot_id in enumerate(slot_ids):
                hhmm = (opens + timedelta(minutes=30 * i)).strftime("%H:%M")
                model.slots.append(MSlot(slot_id, len(model.sessions) - 1, hhmm, plan.places))
        assert len(model.slots) == N_SLOTS
        for i, balance in enumerate(balances):
            patient = self._await(
                world.patient(f"患者{i}", f"136{i:08d}", id_number=resident_id(i, birth="19900101"))
            )
            if balance:
                self._await(
                    self.services.handle(payments.TopUp(patient_id=patient.id, amount=balance))
                )
            model.patients.append(MPatient(patient.id, balance))
        for patient, slot in opening:
            self._book(patient, slot)

    # --- rules ----------------------------------------------------------------------------

    @precondition(lambda self: self.model is not None)
    @rule(requests=st.lists(REQUEST, min_size=1, max_size=4))
    def book(self, requests: list[tuple[int, int]]) -> None:
        """One to four bookings, one after the other (booking is what most steps should do)."""
        for patient, slot in requests:
            self._book(patient, slot)

    def _book(self, patient: int, slot: int) -> None:
        model = self.model
        expected = model.admit(self.now, patient, slot, moving=None)
        out = self.run(
            BookSlot(
                slot_id=model.slots[slot].id,
                patient_id=model.patients[patient].id,
                channel=Channel.API,
            )
        )
        if not self.expect(out, expected, f"book patient {patient} into slot {slot}"):
            return
        self._booked(patient, slot, out)

    def _booked(self, patient: int, slot: int, out: Any) -> None:
        """The model's new booking for ``out`` (a BookSlot's answer)."""
        model = self.model
        session = model.sessions[model.slots[slot].session]
        held = model.prepay and session.fee > 0
        b = MBooking(
            no=out.booking.booking_no,
            patient=patient,
            slot=slot,
            place=out.booking.place_no,
            status=S.HELD if held else S.CONFIRMED,
            fee=session.fee,
            hold_until=self.now + HOLD if held else None,
            topics=["booking.created"],
        )
        assert out.booking.status is b.status
        model.bookings.append(b)
        model.leave_line(patient, model.slots[slot].session)  # 候补: booked, no longer waiting

    @precondition(lambda self: self.model is not None and self.model.bookings)
    @rule(pick=ANY, by_hospital=st.booleans())
    def cancel(self, pick: int, by_hospital: bool, pool: list[MBooking] | None = None) -> None:
        b = pool[pick % len(pool)] if pool else self.pick(pick, S.HELD, S.CONFIRMED)
        if b.status not in (S.HELD, S.CONFIRMED):
            expected = e.InvalidState
        elif not by_hospital and self.now >= self.model.session_of(b).starts_at:
            expected = e.CancelDeadlinePassed
        else:
            expected = None
        out = self.run(CancelBooking(booking_no=b.no, by_hospital=by_hospital))
        if self.expect(out, expected, f"cancel {b}"):
            self.model.cancel(b, self.now, "hospital" if by_hospital else "patient")
            if not by_hospital:
                self.model.cancelled_by_patient(b, self.now)

    @precondition(lambda self: self.model is not None and self.model.bookings)
    @rule(pick=ANY, method=st.sampled_from(["balance", "card", "cash"]))
    def pay(self, pick: int, method: str) -> None:
        b = self.pick(pick, S.HELD, S.CONFIRMED)
        patient = self.model.patients[b.patient]
        due = b.fee - b.paid
        expired = b.hold_until is not None and b.hold_until <= self.now
        if b.status not in (S.HELD, S.CONFIRMED) or due <= 0 or expired:
            expected = e.InvalidState
        elif method == "balance" and patient.balance < due:
            expected = e.InsufficientBalance
        else:
            expected = None
        out = self.run(PayBooking(booking_no=b.no, method=method))
        if not self.expect(out, expected, f"pay {b} by {method}"):
            return
        b.topics.append("booking.confirmed" if b.status is S.HELD else "booking.paid")
        if b.status is S.HELD:
            self.model.accept(b)  # 候补: an offer paid for in time
        b.status, b.paid, b.method, b.hold_until = S.CONFIRMED, b.fee, method, None
        if method == "balance":
            patient.balance -= due

    @precondition(lambda self: self.model is not None and self.model.bookings)
    @rule(pick=ANY, slot=st.integers(0, N_SLOTS - 1))
    def reschedule(self, pick: int, slot: int) -> None:
        b = self.pick(pick, S.HELD, S.CONFIRMED)
        day = self.model.session_of(b).day
        if b.status not in (S.HELD, S.CONFIRMED):
            expected = e.InvalidState
        elif slot == b.slot:
            expected = e.InvalidInput
        elif self.now >= datetime.combine(day, time(0, 0), tzinfo=TZ):  # 1 day: until midnight
            expected = e.RescheduleDeadlinePassed
        else:
            expected = self.model.admit(self.now, b.patient, slot, moving=b)
        out = self.run(RescheduleBooking(booking_no=b.no, slot_id=self.model.slots[slot].id))
        if self.expect(out, expected, f"reschedule {b} to slot {slot}"):
            self.model.move(b, slot, self.now)

    @precondition(lambda self: self.model is not None and self.model.bookings)
    @rule(pick=ANY)
    def check_in(self, pick: int) -> None:
        b = self.pick(pick, S.CONFIRMED)
        session = self.model.session_of(b)
        if b.status is not S.CONFIRMED:
            expected = e.InvalidState
        elif self.now < datetime.combine(session.day, time(0, 0), tzinfo=TZ):
            expected = e.CheckInNotOpen
        elif self.now >= session.ends_at:
            expected = e.CheckInClosed
        else:
            expected = None
        out = self.run(CheckIn(booking_no=b.no))
        if self.expect(out, expected, f"check in {b}"):
            session.last_queue_no += 1
            b.status, b.queue_no = S.CHECKED_IN, session.last_queue_no
            b.topics.append("booking.checked_in")
            assert out.booking.queue_no == b.queue_no

    @precondition(
        lambda self: self.model is not None and any(b.active for b in self.model.bookings)
    )
    @rule(
        pick=ANY,
        mode=st.sampled_from(["move", "cancel"]),
        into=st.integers(0, len(PLANS) - 1),
    )
    def stop_session(self, pick: int, mode: str, into: int) -> None:
        """停诊 of an open session with bookings (of any session when none has)."""
        model = self.model
        busy = [
            i
            for i, s in enumerate(model.sessions)
            if s.open and any(model.active_in(slot) for slot in s.slots)
        ]
        which = busy[pick % len(busy)] if busy else pick % len(PLANS)
        session = model.sessions[which]
        order = sorted(
            (b for s in session.slots for b in model.active_in(s)),
            key=lambda b: (model.slots[b.slot].start, b.place),
        )
        to = model.sessions[into]
        plan: list[tuple[MBooking, int | None]] = []
        if not session.open:
            expected = e.SessionUnavailable
        elif mode == "cancel":
            expected = None
        elif into == which:
            expected = e.NotFound
        elif not to.open:
            expected = e.SessionUnavailable
        elif sum(max(model.slots[s].capacity - model.booked(s), 0) for s in to.slots) < len(order):
            expected = e.SubstituteFull
        else:
            plan = self._plan_moves(order, to)
            expected = e.SubstituteFull if any(slot is None for _, slot in plan) else None
        cmd = StopSession(
            session_id=session.id,
            mode=mode,
            target_session_id=to.id if mode == "move" else None,
            reason="doctor ill",
        )
        out = self.run(cmd)
        if not self.expect(out, expected, f"stop session {which} ({mode} to {into})"):
            return
        if mode == "cancel":
            for b in order:
                model.cancel(b, self.now, "session_stopped")
        else:
            for b, slot in plan:
                model.move(b, slot, self.now, stopping=True)
        session.open = False
        model.close_line(which)  # 候补: those still waiting are told
        assert out["moved" if mode == "move" else "cancelled"] == len(order)

    def _plan_moves(self, order: list[MBooking], to: MSession) -> list[tuple[MBooking, int | None]]:
        """Where each booking of a stopped session goes, one after the other (a dry run)."""
        model = self.model
        saved = [(b, b.slot, b.status, b.place, b.queue_no, list(b.topics)) for b in order]
        plan = []
        for b in order:
            slot = nearest_free_slot(model, to, b)
            plan.append((b, slot))
            if slot is None:
                break
            b.slot = slot  # where it goes (a dry run: nothing else changes)
        for b, slot, status, place, queue_no, topics in saved:
            b.slot, b.status, b.place, b.queue_no, b.topics = slot, status, place, queue_no, topics
        return plan

    # --- the waitlist (候补) and extra places (加号) ----------------------------------------

    def _session(self, session: int, fullest: bool) -> int:
        """``session``, or the open one not started yet with the fewest free places (a line
        needs a full one)."""
        model = self.model
        if not fullest:
            return session
        return min(
            range(len(model.sessions)),
            key=lambda i: (
                not model.sessions[i].open or self.now >= model.sessions[i].starts_at,
                model.free(i),
                i,
            ),
        )

    @precondition(lambda self: self.model is not None)
    @rule(session=st.integers(0, len(PLANS) - 1), fullest=st.booleans())
    def fill_session(self, session: int, fullest: bool) -> None:
        """Every free place of a session booked by whoever may take one: lines need full
        sessions, and random bookings seldom fill one."""
        self._fill(self._session(session, fullest))

    def _fill(self, session: int) -> None:
        model = self.model
        for slot in model.sessions[session].slots:
            for patient in range(N_PATIENTS):
                if model.booked(slot) >= model.slots[slot].capacity:
                    break
                if model.admit(self.now, patient, slot, moving=None) is None:
                    self._book(patient, slot)

    def _join_refusal(self, patient: int, session: int) -> type[e.BookingError] | None:
        """What JoinWaitlist must answer, in the order the core checks."""
        model = self.model
        s = model.sessions[session]
        mine = [b for b in model.bookings if b.active and b.patient == patient]
        waits = [w for w in model.entries if w.status == "waiting" and w.patient == patient]
        here = (s.department, s.day)
        if not s.open or self.now >= s.starts_at:
            return e.WaitlistClosed
        if model.patients[patient].banned(self.now):
            return e.Blacklisted
        if any(w.live and w.session == session for w in model.entries if w.patient == patient):
            return e.AlreadyWaiting
        if any(model.slots[b.slot].session == session for b in mine):
            return e.AlreadyBooked
        if model.free(session) > 0:
            return e.WaitlistNotNeeded
        if (
            any((model.session_of(b).department, model.session_of(b).day) == here for b in mine)
            or any(
                (model.sessions[w.session].department, model.sessions[w.session].day) == here
                for w in waits
            )
            or len(mine) + len(waits) >= model.max_active
        ):
            return e.LimitReached
        return None

    @precondition(lambda self: self.model is not None)
    @rule(
        patient=st.integers(0, N_PATIENTS - 1),
        session=st.integers(0, len(PLANS) - 1),
        fullest=st.booleans(),
    )
    def join_waitlist(self, patient: int, session: int, fullest: bool) -> None:
        """A patient joins a line: with ``fullest``, the fullest open session and (from
        ``patient`` on) the first patient who may join it, if anyone may."""
        model = self.model
        session = self._session(session, fullest)
        if fullest:
            self._fill(session)  # whoever may book its places does, then the line forms
            turn = [(patient + k) % N_PATIENTS for k in range(N_PATIENTS)]
            patient = next((p for p in turn if self._join_refusal(p, session) is None), patient)
        expected = self._join_refusal(patient, session)
        s = model.sessions[session]
        out = self.run(
            JoinWaitlist(
                session_id=s.id, patient_id=model.patients[patient].id, channel=Channel.SMS
            )
        )
        if not self.expect(out, expected, f"join patient {patient} to session {session}"):
            return
        model.entries.append(MEntry(patient, session))
        line = [w for w in model.entries if w.session == session and w.status == "waiting"]
        assert out.position == len(line), (out, line)

    @precondition(lambda self: self.model is not None)
    @rule(pick=ANY, patient=st.integers(0, N_PATIENTS - 1), session=st.integers(0, len(PLANS) - 1))
    def leave_waitlist(self, pick: int, patient: int, session: int) -> None:
        """A live entry leaves (three times in four when there is one), or one who is not
        waiting asks to: not found."""
        model = self.model
        live = [w for w in model.entries if w.live]
        if live and pick % 4:
            w = live[(pick // 4) % len(live)]
            patient, session = w.patient, w.session
        entry = next(
            (w for w in model.entries if w.patient == patient and w.session == session and w.live),
            None,
        )
        out = self.run(
            LeaveWaitlist(
                session_id=model.sessions[session].id, patient_id=model.patients[patient].id
            )
        )
        if not self.expect(out, e.NotFound if entry is None else None, f"leave {entry}"):
            return
        assert entry is not None
        if entry.status == "offered" and entry.booking and entry.booking.status is S.HELD:
            model.cancel(entry.booking, self.now, "patient")  # declined: passed on
        else:
            entry.status = "left"

    @precondition(
        lambda self: (
            self.model is not None and any(w.status == "waiting" for w in self.model.entries)
        )
    )
    @rule(pick=ANY, by_hospital=st.booleans())
    def cancel_in_a_line(self, pick: int, by_hospital: bool) -> None:
        """A booking of a session someone waits for is cancelled: its place is offered."""
        model = self.model
        lines = {w.session for w in model.entries if w.status == "waiting"}
        there = [
            b
            for b in model.bookings
            if b.status in (S.HELD, S.CONFIRMED) and model.slots[b.slot].session in lines
        ]
        if not there:
            return
        self.cancel(pick * 4 + 1, by_hospital, pool=there)

    @precondition(lambda self: self.model is not None and self.model.bookings)
    @rule(pick=ANY)
    def confirm(self, pick: int) -> None:
        """A held booking confirmed before its hold ends (a place offered from the line)."""
        model = self.model
        b = self.pick(pick, S.HELD)
        if b.status is not S.HELD or b.hold_until <= self.now:
            expected: type[e.BookingError] | None = e.InvalidState
        elif model.prepay and b.paid < b.fee:
            expected = e.InvalidState
        elif model.patients[b.patient].banned(self.now):
            expected = e.Blacklisted
        else:
            expected = None
        out = self.run(ConfirmBooking(booking_no=b.no))
        if not self.expect(out, expected, f"confirm {b}"):
            return
        model.accept(b)
        b.status, b.hold_until = S.CONFIRMED, None
        b.topics.append("booking.confirmed")

    @precondition(lambda self: self.model is not None)
    @rule(
        session=st.integers(0, len(PLANS) - 1),
        fullest=st.booleans(),
        places=st.integers(1, 2),
        named=st.none() | st.integers(0, N_PATIENTS - 1),
    )
    def add_extra_places(self, session: int, fullest: bool, places: int, named: int | None) -> None:
        """加号: for a named patient (one place, booked at once) or for the line."""
        model = self.model
        session = self._session(session, fullest)
        s = model.sessions[session]
        last = s.slots[-1]  # the places go to the session's last slot
        places = 1 if named is not None else places
        if not s.open:
            expected: type[e.BookingError] | None = e.SessionUnavailable
        elif s.extra + places > EXTRA_MAX:
            expected = e.ExtraPlacesExhausted
        elif named is not None:
            model.slots[last].capacity += 1  # as the unit sees it, before it books
            expected = model.admit(self.now, named, last, moving=None)
            model.slots[last].capacity -= 1
        else:
            expected = None
        patient_id = model.patients[named].id if named is not None else None
        out = self.run(AddExtraPlaces(session_id=s.id, places=places, patient_id=patient_id))
        if not self.expect(out, expected, f"add {places} to session {session} for {named}"):
            return
        s.extra += places
        model.slots[last].capacity += places
        assert (out.slot_id, out.added_total) == (model.slots[last].id, s.extra)
        if named is not None:
            self._booked(named, last, out.booking)
        else:
            assert out.offered == model.offer_places(session, self.now)

    @precondition(lambda self: self.model is not None)
    @rule(patient=st.integers(0, N_PATIENTS - 1), amount=st.sampled_from([1000, 5000]))
    def top_up(self, patient: int, amount: int) -> None:
        p = self.model.patients[patient]
        out = self.run(payments.TopUp(patient_id=p.id, amount=amount))
        assert not isinstance(out, e.BookingError), out
        p.balance += amount

    @precondition(lambda self: self.model is not None)
    @rule(minutes=st.sampled_from([1, 14, 16, 30, 60, 180, 600]), then=SWEEPS)
    def advance_clock(self, minutes: int, then: str) -> None:
        self.clock.advance(minutes=minutes)
        self._sweep(then)

    @precondition(lambda self: self.model is not None)
    @rule(offset=st.sampled_from([-1, 0, 1]), then=SWEEPS)
    def jump_to_next_edge(self, offset: int, then: str) -> None:
        """Move the clock to a minute before, at or after the next instant a rule turns on:
        a session's start (cut-offs) or end, a clinic day's midnight, a hold's expiry."""
        model = self.model
        edges = {s.starts_at for s in model.sessions} | {s.ends_at for s in model.sessions}
        edges |= {datetime.combine(s.day, time(0, 0), tzinfo=TZ) for s in model.sessions}
        edges |= {b.hold_until for b in model.bookings if b.status is S.HELD and b.hold_until}
        step = timedelta(minutes=offset)
        later = sorted(t + step for t in edges if t + step > self.now)
        if later:
            self.clock.set(later[0])
        self._sweep(then)

    @precondition(lambda self: self.model is not None)
    @rule(which=SWEEPS)
    def sweep(self, which: str) -> None:
        """The background workers' sweeps: expired holds, ended sessions (no-shows), or both."""
        self._sweep(which)

    def _sweep(self, which: str) -> None:
        if which in ("holds", "both"):
            self._expire_holds()
        if which in ("no_shows", "both"):
            self._sweep_no_shows()
        if which == "waitlists":
            self._sweep_waitlists()

    def _expire_holds(self) -> None:
        due = [b for b in self.model.bookings if b.status is S.HELD and b.hold_until <= self.now]
        due.sort(key=lambda b: b.hold_until)  # the sweep's order (then the bookings' own)
        out = self.run(ExpireHolds())
        assert out == len(due), (out, due)
        event(f"sweep holds: {'some' if due else 'none'}")
        for b in due:
            self.model.cancel(b, self.now, "hold_expired")

    def _sweep_waitlists(self) -> None:
        """候补: lines of sessions past their cut-off closed, free places offered."""
        model = self.model
        waited = {w.session for w in model.entries if w.status == "waiting"}
        closed = offered = 0
        for i in sorted(waited, key=lambda i: (model.sessions[i].starts_at, model.sessions[i].id)):
            s = model.sessions[i]
            if not s.open or self.now >= s.starts_at:
                closed += model.close_line(i)
            else:
                offered += model.offer_places(i, self.now)
        out = self.run(SweepWaitlists())
        assert out == (closed, offered), (out, closed, offered)
        event(f"sweep waitlists: closed {closed > 0}, offered {offered > 0}")

    def _sweep_no_shows(self) -> None:
        model = self.model
        ended = [
            b
            for b in model.bookings
            if b.status in (S.CONFIRMED, S.CHECKED_IN) and model.session_of(b).ends_at <= self.now
        ]
        out = self.run(SweepNoShows())
        assert not isinstance(out, e.BookingError), out
        missed: list[MBooking] = []
        for b in ended:
            if b.status is S.CONFIRMED:
                b.status = S.NO_SHOW
                missed.append(b)
            else:
                b.status = S.COMPLETED
            b.topics.append(f"booking.{b.status}")
        newly_banned: set[int] = set()
        for b in sorted(missed, key=lambda b: model.session_of(b).ends_at):  # as the sweep does
            if model.strike(b.patient, self.now):
                newly_banned.add(b.patient)
        banned = len(newly_banned)
        no_show_count = len(missed)
        assert out == (no_show_count, len(ended) - no_show_count, banned)
        event(f"sweep no-shows: {no_show_count > 0}, completed: {len(ended) > no_show_count}")
        if banned:
            event("sweep no-shows: blacklisted")

    # --- invariants -----------------------------------------------------------------------

    def _pools_agree(self, snap: dict, counted: list[dict]) -> None:
        """号源池: each pool's counter is the bookings counted against it, within its
        capacity; a session's pools hold no more than its places; under pools every booking
        names its pool, and without them none has one."""
        if not self.pools:
            assert snap["pools"] == [], snap["pools"]
            assert all(r["pool"] is None for r in snap["bookings"])
            return
        against = Counter((r["session_id"], r["pool"]) for r in counted)
        session_of = {s.id: self.model.sessions[s.session].id for s in self.model.slots}
        places: Counter = Counter()
        for s in snap["slots"]:
            places[session_of[s["id"]]] += s["capacity"]
        pooled: Counter = Counter()
        for p in snap["pools"]:
            assert 0 <= p["booked"] <= p["capacity"], p
            assert p["booked"] == against[(p["session_id"], p["pool"])], (p, against)
            pooled[p["session_id"]] += p["capacity"]
        for session_id, held in pooled.items():
            assert held <= places[session_id], (session_id, held, places)
            assert all(r["pool"] is not None for r in counted if r["session_id"] == session_id)
        event(f"pools: {len(pooled)} sessions pooled")

    @invariant()
    def the_store_agrees_with_itself_and_the_model(self) -> None:
        model = self.model
        if model is None:
            return
        snap = self.read(_snapshot)
        by_slot_id = {s.id: i for i, s in enumerate(model.slots)}

        # every slot: within capacity; its counter is its active rows, plus the finished
        # (completed, no-show) ones, whose places stay counted for the record
        active_rows = [r for r in snap["bookings"] if r["status"] in ACTIVE_STATUSES]
        finished_rows = [r for r in snap["bookings"] if r["status"] in FINISHED]
        active = Counter(r["slot_id"] for r in active_rows)
        finished = Counter(r["slot_id"] for r in finished_rows)
        for s in snap["slots"]:
            assert 0 <= s["booked"] <= s["capacity"], s
            assert s["booked"] == active[s["id"]] + finished[s["id"]], (s, active, finished)
            if not finished[s["id"]]:
                assert s["booked"] == active[s["id"]], s
        # nobody twice in a slot, no place taken twice
        patients_in_slot = Counter((r["slot_id"], r["patient_id"]) for r in active_rows)
        assert max(patients_in_slot.values(), default=0) <= 1, patients_in_slot
        places = Counter((r["slot_id"], r["place_no"]) for r in active_rows)
        assert max(places.values(), default=0) <= 1, places
        capacity = {s["id"]: s["capacity"] for s in snap["slots"]}
        assert all(1 <= r["place_no"] <= capacity[r["slot_id"]] for r in active_rows)
        self._pools_agree(snap, active_rows + finished_rows)

        # 候补: the offers the model made get the numbers the store drew for them
        offers = [w for w in model.entries if w.booking is not None]
        drawn = [r["booking_no"] for r in snap["waitlist"] if r["booking_no"] is not None]
        assert len(offers) == len(drawn), (offers, drawn)
        for w, no in zip(offers, drawn, strict=True):
            if not w.booking.no:
                w.booking.no = no

        # every booking is the model's
        stored = {r["booking_no"]: r for r in snap["bookings"]}
        assert set(stored) == {b.no for b in model.bookings}
        for b in model.bookings:
            r = stored[b.no]
            got = (
                r["patient_id"],
                by_slot_id[r["slot_id"]],
                r["session_id"],
                r["status"],
                r["paid"],
                r["queue_no"],
            )
            want = (
                model.patients[b.patient].id,
                b.slot,
                model.session_of(b).id,
                str(b.status),
                b.paid,
                b.queue_no,
            )
            assert got == want, (b, dict(r))
            if b.active and b.place is not None:  # a place, once given, stays until a move
                assert r["place_no"] == b.place, (b, dict(r))
            b.place = r["place_no"]

        # every change the machine made has its event, and no other booking event exists
        topics: dict[str, list[str]] = {}
        last_slot_change: dict[str, dict] = {}
        stops: Counter[str] = Counter()
        bans: Counter[str] = Counter()
        warnings: Counter[str] = Counter()
        for ev in snap["events"]:
            if ev.topic.startswith("booking."):
                topics.setdefault(ev.key, []).append(ev.topic)
            elif ev.topic == "slot.changed":
                last_slot_change[ev.key] = ev.payload
            elif ev.topic == "session.stopped":
                stops[ev.key] += 1
            elif ev.topic == "patient.blacklisted":
                bans[ev.key] += 1
            elif ev.topic == "patient.credit_warned":
                warnings[ev.key] += 1
        for b in model.bookings:
            assert topics.pop(b.no, []) == b.topics, (b, "events")
        assert not topics, f"events of bookings the model never made: {topics}"
        booked = {str(s["id"]): s["booked"] for s in snap["slots"]}
        for key, payload in last_slot_change.items():
            assert payload["booked"] == booked[key], (key, payload)
        assert stops == Counter(str(s.id) for s in model.sessions if not s.open)
        assert bans == Counter({str(p.id): p.bans for p in model.patients if p.bans})
        assert warnings == Counter({str(p.id): p.warnings for p in model.patients if p.warnings})

        # 候补: every entry is the model's, in arrival order; an offer is one held booking
        lines = snap["waitlist"]
        assert len(lines) == len(model.entries), (lines, model.entries)
        for w, r in zip(model.entries, lines, strict=True):
            got = (r["patient_id"], r["session_id"], r["status"], r["booking_no"])
            want = (
                model.patients[w.patient].id,
                model.sessions[w.session].id,
                w.status,
                w.booking.no if w.booking else None,
            )
            assert got == want, (w, dict(r))
            if r["status"] == "offered":
                assert stored[r["booking_no"]]["status"] == "held", (w, dict(r))
        for sid in {r["session_id"] for r in lines}:
            mine = [r for r in lines if r["session_id"] == sid]
            ever_offered = [r["id"] for r in mine if r["booking_no"] is not None]
            waiting = [r["id"] for r in mine if r["status"] == "waiting"]
            assert not ever_offered or not waiting or max(ever_offered) < min(waiting), mine
        booked_in = {(r["session_id"], r["patient_id"]) for r in active_rows}
        waiting_in = {(r["session_id"], r["patient_id"]) for r in lines if r["status"] == "waiting"}
        assert not booked_in & waiting_in, booked_in & waiting_in

        # money: balances are the model's and never negative
        balances = {r["id"]: r["balance"] for r in snap["patients"]}
        for p in model.patients:
            assert balances[p.id] == p.balance >= 0, (p, balances[p.id])


def _snapshot(tx):
    slots = yield rows("SELECT id, capacity, booked FROM slots ORDER BY id")
    bookings = yield rows(
        "SELECT booking_no, patient_id, slot_id, session_id, status, paid, place_no, queue_no, "
        "pool FROM bookings ORDER BY id"
    )
    pools = yield rows("SELECT session_id, pool, capacity, booked FROM session_pools")
    patients = yield rows("SELECT id, balance FROM patients ORDER BY id")
    waitlist = yield rows(
        "SELECT w.id, w.patient_id, w.session_id, w.status, b.booking_no FROM waitlist w "
        "LEFT JOIN bookings b ON b.id = w.offer_booking_id ORDER BY w.id"
    )
    events = yield from outbox.events(tx)
    return {
        "pools": [dict(r) for r in pools],
        "waitlist": [dict(r) for r in waitlist],
        "slots": [dict(r) for r in slots],
        "bookings": [dict(r) for r in bookings],
        "patients": [dict(r) for r in patients],
        "events": events,
    }


# --- the tests ---------------------------------------------------------------------------------

MACHINE_SETTINGS = {**SETTINGS, "stateful_step_count": 30}


def test_booking_services_state_machine_on_sqlite(tmp_path, migrated_sqlite) -> None:
    run_state_machine_as_test(
        lambda: BookingMachine(sqlite_databases(tmp_path, migrated_sqlite)),
        settings=settings(max_examples=60, **MACHINE_SETTINGS),
    )


@pytest.mark.postgres
def test_booking_services_state_machine_on_postgres(postgres_dsn, migrated_template) -> None:
    run_state_machine_as_test(
        lambda: BookingMachine(postgres_databases(postgres_dsn, migrated_template)),
        settings=settings(max_examples=20, **MACHINE_SETTINGS),
    )
