"""Channel pools with staged release (号源池、分时放号): a session's guarded counter per pool.

A hospital's ``channel_pools`` rule (:mod:`booking_core.rules.pools`) splits each session's
places into pools. The split is made at the session's first booking under the rule (rows of
``session_pools``), each pool a counter taken like a slot's (``booked < capacity`` in one
UPDATE), so no pool is ever over its places, whatever runs at once; the slot's own counter
keeps the total. A pool's roll (its free places to the public pool) is done by the first
booking that finds it due, in the same transaction: its capacity shrinks to what it has
booked and the public pool's grows by as much, so the sum of the pools stays the session's.

Lock order (PostgreSQL): the slot row first (the caller's claim), then pool rows, a pool
before the public pool; a cancellation frees the slot place, then the pool's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time
from zoneinfo import ZoneInfo

from ..kernel.errors import BookingError, ChannelFull, OutsideBookingWindow, SlotFull
from ..kernel.unit import Row, Tx, Unit, execute, from_epoch, one, rows, val
from ..rules.checks import release_instant
from ..rules.model import RuleKey, RuleSet
from ..rules.pools import PUBLIC, PoolCount, PoolPlan, Reach, SessionTimes, reach, roll_at

ACTIVE = "('held', 'confirmed', 'checked_in')"  # bookings.model.ACTIVE_SQL (a layer above)


def session_times(day: date, starts_at_epoch: int, rules: RuleSet, tz: ZoneInfo) -> SessionTimes:
    starts_at = from_epoch(starts_at_epoch)
    assert starts_at is not None
    return SessionTimes(day, starts_at, release_instant(day, rules, tz), tz)


def window_of(rules: RuleSet) -> tuple[int, time]:
    """The hospital's own booking window (days) and release time: a pool's by default."""
    return (
        int(rules.value(RuleKey.BOOKING_WINDOW_DAYS)),
        time.fromisoformat(rules.value(RuleKey.RELEASE_TIME)),
    )


def _count(r: Row) -> PoolCount:
    return PoolCount(r["pool"], r["capacity"], r["booked"], r["rolled_at"] is not None)


def pool_counts(session_id: int) -> Unit[dict[str, PoolCount]]:
    """The session's pool counters by pool name ({} before its first booking under pools)."""
    found = yield rows(
        "SELECT pool, capacity, booked, rolled_at FROM session_pools WHERE session_id = ?",
        session_id,
    )
    return {r["pool"]: _count(r) for r in found}


def counts_of_sessions(session_ids: list[int]) -> Unit[dict[int, dict[str, PoolCount]]]:
    """:func:`pool_counts` of many sessions in one read (for listings)."""
    out: dict[int, dict[str, PoolCount]] = {}
    if not session_ids:
        return out
    marks = ", ".join("?" * len(session_ids))
    found = yield rows(
        "SELECT session_id, pool, capacity, booked, rolled_at FROM session_pools "
        f"WHERE session_id IN ({marks})",
        *session_ids,
    )
    for r in found:
        out.setdefault(r["session_id"], {})[r["pool"]] = _count(r)
    return out


def planned_counts(plan: PoolPlan, total: int) -> dict[str, PoolCount]:
    """The counters a session of ``total`` places would get now (none booked yet)."""
    return {pool: PoolCount(pool, n, 0) for pool, n in plan.split(total).items()}


