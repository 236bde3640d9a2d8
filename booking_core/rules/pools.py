"""Channel pools with staged release (号源池、分时放号): the plan a hospital's
``channel_pools`` rule record holds, validated, and the pure arithmetic of it.

The rule's value is JSON::

    {"roll_hours_before": 24,
     "pools": [{"pool": "referral", "percent": 30, "release_days": 28, "release_time": "07:30",
                "roll_at_public_release": true},
               {"pool": "ivr", "percent": 10}]}

- ``pool``: a channel that books (``ivr``, ``sms``, ``agent``, ``kiosk``, ``his``, ``api``) or
  ``referral`` (医联体/转诊: a booking a hospital system marks as a referral). Each at most once.
- ``percent`` (1–100, all together at most 100): the pool's share of a session's places,
  rounded down; every place no pool takes is the public pool's (公共号池), which every
  channel books.
- ``release_days`` / ``release_time``: when the pool opens (放号), that many days before the
  clinic day at that hospital-local time; by default the hospital's booking window and
  release time (the public pool's own release).
- The roll (转入公共池): at ``roll_hours_before`` hours before the session starts (the
  pool's own number, else the plan's, default 24), or at the public pool's release with
  ``roll_at_public_release``, whatever the pool has not booked goes to the public pool.

No pool (the default: the rule holds ``{"pools": []}``) or the rule switched off: every
place is public and booking is exactly as without pools.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..kernel.errors import InvalidInput

PUBLIC = "public"  # 公共号池: what no pool keeps, booked by every channel
REFERRAL = "referral"  # 医联体/转诊号池
POOL_NAMES = (REFERRAL, "ivr", "sms", "agent", "kiosk", "his", "api")
REFERRAL_CHANNELS = ("his", "api")  # who may mark a booking as a referral: hospital systems
DEFAULT_ROLL_HOURS = 24  # a day before the session: time left for the public to book the rest
MAX_ROLL_HOURS = 24 * 366
MAX_RELEASE_DAYS = 366  # 医联体 pools open weeks early, never years

_POOL_FIELDS = {"pool", "percent", "release_days", "release_time", "roll_hours_before"}
_POOL_FIELDS |= {"roll_at_public_release"}


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """One pool of the plan; None: the hospital's own booking window / release time."""

    pool: str
    percent: int
    release_days: int | None = None
    release_time: time | None = None
    roll_hours_before: int | None = None
    roll_at_public_release: bool = False


