"""Booking rules (规则): records with platform defaults and per-hospital overrides.

A rule record has a key, a value, enabled, a priority, a hospital (None: the
whole platform) and a check period (type and value). For each key the enabled
or disabled record with the highest priority wins; on equal priority the
hospital's own record beats the platform's. A winning record that is disabled
switches the rule off.

The checks here are pure: they take instants and values and raise the typed
domain errors; the handlers feed them from the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from ..kernel.errors import InvalidInput
from .calendar import Calendar, CalendarEntry, parse_closed_hours
from .eligibility import parse_eligibility
from .pools import PoolPlan, parse_plan


class RuleKey(StrEnum):
    REAL_NAME = "real_name"  # 实名制: name + valid resident ID + phone
    BOOKING_WINDOW_DAYS = "booking_window_days"  # 预约周期: today .. today + N
    RELEASE_TIME = "release_time"  # 放号时间: when day today+N opens
    BOOKING_CUTOFF_MINUTES = "booking_cutoff_minutes"  # 截止: minutes before session start
    PREPAY_REQUIRED = "prepay_required"  # 预付: bookings are held until paid
    HOLD_MINUTES = "hold_minutes"  # 未支付锁号时长
    PER_DEPARTMENT_PER_DAY = "per_department_per_day"  # 同科室同日限号
    MAX_ACTIVE_PER_PATIENT = "max_active_per_patient"  # 每人有效预约上限
    PATIENTS_PER_PHONE = "patients_per_phone"  # 一个手机号可为几人预约 (per period)
    CANCEL_DEADLINE_MINUTES = "cancel_deadline_minutes"  # 退号截止: minutes before start
    RESCHEDULE_DEADLINE_DAYS = "reschedule_deadline_days"  # 改约: until N-1 days' end before
    NO_SHOW_BLACKLIST = "no_show_blacklist"  # 爽约: N no-shows within the period → ban
    BLACKLIST_BAN_DAYS = "blacklist_ban_days"  # 黑名单期限
    # 信用阶梯: strikes in a rolling period → steps (a list of ban days, 0 a warning text);
    # when on it supersedes the fixed no-show ban of the two keys above
    CREDIT_LADDER = "credit_ladder"
    SAME_DAY_CANCEL_STRIKE = "same_day_cancel_strike"  # 当日退号: every N in the period, a strike
    BOOK_CANCEL_STRIKE = "book_cancel_strike"  # 频繁预约取消: every N cancels in the period
    CREDIT_PLATFORM_WIDE = "credit_platform_wide"  # 全平台信用: ladder bans at every hospital
    BLACKLIST_CHECK = "blacklist_check"  # refuse blacklisted patients
    AGENT_DIRECT_DEBIT = "agent_direct_debit"  # agent desks may debit the prepaid balance
    SMS_CODES_PER_MINUTE = "sms_codes_per_minute"  # phone verification codes
    SMS_REGISTRATIONS_PER_DAY = "sms_registrations_per_day"  # ZC texts per phone per local day
    IVR_LOOKUPS_PER_HOUR = "ivr_lookups_per_hour"  # card/ID numbers typed per caller ID per hour
    ELIGIBILITY = "eligibility"  # 就诊资格: age, sex, first visit with an ID, per department code
    CLOSED_DAYS = "closed_days"  # 节假日停约: public holidays (and weekends) closed, 调休 open
    CLOSED_HOURS = "closed_hours"  # 停止预约时段: "HH:MM-HH:MM" hospital-local, e.g. 00:00-06:30
    LATE_PAYMENT = "late_payment"  # 超时支付: "refund" or "confirm_if_free" (place still free)
    # 公平放号: requests within N seconds of a release (or of a wave of expired holds) are
    # queued and drawn by lot when the window closes; 0 or disabled: first come, first served
    FAIR_ADMISSION_SECONDS = "fair_admission_seconds"
    # 放号排队上限（每人）: draws one patient may be queued in at once (one per session)
    DRAW_REQUESTS_PER_PATIENT = "draw_requests_per_patient"
    # 放号限频（每手机号）: queued requests one phone may make per minute
    DRAW_REQUESTS_PER_PHONE_PER_MINUTE = "draw_requests_per_phone_per_minute"
    CHANNEL_POOLS = "channel_pools"  # 号源池、分时放号: places per channel, released in stages
    WAITLIST = "waitlist"  # 候补: patients may join the line of a full session
    WAITLIST_OFFER_MINUTES = "waitlist_offer_minutes"  # 候补确认时限: an offer is held this long
    EXTRA_PLACES_PER_SESSION = "extra_places_per_session"  # 加号上限: places added per session


class PeriodType(StrEnum):
    DAYS = "days"
    HOURS = "hours"


@dataclass(frozen=True, slots=True)
class Rule:
    key: RuleKey
    value: Any
    enabled: bool = True
    priority: int = 0
    hospital_id: int | None = None
    period_type: PeriodType | None = None
    period_value: int | None = None

    @property
    def period(self) -> timedelta | None:
        if self.period_type is None or self.period_value is None:
            return None
        if self.period_type is PeriodType.DAYS:
            return timedelta(days=self.period_value)
        return timedelta(hours=self.period_value)

    def value_json(self) -> str:
        return json.dumps(self.value)


_DAYS = PeriodType.DAYS

PLATFORM_DEFAULTS: tuple[Rule, ...] = (
    Rule(RuleKey.REAL_NAME, True),
    Rule(RuleKey.BOOKING_WINDOW_DAYS, 7),
    Rule(RuleKey.RELEASE_TIME, "07:30"),
    Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 0),
    Rule(RuleKey.PREPAY_REQUIRED, False),
    Rule(RuleKey.HOLD_MINUTES, 15),
    Rule(RuleKey.PER_DEPARTMENT_PER_DAY, 1),
    Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 5),
    Rule(RuleKey.PATIENTS_PER_PHONE, 5, period_type=_DAYS, period_value=30),
    Rule(RuleKey.CANCEL_DEADLINE_MINUTES, 0),
    Rule(RuleKey.RESCHEDULE_DEADLINE_DAYS, 1),
    Rule(RuleKey.NO_SHOW_BLACKLIST, 3, period_type=_DAYS, period_value=90),
    Rule(RuleKey.BLACKLIST_BAN_DAYS, 90),
    Rule(RuleKey.BLACKLIST_CHECK, True),
    # 1st strike a warning text, 2nd 30 days, 3rd and more 90 days, within a rolling year
    Rule(RuleKey.CREDIT_LADDER, [0, 30, 90], period_type=_DAYS, period_value=365),
    Rule(RuleKey.SAME_DAY_CANCEL_STRIKE, 3, period_type=_DAYS, period_value=365),
    Rule(RuleKey.BOOK_CANCEL_STRIKE, 5, period_type=_DAYS, period_value=30),
    Rule(RuleKey.CREDIT_PLATFORM_WIDE, False),
    Rule(RuleKey.AGENT_DIRECT_DEBIT, False),
    Rule(RuleKey.SMS_CODES_PER_MINUTE, 1),
    # a family registers a few people at once; a stranger trying ID numbers gets 3 a day
    Rule(RuleKey.SMS_REGISTRATIONS_PER_DAY, 3),
    # a family calls for a few relatives; a stranger trying card numbers is stopped early
    Rule(RuleKey.IVR_LOOKUPS_PER_HOUR, 10),
    # no department restricted until the hospital says which (a JSON object by department code)
    Rule(RuleKey.ELIGIBILITY, {}),
    # "none": no day is closed but the hospital's own calendar entries (节假日表)
    Rule(RuleKey.CLOSED_DAYS, "none"),
    # "": booking open round the clock until a hospital sets its hours (e.g. "00:00-06:30")
    Rule(RuleKey.CLOSED_HOURS, ""),
    Rule(RuleKey.LATE_PAYMENT, "refund"),
    # off until a hospital turns it on: 10 s covers the burst at 07:30 (grab scripts fire
    # within the first second) and is short enough that nobody waits long for the text
    Rule(RuleKey.FAIR_ADMISSION_SECONDS, 0),
    # a patient may try a few doctors at one release, never a whole department
    Rule(RuleKey.DRAW_REQUESTS_PER_PATIENT, 3),
    # a family asks for a few relatives; a grab script on one phone is stopped at once
    Rule(RuleKey.DRAW_REQUESTS_PER_PHONE_PER_MINUTE, 5),
    # no pool: every place is public, booked as before pools existed
    Rule(RuleKey.CHANNEL_POOLS, {"pools": []}),
    Rule(RuleKey.WAITLIST, True),
    # two hours to confirm or pay a place offered from the waitlist (never past the cut-off)
    Rule(RuleKey.WAITLIST_OFFER_MINUTES, 120),
    # a doctor sees a few more patients than scheduled, not a second clinic
    Rule(RuleKey.EXTRA_PLACES_PER_SESSION, 5),
)
"""Priority 0 platform records; any stored record of priority >= 0 can override them."""

REFUSALS: dict[RuleKey, tuple[str, ...]] = {
    RuleKey.REAL_NAME: ("real_name_mismatch", "invalid_id_number"),
    RuleKey.BOOKING_WINDOW_DAYS: ("outside_window",),
    RuleKey.RELEASE_TIME: ("outside_window",),
    RuleKey.BOOKING_CUTOFF_MINUTES: ("booking_closed",),
    RuleKey.PER_DEPARTMENT_PER_DAY: ("limit_reached",),
    RuleKey.MAX_ACTIVE_PER_PATIENT: ("limit_reached",),
    RuleKey.PATIENTS_PER_PHONE: ("limit_reached",),
    RuleKey.CANCEL_DEADLINE_MINUTES: ("cancel_deadline_passed",),
    RuleKey.RESCHEDULE_DEADLINE_DAYS: ("reschedule_deadline_passed",),
    RuleKey.NO_SHOW_BLACKLIST: ("blacklisted",),
    RuleKey.BLACKLIST_BAN_DAYS: ("blacklisted",),
    RuleKey.BLACKLIST_CHECK: ("blacklisted",),
    RuleKey.CREDIT_LADDER: ("blacklisted", "no_ban_to_appeal", "appeal_pending"),
    RuleKey.SAME_DAY_CANCEL_STRIKE: ("blacklisted",),
    RuleKey.BOOK_CANCEL_STRIKE: ("blacklisted",),
    RuleKey.CREDIT_PLATFORM_WIDE: ("blacklisted",),
    RuleKey.SMS_REGISTRATIONS_PER_DAY: ("limit_reached",),
    RuleKey.IVR_LOOKUPS_PER_HOUR: ("limit_reached",),
    RuleKey.ELIGIBILITY: ("not_eligible",),
    RuleKey.CLOSED_DAYS: ("day_closed",),
    RuleKey.CLOSED_HOURS: ("closed_hours",),
    RuleKey.LATE_PAYMENT: ("invalid_state",),  # refund: the payment refused as hold_expired
    RuleKey.FAIR_ADMISSION_SECONDS: ("queued", "already_queued"),
    RuleKey.DRAW_REQUESTS_PER_PATIENT: ("limit_reached",),
    RuleKey.DRAW_REQUESTS_PER_PHONE_PER_MINUTE: ("limit_reached",),
    RuleKey.CHANNEL_POOLS: ("channel_full", "outside_window"),
    RuleKey.WAITLIST: ("waitlist_closed", "waitlist_not_needed", "already_waiting"),
    RuleKey.EXTRA_PLACES_PER_SESSION: ("extra_places_exhausted",),
}
"""The error codes (:mod:`booking_core.kernel.errors`) a rule refuses with, for the rules
page and ``docs/rules.md``: every door words each code for its audience. A rule that never
refuses anyone (the hold time, prepayment; a code already texted this minute is
answered "sent a moment ago", not refused) has no entry."""

_VALUE_TYPES: dict[RuleKey, type] = {
    RuleKey.REAL_NAME: bool,
    RuleKey.RELEASE_TIME: str,
    RuleKey.PREPAY_REQUIRED: bool,
    RuleKey.BLACKLIST_CHECK: bool,
    RuleKey.AGENT_DIRECT_DEBIT: bool,
    RuleKey.CREDIT_LADDER: list,
    RuleKey.CREDIT_PLATFORM_WIDE: bool,
    RuleKey.ELIGIBILITY: dict,
    RuleKey.CLOSED_DAYS: str,
    RuleKey.CLOSED_HOURS: str,
    RuleKey.LATE_PAYMENT: str,
    RuleKey.CHANNEL_POOLS: dict,  # JSON: see rules/pools.py
    RuleKey.WAITLIST: bool,
}

MAX_LADDER_STEPS = 10  # a ladder a person reads at a glance

PERIOD_KEYS = (
    RuleKey.PATIENTS_PER_PHONE,
    RuleKey.NO_SHOW_BLACKLIST,
    RuleKey.CREDIT_LADDER,
    RuleKey.SAME_DAY_CANCEL_STRIKE,
    RuleKey.BOOK_CANCEL_STRIKE,
)
"""The rules that count over a check period (they need one)."""

CLOSED_DAYS_MODES = ("none", "holidays", "holidays_and_weekends")
"""``closed_days``: no day closed by the national calendar; its public holidays (法定节假日,
the days off around them included); those and every weekend that is no 调休 working day.
The hospital's own calendar entries override each of them."""