def ensure_pools(tx: Tx, session_id: int, plan: PoolPlan) -> Unit[None]:
    """The session's pool rows, made from ``plan`` if it has none; a session whose places
    changed since (a schedule import, 加号) has the difference in its public pool."""
    total = yield val(
        "SELECT coalesce(sum(capacity), 0) FROM slots WHERE session_id = ?", session_id
    )
    have = yield val("SELECT sum(capacity) FROM session_pools WHERE session_id = ?", session_id)
    if have is None:
        # bookings from before the pools (no pool of their own) are the public pool's
        before = yield val(
            f"SELECT count(*) FROM bookings WHERE session_id = ? AND status IN {ACTIVE}",
            session_id,
        )
        made = False
        for pool, places in sorted(plan.split(int(total)).items()):
            new_id = yield val(
                "INSERT INTO session_pools (session_id, pool, capacity, booked, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                session_id,
                pool,
                places,
                int(before) if pool == PUBLIC else 0,
                tx.epoch,
            )
            made = made or new_id is not None
        if made:  # they now hold public places: a cancellation gives them back there
            yield execute(
                f"UPDATE bookings SET pool = ? WHERE session_id = ? AND status IN {ACTIVE} "
                "AND pool IS NULL",
                PUBLIC,
                session_id,
            )
        return
    if int(have) != int(total):
        # counted again under the public pool's lock: two bookings never add it twice
        yield one(
            "SELECT id FROM session_pools WHERE session_id = ? AND pool = ?",
            session_id,
            PUBLIC,
            lock=True,
        )
        have = yield val("SELECT sum(capacity) FROM session_pools WHERE session_id = ?", session_id)
        larger = "max" if tx.dialect == "sqlite" else "greatest"
        yield execute(
            f"UPDATE session_pools SET capacity = {larger}(capacity + ?, booked), updated_at = ? "
            "WHERE session_id = ? AND pool = ?",
            int(total) - int(have),
            tx.epoch,
            session_id,
            PUBLIC,
        )


def roll_due(tx: Tx, session_id: int, plan: PoolPlan, times: SessionTimes) -> Unit[None]:
    """Every pool whose roll instant has come gives its free places to the public pool."""
    found = yield rows(
        "SELECT id, pool FROM session_pools WHERE session_id = ? AND pool <> ? "
        "AND rolled_at IS NULL ORDER BY pool",
        session_id,
        PUBLIC,
    )
    for r in found:
        if tx.now < roll_at(plan, r["pool"], times):
            continue
        row = yield one(
            "SELECT capacity, booked FROM session_pools WHERE id = ? AND rolled_at IS NULL",
            r["id"],
            lock=True,
        )
        if row is None:  # another booking rolled it first
            continue
        moved = max(row["capacity"] - row["booked"], 0)
        yield execute(
            "UPDATE session_pools SET capacity = booked, rolled_at = ?, updated_at = ? "
            "WHERE id = ?",
            tx.epoch,
            tx.epoch,
            r["id"],
        )
        yield execute(
            "UPDATE session_pools SET capacity = capacity + ?, updated_at = ? "
            "WHERE session_id = ? AND pool = ?",
            moved,
            tx.epoch,
            session_id,
            PUBLIC,
        )


def take_pool(tx: Tx, session_id: int, pool: str) -> Unit[bool]:
    """The pool's guard: one more place if it has one, in one statement (a concurrent
    booking waits for the row and counts again)."""
    taken = yield val(
        "UPDATE session_pools SET booked = booked + 1, updated_at = ? "
        "WHERE session_id = ? AND pool = ? AND booked < capacity RETURNING booked",
        tx.epoch,
        session_id,
        pool,
    )
    return taken is not None


def take_for(
    tx: Tx,
    *,
    slot_id: int,
    session_id: int,
    times: SessionTimes,
    plan: PoolPlan,
    rules: RuleSet,
    pool: str,
    channel: str,
) -> Unit[str]:
    """A place for a channel whose own pool is ``pool``: from it while it is open, else
    from the public pool once released; the pool taken. Refused with the next release
    when one is still to come for this channel (OutsideBookingWindow), with ChannelFull
    when other channels' pools still have places, else SlotFull."""
    yield from ensure_pools(tx, session_id, plan)
    yield from roll_due(tx, session_id, plan, times)
    counts = yield from pool_counts(session_id)
    window_days, release_at = window_of(rules)
    can = reach(plan, counts, pool, tx.now, times, window_days, release_at)
    for candidate in can.order:
        if (yield from take_pool(tx, session_id, candidate)):
            return candidate
    raise refusal(tx, slot_id, counts, can, times, channel, pool)


