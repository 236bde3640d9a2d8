"""The credit ladder (信用阶梯): strikes counted in a rolling period, each strike a step.

What earns a strike (each counted by its own rule record):

* a no-show (爽约), found by the no-show sweep: counted from its session's end;
* every Nth same-day cancellation (当日退号: the patient cancelled on the clinic day) within
  ``same_day_cancel_strike``'s period;
* every Nth cancellation by the patient within ``book_cancel_strike``'s period (频繁预约取消:
  booking and cancelling again and again).

A cancellation counts towards one strike only: a cancellation strike consumes every
cancellation counted so far, and one cancellation gives at most one strike (the same-day
rule is asked first). Cancellations are counted while the ladder is on.

The strikes share one ladder (``credit_ladder``: the ban days of the 1st, 2nd, 3rd …
strike within its period, 0 a warning text; past its end the last step repeats). A strike's
number counts the strikes given so far whose instant lies within the period before *its
own* instant (a no-show's is its session's end), so a sweep that runs late (an outage)
counts back as an on-time one would have; a strike older than the period (365 days + 1
second, by default) no longer counts.

With ``credit_platform_wide`` (the platform's rule) on, a ladder ban applies at every
hospital and the strikes of the same person (the ID number's blind index) at every
hospital count together.

When the ladder is switched off, the fixed no-show ban (``no_show_blacklist`` +
``blacklist_ban_days``, :func:`.handlers.apply_no_show_rule`) is the rule again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..events.audit import AuditAction
from ..events.model import CreditWarned
from ..kernel.actor import Actor
from ..kernel.deps import Deps
from ..kernel.unit import Tx, Unit, execute, from_epoch, rows, to_epoch, val
from ..patients.repo import patient_by_id
from ..rules.checks import at_local
from ..rules.model import RuleKey, RuleSet, ladder_step
from ..rules.repo import cached_rules
from .bans import PlannedBan, insert_ban
from .model import BanSource
from .repo import active_ban

DEFAULT_PERIOD = timedelta(days=365)  # a rolling year, should a record lack its period


class StrikeKind(StrEnum):
    """What earned a strike on the credit ladder."""

    NO_SHOW = "no_show"  # 爽约
    SAME_DAY_CANCEL = "same_day_cancel"  # 当日退号
    BOOK_CANCEL = "book_cancel"  # 频繁预约取消


@dataclass(frozen=True, slots=True)
class Strike:
    """What the ladder did with one strike: its number in the period and the days of its
    step (0: a warning); ``ban_id`` the ban it put on (None: a warning, or a longer ban
    already in force)."""

    id: int
    number: int
    days: int
    ban_id: int | None


def within_period(at: datetime, ref: datetime, period: timedelta) -> bool:
    """Whether a strike at ``at`` still counts for one at ``ref``: at most ``period`` before
    it (exactly a year before counts; a year and a second does not). A strike recorded
    earlier with a later instant (a cancellation before a late sweep found a no-show) counts
    too: the number is of the strikes given so far."""
    return ref - period <= at


def ladder_ban_end(now: datetime, days: int, tz: ZoneInfo) -> datetime:
    """A ban of ``days`` days ends at local midnight after its last day, today as day 1."""
    today = now.astimezone(tz).date()
    return at_local(today + timedelta(days=days), time(0, 0), tz)


def ladder_on(rules: RuleSet) -> bool:
    return rules.on(RuleKey.CREDIT_LADDER)


def _period(rules: RuleSet, key: RuleKey) -> timedelta:
    return rules.rule(key).period or DEFAULT_PERIOD


def _same_person(patient_id: int, platform_wide: bool) -> tuple[str, tuple[int, ...]]:
    """SQL over ``cs.patient_id``: this patient, or (platform-wide) every record of theirs."""
    if not platform_wide:
        return "cs.patient_id = ?", (patient_id,)
    return (
        "(cs.patient_id = ? OR cs.patient_id IN (SELECT o.id FROM patients o JOIN patients me "
        "ON me.id = ? WHERE me.id_index IS NOT NULL AND o.id_index = me.id_index))",
        (patient_id, patient_id),
    )


def add_strike(
    tx: Tx,
    *,
    patient_id: int,
    hospital_id: int,
    kind: StrikeKind,
    booking_id: int,
    at: datetime,
    actor: Actor,
    deps: Deps,
) -> Unit[Strike | None]:
    """Record one strike and take its step on the ladder: a warning text, or a ban (with its
    text). None: the ladder is off, or this booking's strike of this kind is counted already."""
    rules = yield from cached_rules(deps.cache, hospital_id)
    if not ladder_on(rules):
        return None
    yield from patient_by_id(patient_id, lock=True)  # two engines' sweeps: one strike
    counted = yield val(
        "SELECT count(*) FROM credit_strikes WHERE booking_id = ? AND kind = ?",
        booking_id,
        str(kind),
    )
    if counted:
        return None
    platform_wide = rules.on(RuleKey.CREDIT_PLATFORM_WIDE)
    period = _period(rules, RuleKey.CREDIT_LADDER)
    who, args = _same_person(patient_id, platform_wide)
    earlier = yield rows(
        f"SELECT cs.at FROM credit_strikes cs WHERE {who} AND cs.at >= ?",
        *args,
        to_epoch(at - period),
    )
    number = 1 + sum(1 for r in earlier if within_period(from_epoch(r["at"]), at, period))
    steps = list(rules.value(RuleKey.CREDIT_LADDER))
    days = ladder_step(steps, number)
    tz_name = yield val("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
    ban_id: int | None = None
    if days:
        ends_at = ladder_ban_end(tx.now, days, ZoneInfo(tz_name))
        current = yield from active_ban(patient_id, hospital_id, tx.epoch)
        if current is None or current.ends_at < ends_at:
            ban_id = yield from _ban(
                tx, patient_id, hospital_id, None if platform_wide else hospital_id,
                ends_at, number, kind, period, actor,
            )  # fmt: skip
    strike_id: int = yield val(
        "INSERT INTO credit_strikes (hospital_id, patient_id, kind, booking_id, at, step, "
        "action, ban_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        hospital_id,
        patient_id,
        str(kind),
        booking_id,
        to_epoch(at),
        number,
        "ban" if days else "warning",
        ban_id,
        tx.epoch,
    )
    if not days:
        warned = CreditWarned(
            hospital_id=hospital_id,
            patient_id=patient_id,
            strike=number,
            kind=str(kind),
            next_ban_days=ladder_step(steps, number + 1),
            period_days=period.days,
        )
        tx.emit(warned)
        tx.audit(
            actor,
            AuditAction.CREDIT_WARNED,
            "patient",
            patient_id,
            hospital_id=hospital_id,
            after=warned.payload(),
        )
    return Strike(strike_id, number, days, ban_id)


def _ban(
    tx: Tx,
    patient_id: int,
    hospital_id: int,
    scope: int | None,
    ends_at: datetime,
    number: int,
    kind: StrikeKind,
    period: timedelta,
    actor: Actor,
) -> Unit[int]:
    reason = f"credit: strike {number} within {period.days} days ({kind})"
    ban = PlannedBan(
        patient_id, hospital_id, scope, reason, BanSource.CREDIT, ends_at, strike=number
    )
    return (yield from insert_ban(tx, ban, actor))


def after_cancellation(
    tx: Tx,
    *,
    patient_id: int,
    hospital_id: int,
    booking_id: int,
    day: date,
    actor: Actor,
    deps: Deps,
) -> Unit[Strike | None]:
    """The patient has just cancelled ``booking_id`` (of clinic day ``day``): counted, then a
    strike when it makes N same-day cancellations, else N cancellations, not yet consumed by
    a strike within each rule's period."""
    rules = yield from cached_rules(deps.cache, hospital_id)
    if not ladder_on(rules):
        return None
    tz_name = yield val("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
    same_day = tx.now.astimezone(ZoneInfo(tz_name)).date() == day
    yield execute(
        "INSERT INTO credit_cancels (hospital_id, patient_id, booking_id, at, same_day) "
        "VALUES (?, ?, ?, ?, ?)",
        hospital_id,
        patient_id,
        booking_id,
        tx.epoch,
        int(same_day),
    )
    checks: list[tuple[StrikeKind, RuleKey]] = []
    if same_day:
        checks.append((StrikeKind.SAME_DAY_CANCEL, RuleKey.SAME_DAY_CANCEL_STRIKE))
    checks.append((StrikeKind.BOOK_CANCEL, RuleKey.BOOK_CANCEL_STRIKE))
    for kind, key in checks:
        every = rules.limit(key)
        if not every:
            continue
        since = tx.epoch - int(_period(rules, key).total_seconds())
        count = yield val(
            "SELECT count(*) FROM credit_cancels WHERE patient_id = ? AND consumed_by IS NULL "
            "AND at >= ?" + (" AND same_day = 1" if kind is StrikeKind.SAME_DAY_CANCEL else ""),
            patient_id,
            since,
        )
        if count < every:
            continue
        strike = yield from add_strike(
            tx,
            patient_id=patient_id,
            hospital_id=hospital_id,
            kind=kind,
            booking_id=booking_id,
            at=tx.now,
            actor=actor,
            deps=deps,
        )
        if strike is not None:
            yield execute(
                "UPDATE credit_cancels SET consumed_by = ? WHERE patient_id = ? "
                "AND consumed_by IS NULL",
                strike.id,
                patient_id,
            )
        return strike
    return None