LATE_PAYMENT_MODES = ("refund", "confirm_if_free")

MAX_DAYS = 3650  # ten years: date arithmetic with more would leave the calendar

MAX_MINUTES = 525_600  # a year

# a fair-admission window: past ten minutes the people queued wait too long for their text,
# and the holds of the release (15 minutes) would expire before the draw had booked them
MAX_SECONDS = 600

MAX_COUNT = 1_000_000  # limits and counts: far above any real one


def max_value(key: RuleKey) -> int:
    """The largest value a whole-number rule takes (its unit is in its name)."""
    if key.value.endswith("_days"):
        return MAX_DAYS
    if key.value.endswith("_minutes"):
        return MAX_MINUTES
    if key.value.endswith("_seconds"):
        return MAX_SECONDS
    return MAX_COUNT


def validate_rule(rule: Rule) -> Rule:
    """Check a rule record's value has the type and range its key needs."""
    want = _VALUE_TYPES.get(rule.key, int)
    value = rule.value
    if want is bool and not isinstance(value, bool):
        raise InvalidInput("value", f"{rule.key} takes true or false")
    if want is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidInput("value", f"{rule.key} takes a whole number >= 0")
    if rule.key is RuleKey.CHANNEL_POOLS:
        parse_plan(value)  # raises InvalidInput naming what is wrong
        return rule
    if want is int and value > max_value(rule.key):
        raise InvalidInput("value", f"{rule.key} takes at most {max_value(rule.key)}")
    if want is list:
        _validate_ladder(rule)
    if rule.key is RuleKey.CREDIT_PLATFORM_WIDE and rule.hospital_id is not None:
        raise InvalidInput("hospital", f"{rule.key} is the platform's rule, not a hospital's")
    if rule.key is RuleKey.RELEASE_TIME:
        try:
            time.fromisoformat(value)
        except (TypeError, ValueError) as err:
            raise InvalidInput("value", "release_time takes HH:MM") from err
    _validate_text(rule)
    if rule.key in PERIOD_KEYS and (
        rule.period_type is None or not rule.period_value or rule.period_value < 0
    ):
        raise InvalidInput("period", f"{rule.key} needs a check period")
    return rule