def refusal(
    tx: Tx,
    slot_id: int,
    counts: dict[str, PoolCount],
    can: Reach,
    times: SessionTimes,
    channel: str,
    pool: str,
) -> BookingError:
    """Why nothing could be taken: a release still to come for this channel, places left
    only in other channels' pools (号源池), or none at all."""
    if can.opens_at is not None and can.opens_at > tx.now:
        return OutsideBookingWindow(opens_at=can.opens_at.astimezone(times.tz))
    others = sum(c.free for c in counts.values() if c.pool not in (pool, PUBLIC) and not c.rolled)
    if others > 0:
        return ChannelFull(slot_id=slot_id, channel=channel)
    return SlotFull(slot_id=slot_id)


def place_anywhere(tx: Tx, session_id: int, plan: PoolPlan, preferred: str | None) -> Unit[str]:
    """A place for a booking the hospital moves here (停诊): its own pool, else the public,
    else any pool with one; the slot's guard already found a place, so one pool has it."""
    yield from ensure_pools(tx, session_id, plan)
    counts = yield from pool_counts(session_id)
    order = [p for p in (preferred, PUBLIC) if p in counts]
    order += sorted(p for p in counts if p not in order)
    for candidate in order:
        if (yield from take_pool(tx, session_id, candidate)):
            return candidate
    return PUBLIC  # the counters disagree with the slots: the slot's guard holds the total


def give_back(tx: Tx, session_id: int, pool: str | None) -> Unit[None]:
    """A cancelled or moved booking's place back to the pool it took it from; a pool that
    rolled since gives it on to the public pool. Nothing for a booking no pool counts (the
    hospital had no pools when it was made)."""
    if pool is None:
        return
    row = yield one(
        "SELECT id, rolled_at FROM session_pools WHERE session_id = ? AND pool = ?",
        session_id,
        pool,
        lock=True,
    )
    if row is None:
        return
    if row["rolled_at"] is None or pool == PUBLIC:
        yield execute(
            "UPDATE session_pools SET booked = booked - 1, updated_at = ? "
            "WHERE id = ? AND booked > 0",
            tx.epoch,
            row["id"],
        )
        return
    yield execute(
        "UPDATE session_pools SET booked = booked - 1, capacity = capacity - 1, updated_at = ? "
        "WHERE id = ? AND booked > 0",
        tx.epoch,
        row["id"],
    )
    yield execute(
        "UPDATE session_pools SET capacity = capacity + 1, updated_at = ? "
        "WHERE session_id = ? AND pool = ?",
        tx.epoch,
        session_id,
        PUBLIC,
    )


# --- what a channel may book, for listings (号源查询 per channel) --------------------------


def reach_of_sessions(
    tx: Tx,
    plan: PoolPlan,
    rules: RuleSet,
    tz: ZoneInfo,
    sessions: dict[int, tuple[date, int]],
    pool: str,
) -> Unit[dict[int, Reach]]:
    """For each session (id → its day and start epoch), what the channel whose own pool is
    ``pool`` may book at the read's instant (nothing open to it yet: what opens to it next,
    with no pool to take from now); a session not booked since the pools were set is
    counted as its first booking would split it."""
    counts = yield from counts_of_sessions(list(sessions))
    missing = [sid for sid in sessions if sid not in counts]
    if missing:
        marks = ", ".join("?" * len(missing))
        totals = yield rows(
            "SELECT session_id, sum(capacity) AS total FROM slots "
            f"WHERE session_id IN ({marks}) GROUP BY session_id",
            *missing,
        )
        for r in totals:
            counts[r["session_id"]] = planned_counts(plan, int(r["total"]))
    window_days, release_at = window_of(rules)
    out: dict[int, Reach] = {}
    for sid, (day, starts_at) in sessions.items():
        times = session_times(day, starts_at, rules, tz)
        have = counts.get(sid, {})
        can = reach(plan, have, pool, tx.now, times, window_days, release_at)
        if not can.order and can.opens_at is not None:
            # nothing open to it yet: what it will find open then (as bookings stand now)
            then = reach(plan, have, pool, can.opens_at, times, window_days, release_at)
            can = replace(then, order=(), opens_at=can.opens_at)
        out[sid] = can
    return out