@dataclass(frozen=True, slots=True)
class PoolPlan:
    pools: tuple[PoolSpec, ...]
    roll_hours_before: int = DEFAULT_ROLL_HOURS

    def spec(self, pool: str) -> PoolSpec | None:
        return next((p for p in self.pools if p.pool == pool), None)

    def split(self, total: int) -> dict[str, int]:
        """The places of a session of ``total`` places per pool; the rest is public."""
        shares = {p.pool: total * p.percent // 100 for p in self.pools}
        return {**shares, PUBLIC: total - sum(shares.values())}


def _whole(raw: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput("value", f"channel_pools: {key} takes a whole number {low}–{high}")
    return value


def parse_plan(value: Any) -> PoolPlan:
    """The plan a rule value holds; InvalidInput saying what is wrong otherwise."""
    if not isinstance(value, Mapping) or not isinstance(value.get("pools", []), Sequence):
        raise InvalidInput("value", 'channel_pools takes {"pools": [...]}')
    unknown = set(value) - {"pools", "roll_hours_before"}
    if unknown:
        raise InvalidInput("value", f"channel_pools: unknown field {sorted(unknown)[0]}")
    plan_roll = _whole(value, "roll_hours_before", 0, MAX_ROLL_HOURS)
    specs: list[PoolSpec] = []
    for raw in value.get("pools", []):
        if not isinstance(raw, Mapping):
            raise InvalidInput("value", "channel_pools: each pool is an object")
        extra = set(raw) - _POOL_FIELDS
        if extra:
            raise InvalidInput("value", f"channel_pools: unknown field {sorted(extra)[0]}")
        name = raw.get("pool")
        if name not in POOL_NAMES:
            raise InvalidInput("value", f"channel_pools: pool is one of {', '.join(POOL_NAMES)}")
        if any(s.pool == name for s in specs):
            raise InvalidInput("value", f"channel_pools: pool {name} twice")
        percent = _whole(raw, "percent", 1, 100)
        if percent is None:
            raise InvalidInput("value", f"channel_pools: pool {name} needs a percent")
        at = raw.get("release_time")
        release_time = None
        if at is not None:
            try:
                release_time = time.fromisoformat(at)
            except (TypeError, ValueError) as err:
                raise InvalidInput("value", "channel_pools: release_time takes HH:MM") from err
        at_public = raw.get("roll_at_public_release", False)
        if not isinstance(at_public, bool):
            raise InvalidInput("value", "channel_pools: roll_at_public_release takes true/false")
        specs.append(
            PoolSpec(
                pool=name,
                percent=percent,
                release_days=_whole(raw, "release_days", 0, MAX_RELEASE_DAYS),
                release_time=release_time,
                roll_hours_before=_whole(raw, "roll_hours_before", 0, MAX_ROLL_HOURS),
                roll_at_public_release=at_public,
            )
        )
    if sum(s.percent for s in specs) > 100:
        raise InvalidInput("value", "channel_pools: the percents add up to more than 100")
    return PoolPlan(tuple(specs), DEFAULT_ROLL_HOURS if plan_roll is None else plan_roll)


def pool_of(channel: str, referral: bool) -> str:
    """The pool a booking from ``channel`` draws on first (its own)."""
    if referral:
        if channel not in REFERRAL_CHANNELS:
            raise InvalidInput("referral", "only a hospital system marks a referral (转诊)")
        return REFERRAL
    return channel


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """What pool instants of one session depend on: its local day and start, and the
    public release (the hospital's 放号 for that day)."""

    day: date
    starts_at: datetime
    public_release: datetime
    tz: ZoneInfo


def release_of(spec: PoolSpec, times: SessionTimes, window_days: int, at: time) -> datetime:
    """When ``spec``'s pool opens for the session (its own days/time, else the hospital's)."""
    days = window_days if spec.release_days is None else spec.release_days
    clock = at if spec.release_time is None else spec.release_time
    return datetime.combine(times.day - timedelta(days=days), clock, tzinfo=times.tz)


def roll_of(spec: PoolSpec, plan: PoolPlan, times: SessionTimes) -> datetime:
    """When what the pool has not booked goes to the public pool."""
    if spec.roll_at_public_release:
        return times.public_release
    hours = plan.roll_hours_before if spec.roll_hours_before is None else spec.roll_hours_before
    return times.starts_at - timedelta(hours=hours)


def roll_at(plan: PoolPlan, pool: str, times: SessionTimes) -> datetime:
    """:func:`roll_of` by name; a pool the plan no longer has rolls at the public release."""
    spec = plan.spec(pool)
    return times.public_release if spec is None else roll_of(spec, plan, times)


@dataclass(frozen=True, slots=True)
class PoolCount:
    """A pool's counter of one session: ``rolled`` once its free places went public."""

    pool: str
    capacity: int
    booked: int
    rolled: bool = False

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass(frozen=True, slots=True)
class Reach:
    """What a channel may book in one session at an instant: ``own`` (its pool, open and not
    rolled) and ``public`` (the public pool's free places with the rolls due, once the
    public release has passed), and the pools it may take from, in order."""

    own: int
    public: int
    order: tuple[str, ...]
    opens_at: datetime | None  # the next release that would give this channel places

    @property
    def free(self) -> int:
        return self.own + self.public


def reach(
    plan: PoolPlan,
    counts: Mapping[str, PoolCount],
    pool: str,
    now: datetime,
    times: SessionTimes,
    window_days: int,
    release_at: time,
) -> Reach:
    """What the channel whose own pool is ``pool`` may book at ``now`` (pure)."""
    spec = plan.spec(pool)
    public_open = now >= times.public_release
    public_free = counts[PUBLIC].free if public_open and PUBLIC in counts else 0
    if public_open:
        for c in counts.values():
            if c.pool != PUBLIC and not c.rolled and now >= roll_at(plan, c.pool, times):
                public_free += c.free  # due to roll: the public's already
    own = 0
    order: list[str] = []
    opens: list[datetime] = []
    if spec is not None and pool in counts:
        count = counts[pool]
        released = release_of(spec, times, window_days, release_at)
        rolled = count.rolled or now >= roll_of(spec, plan, times)
        if not rolled and now >= released:
            own = count.free
            order.append(pool)
        elif not rolled and now < released:
            opens.append(released)
    if public_open:
        order.append(PUBLIC)
    else:
        opens.append(times.public_release)
    return Reach(own, public_free, tuple(order), min(opens) if opens else None)


def last_open_day(
    plan: PoolPlan, pool: str, now: datetime, tz: ZoneInfo, window_days: int, release_at: time
) -> date | None:
    """The last clinic day whose ``pool`` has been released at ``now`` (its own staged
    release; None: the pool has no spec and opens with the public pool)."""
    spec = plan.spec(pool)
    if spec is None:
        return None
    local = now.astimezone(tz)
    days = window_days if spec.release_days is None else spec.release_days
    clock = release_at if spec.release_time is None else spec.release_time
    last = local.date() + timedelta(days=days)
    return last if local.time() >= clock else last - timedelta(days=1)