def _validate_ladder(rule: Rule) -> None:
    """A credit ladder: 1 to 10 steps, each the ban days of that strike (0: a warning text);
    a step never shorter than the one before (the ladder escalates)."""
    steps = rule.value
    if (
        not isinstance(steps, list)
        or not 1 <= len(steps) <= MAX_LADDER_STEPS
        or any(isinstance(d, bool) or not isinstance(d, int) for d in steps)
    ):
        raise InvalidInput(
            "value", f"{rule.key} takes a list of 1 to {MAX_LADDER_STEPS} whole numbers of days"
        )
    if any(not 0 <= d <= MAX_DAYS for d in steps):
        raise InvalidInput("value", f"{rule.key}: each step 0 (a warning) to {MAX_DAYS} days")
    if any(later < earlier for earlier, later in pairwise(steps)):
        raise InvalidInput("value", f"{rule.key}: each step at least as long as the one before")


def ladder_step(steps: list[int], strike: int) -> int:
    """The ban days of the ``strike``-th strike (from 1) on a ladder: its own step, or the
    last step for every strike past the ladder's end. 0: a warning."""
    return steps[min(strike, len(steps)) - 1]


def _validate_text(rule: Rule) -> None:
    """The rules whose value is text or JSON: their form (a JSON rule in full)."""
    value = rule.value
    if _VALUE_TYPES.get(rule.key) is str and not isinstance(value, str):
        raise InvalidInput("value", f"{rule.key} takes text")
    if rule.key is RuleKey.ELIGIBILITY:
        parse_eligibility(value)
    elif rule.key is RuleKey.CLOSED_DAYS and value not in CLOSED_DAYS_MODES:
        raise InvalidInput("value", "closed_days takes " + " | ".join(CLOSED_DAYS_MODES))
    elif rule.key is RuleKey.LATE_PAYMENT and value not in LATE_PAYMENT_MODES:
        raise InvalidInput("value", "late_payment takes " + " | ".join(LATE_PAYMENT_MODES))
    elif rule.key is RuleKey.CLOSED_HOURS and value != "":
        parse_closed_hours(value)


