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
from typing import Any

from ..kernel.errors import InvalidInput


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
    BLACKLIST_CHECK = "blacklist_check"  # refuse blacklisted patients
    AGENT_DIRECT_DEBIT = "agent_direct_debit"  # agent desks may debit the prepaid balance
    SMS_CODES_PER_MINUTE = "sms_codes_per_minute"  # phone verification codes
    SMS_REGISTRATIONS_PER_DAY = "sms_registrations_per_day"  # ZC texts per phone per local day
    IVR_LOOKUPS_PER_HOUR = "ivr_lookups_per_hour"  # card/ID numbers typed per caller ID per hour
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
    Rule(RuleKey.AGENT_DIRECT_DEBIT, False),
    Rule(RuleKey.SMS_CODES_PER_MINUTE, 1),
    # a family registers a few people at once; a stranger trying ID numbers gets 3 a day
    Rule(RuleKey.SMS_REGISTRATIONS_PER_DAY, 3),
    # a family calls for a few relatives; a stranger trying card numbers is stopped early
    Rule(RuleKey.IVR_LOOKUPS_PER_HOUR, 10),
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
    RuleKey.SMS_CODES_PER_MINUTE: ("limit_reached",),
    RuleKey.SMS_REGISTRATIONS_PER_DAY: ("limit_reached",),
    RuleKey.IVR_LOOKUPS_PER_HOUR: ("limit_reached",),
    RuleKey.WAITLIST: ("waitlist_closed", "waitlist_not_needed", "already_waiting"),
    RuleKey.EXTRA_PLACES_PER_SESSION: ("extra_places_exhausted",),
}
"""The error codes (:mod:`booking_core.kernel.errors`) a rule refuses with, for the rules
page and ``docs/rules.md``: every door words each code for its audience. A rule that never
refuses anyone (the hold time, prepayment) has no entry."""

_VALUE_TYPES: dict[RuleKey, type] = {
    RuleKey.REAL_NAME: bool,
    RuleKey.RELEASE_TIME: str,
    RuleKey.PREPAY_REQUIRED: bool,
    RuleKey.BLACKLIST_CHECK: bool,
    RuleKey.AGENT_DIRECT_DEBIT: bool,
    RuleKey.WAITLIST: bool,
}

MAX_DAYS = 3650  # ten years: date arithmetic with more would leave the calendar

MAX_MINUTES = 525_600  # a year

MAX_COUNT = 1_000_000  # limits and counts: far above any real one


def max_value(key: RuleKey) -> int:
    """The largest value a whole-number rule takes (its unit is in its name)."""
    if key.value.endswith("_days"):
        return MAX_DAYS
    if key.value.endswith("_minutes"):
        return MAX_MINUTES
    return MAX_COUNT


def validate_rule(rule: Rule) -> Rule:
    """Check a rule record's value has the type and range its key needs."""
    want = _VALUE_TYPES.get(rule.key, int)
    value = rule.value
    if want is bool and not isinstance(value, bool):
        raise InvalidInput("value", f"{rule.key} takes true or false")
    if want is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidInput("value", f"{rule.key} takes a whole number >= 0")
    if want is int and value > max_value(rule.key):
        raise InvalidInput("value", f"{rule.key} takes at most {max_value(rule.key)}")
    if rule.key is RuleKey.RELEASE_TIME:
        try:
            time.fromisoformat(value)
        except (TypeError, ValueError) as err:
            raise InvalidInput("value", "release_time takes HH:MM") from err
    needs_period = rule.key in (RuleKey.PATIENTS_PER_PHONE, RuleKey.NO_SHOW_BLACKLIST)
    if needs_period and (
        rule.period_type is None or not rule.period_value or rule.period_value < 0
    ):
        raise InvalidInput("period", f"{rule.key} needs a check period")
    return rule


class RuleSet:
    """The winning record for each key, for one hospital."""

    def __init__(self, records: Iterable[Rule], hospital_id: int | None) -> None:
        best: dict[RuleKey, Rule] = {}
        for rec in (*PLATFORM_DEFAULTS, *records):
            if rec.hospital_id is not None and rec.hospital_id != hospital_id:
                continue
            cur = best.get(rec.key)
            if cur is None or _beats(rec, cur):
                best[rec.key] = rec
        self._rules = best
        self.hospital_id = hospital_id

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


def _beats(new: Rule, cur: Rule) -> bool:
    if new.priority != cur.priority:
        return new.priority > cur.priority
    # equal priority: a hospital's own record beats the platform's; later beats earlier
    return new.hospital_id is not None or cur.hospital_id is None