class RuleSet:
    """The winning record for each key, for one hospital."""

    def __init__(
        self,
        records: Iterable[Rule],
        hospital_id: int | None,
        calendar: Iterable[CalendarEntry] = (),
    ) -> None:
        best: dict[RuleKey, Rule] = {}
        for rec in (*PLATFORM_DEFAULTS, *records):
            if rec.hospital_id is not None and rec.hospital_id != hospital_id:
                continue
            cur = best.get(rec.key)
            if cur is None or _beats(rec, cur):
                best[rec.key] = rec
        self._rules = best
        self.hospital_id = hospital_id
        mode = str(self.value(RuleKey.CLOSED_DAYS)) if self.on(RuleKey.CLOSED_DAYS) else "none"
        self.calendar = Calendar(mode, calendar)
        """Which days are closed (节假日): the national calendar as ``closed_days`` says,
        overridden by the hospital's own entries (``calendar_days``, read with the rules)."""

    def rule(self, key: RuleKey) -> Rule:
        return self._rules[key]

    def on(self, key: RuleKey) -> bool:
        rec = self._rules[key]
        return rec.enabled and (rec.value is not False)

    def value(self, key: RuleKey) -> Any:
        return self._rules[key].value

    def limit(self, key: RuleKey) -> int | None:
        """The number a limit rule allows, or None when the rule is switched off."""
        rec = self._rules[key]
        return int(rec.value) if rec.enabled else None


def pool_plan(rules: RuleSet) -> PoolPlan | None:
    """The hospital's channel pools (号源池), or None: none configured or the rule off."""
    if not rules.on(RuleKey.CHANNEL_POOLS):
        return None
    plan = parse_plan(rules.value(RuleKey.CHANNEL_POOLS))
    return plan if plan.pools else None


def _beats(new: Rule, cur: Rule) -> bool:
    if new.priority != cur.priority:
        return new.priority > cur.priority
    # equal priority: a hospital's own record beats the platform's; later beats earlier
    return new.hospital_id is not None or cur.hospital_id is None
