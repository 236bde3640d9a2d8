"""Rule records and the pure checks (规则): no event loop, no database.

Every check is tested at its edge: one second before is allowed, the edge itself refused
(or the other way round for an opening), with the instant the error carries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking_core.kernel.errors import (
    BookingClosed,
    CancelDeadlinePassed,
    InvalidInput,
    LimitReached,
    OutsideBookingWindow,
    RescheduleDeadlinePassed,
)
from booking_core.rules import (
    PLATFORM_DEFAULTS,
    PeriodType,
    Rule,
    RuleKey,
    RuleSet,
    ban_end,
    booking_cutoff,
    cancel_deadline,
    check_booking_window,
    check_cancel_deadline,
    check_limit,
    check_reschedule_deadline,
    max_value,
    release_instant,
    reschedule_deadline,
    validate_rule,
)

TZ = ZoneInfo("Asia/Shanghai")
H = 1  # the hospital the rule sets are resolved for
OTHER = 2
SECOND = timedelta(seconds=1)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ)


def rules(*records: Rule, hospital_id: int | None = H) -> RuleSet:
    return RuleSet(records, hospital_id)


DEFAULTS = rules()


# --- the platform defaults ------------------------------------------------------------


def test_every_rule_key_has_exactly_one_platform_default():
    keys = [r.key for r in PLATFORM_DEFAULTS]
    assert sorted(keys) == sorted(RuleKey)
    assert all(r.hospital_id is None and r.priority == 0 and r.enabled for r in PLATFORM_DEFAULTS)


def test_platform_defaults_are_what_product_md_promises():
    d = DEFAULTS
    assert d.on(RuleKey.REAL_NAME)
    assert d.value(RuleKey.BOOKING_WINDOW_DAYS) == 7
    assert d.value(RuleKey.RELEASE_TIME) == "07:30"
    assert d.limit(RuleKey.BOOKING_CUTOFF_MINUTES) == 0  # cut-off: the session's start
    assert not d.on(RuleKey.PREPAY_REQUIRED)
    assert d.value(RuleKey.HOLD_MINUTES) == 15
    assert d.limit(RuleKey.PER_DEPARTMENT_PER_DAY) == 1
    assert d.limit(RuleKey.MAX_ACTIVE_PER_PATIENT) == 5
    assert d.limit(RuleKey.PATIENTS_PER_PHONE) == 5
    assert d.rule(RuleKey.PATIENTS_PER_PHONE).period == timedelta(days=30)
    assert d.limit(RuleKey.CANCEL_DEADLINE_MINUTES) == 0
    assert d.limit(RuleKey.RESCHEDULE_DEADLINE_DAYS) == 1
    assert d.limit(RuleKey.NO_SHOW_BLACKLIST) == 3
    assert d.rule(RuleKey.NO_SHOW_BLACKLIST).period == timedelta(days=90)
    assert d.value(RuleKey.BLACKLIST_BAN_DAYS) == 90
    assert d.on(RuleKey.BLACKLIST_CHECK)
    assert not d.on(RuleKey.AGENT_DIRECT_DEBIT)


def test_every_default_passes_its_own_validation():
    for rec in PLATFORM_DEFAULTS:
        assert validate_rule(rec) is rec


# --- resolution: highest priority wins, then the hospital's own record ------------------


def test_hospital_record_overrides_the_platform_default():
    rs = rules(Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 3, hospital_id=H))
    assert rs.limit(RuleKey.MAX_ACTIVE_PER_PATIENT) == 3
    assert rs.rule(RuleKey.MAX_ACTIVE_PER_PATIENT).hospital_id == H


def test_another_hospitals_record_is_ignored():
    rs = rules(Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 3, priority=9, hospital_id=OTHER))
    assert rs.limit(RuleKey.MAX_ACTIVE_PER_PATIENT) == 5


def test_platform_view_ignores_every_hospital_record():
    rs = rules(Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 3, hospital_id=H), hospital_id=None)
    assert rs.limit(RuleKey.MAX_ACTIVE_PER_PATIENT) == 5


def test_stored_platform_record_replaces_the_coded_default():
    rs = rules(Rule(RuleKey.BOOKING_WINDOW_DAYS, 14))
    assert rs.value(RuleKey.BOOKING_WINDOW_DAYS) == 14


@pytest.mark.parametrize("hospital_first", [True, False])
def test_equal_priority_the_hospital_wins_whatever_the_order(hospital_first):
    platform = Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 120, priority=5)
    hospital = Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 60, priority=5, hospital_id=H)
    records = (hospital, platform) if hospital_first else (platform, hospital)
    assert rules(*records).limit(RuleKey.BOOKING_CUTOFF_MINUTES) == 60


def test_higher_priority_platform_record_beats_a_hospital_override():
    rs = rules(
        Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 60, priority=0, hospital_id=H),
        Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 120, priority=1),
    )
    assert rs.limit(RuleKey.BOOKING_CUTOFF_MINUTES) == 120
    assert rs.rule(RuleKey.BOOKING_CUTOFF_MINUTES).hospital_id is None


def test_higher_priority_hospital_record_beats_a_platform_record():
    rs = rules(
        Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 120, priority=1),
        Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 60, priority=2, hospital_id=H),
    )
    assert rs.limit(RuleKey.BOOKING_CUTOFF_MINUTES) == 60


def test_negative_priority_override_loses_to_the_default():
    rs = rules(Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 1, priority=-1, hospital_id=H))
    assert rs.limit(RuleKey.MAX_ACTIVE_PER_PATIENT) == 5


def test_winning_disabled_record_switches_the_rule_off():
    rs = rules(Rule(RuleKey.PER_DEPARTMENT_PER_DAY, 1, enabled=False, hospital_id=H))
    assert rs.limit(RuleKey.PER_DEPARTMENT_PER_DAY) is None
    check_limit(RuleKey.PER_DEPARTMENT_PER_DAY, 99, rs)  # no limit at all
    off = rules(Rule(RuleKey.REAL_NAME, True, enabled=False, hospital_id=H))
    assert not off.on(RuleKey.REAL_NAME)


def test_losing_disabled_record_changes_nothing():
    rs = rules(
        Rule(RuleKey.PER_DEPARTMENT_PER_DAY, 2, priority=3),
        Rule(RuleKey.PER_DEPARTMENT_PER_DAY, 1, enabled=False, priority=1, hospital_id=H),
    )
    assert rs.limit(RuleKey.PER_DEPARTMENT_PER_DAY) == 2


def test_boolean_rule_with_value_false_is_off_even_when_enabled():
    rs = rules(Rule(RuleKey.REAL_NAME, False, hospital_id=H))
    assert not rs.on(RuleKey.REAL_NAME)
    assert rules(Rule(RuleKey.PREPAY_REQUIRED, True, hospital_id=H)).on(RuleKey.PREPAY_REQUIRED)


def test_rule_period():
    assert Rule(
        RuleKey.PATIENTS_PER_PHONE, 5, period_type=PeriodType.HOURS, period_value=6
    ).period == timedelta(hours=6)
    assert Rule(
        RuleKey.PATIENTS_PER_PHONE, 5, period_type=PeriodType.DAYS, period_value=30
    ).period == timedelta(days=30)
    assert Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 5).period is None
    assert Rule(RuleKey.RELEASE_TIME, "08:00").value_json() == '"08:00"'


# --- validation of a record ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (Rule(RuleKey.REAL_NAME, 1), "value"),
        (Rule(RuleKey.PREPAY_REQUIRED, "yes"), "value"),
        (Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, True), "value"),
        (Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, -1), "value"),
        (Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, "5"), "value"),
        (Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 2.5), "value"),
        (Rule(RuleKey.RELEASE_TIME, "7h30"), "value"),
        (Rule(RuleKey.RELEASE_TIME, "25:00"), "value"),
        (Rule(RuleKey.RELEASE_TIME, 730), "value"),
        (Rule(RuleKey.PATIENTS_PER_PHONE, 5), "period"),
        (Rule(RuleKey.NO_SHOW_BLACKLIST, 3, period_type=PeriodType.DAYS), "period"),
        (Rule(RuleKey.NO_SHOW_BLACKLIST, 3, period_type=PeriodType.DAYS, period_value=0), "period"),
        (
            Rule(RuleKey.PATIENTS_PER_PHONE, 5, period_type=PeriodType.DAYS, period_value=-30),
            "period",
        ),
    ],
)
def test_invalid_records_are_refused_with_the_field(rule, field):
    with pytest.raises(InvalidInput) as err:
        validate_rule(rule)
    assert err.value.field == field


@pytest.mark.parametrize("key", list(RuleKey))
def test_whole_number_rules_are_bounded_so_date_arithmetic_stays_in_the_calendar(key):
    default = next(rule for rule in PLATFORM_DEFAULTS if rule.key is key)
    if isinstance(default.value, bool) or not isinstance(default.value, int):
        return  # a switch or a clock time
    period = {"period_type": PeriodType.DAYS, "period_value": 30}
    largest = Rule(key, max_value(key), **period)
    assert validate_rule(largest) is largest
    with pytest.raises(InvalidInput) as err:
        validate_rule(Rule(key, max_value(key) + 1, **period))
    assert err.value.field == "value"
    ruleset = RuleSet([largest], None)  # the largest value still works in the checks
    release_instant(SESSION_DAY, ruleset, TZ)
    booking_cutoff(SESSION_START, ruleset)
    cancel_deadline(SESSION_START, ruleset)
    reschedule_deadline(SESSION_DAY, SESSION_START, ruleset, TZ)
    ban_end(SESSION_START, ruleset, TZ)
    assert max_value(RuleKey.BOOKING_WINDOW_DAYS) == 3650
    assert max_value(RuleKey.HOLD_MINUTES) == 525_600


def test_valid_overrides_pass():
    for rule in (
        Rule(RuleKey.RELEASE_TIME, "08:00", hospital_id=H),
        Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 0, hospital_id=H),
        Rule(RuleKey.NO_SHOW_BLACKLIST, 2, period_type=PeriodType.DAYS, period_value=30),
        Rule(RuleKey.AGENT_DIRECT_DEBIT, True, hospital_id=H),
    ):
        assert validate_rule(rule) is rule


# --- booking window and release time (放号) -------------------------------------------

TODAY = date(2026, 7, 10)
SESSION_DAY = TODAY + timedelta(days=7)
SESSION_START = at(2026, 7, 17, 8, 0)


def test_release_instant_is_window_days_before_at_release_time():
    assert release_instant(SESSION_DAY, DEFAULTS, TZ) == at(2026, 7, 10, 7, 30)
    custom = rules(
        Rule(RuleKey.BOOKING_WINDOW_DAYS, 14, hospital_id=H),
        Rule(RuleKey.RELEASE_TIME, "08:00", hospital_id=H),
    )
    assert release_instant(SESSION_DAY, custom, TZ) == at(2026, 7, 3, 8, 0)


def test_day_d_plus_7_opens_exactly_at_0730_on_day_d():
    opens = at(2026, 7, 10, 7, 30)
    with pytest.raises(OutsideBookingWindow) as err:
        check_booking_window(opens - SECOND, SESSION_DAY, SESSION_START, DEFAULTS, TZ)
    assert err.value.opens_at == opens
    assert err.value.opens_at.utcoffset() == timedelta(hours=8)  # said in local time
    check_booking_window(opens, SESSION_DAY, SESSION_START, DEFAULTS, TZ)


def test_day_d_plus_8_is_not_open_all_day_d():
    day = SESSION_DAY + timedelta(days=1)
    with pytest.raises(OutsideBookingWindow) as err:
        check_booking_window(at(2026, 7, 10, 23, 59, 59), day, at(2026, 7, 18, 8), DEFAULTS, TZ)
    assert err.value.opens_at == at(2026, 7, 11, 7, 30)


def test_window_edge_from_a_utc_instant():
    """The clock is UTC: 2026-07-09 23:30 UTC is 07:30 in Beijing."""
    check_booking_window(
        datetime(2026, 7, 9, 23, 30, tzinfo=UTC), SESSION_DAY, SESSION_START, DEFAULTS, TZ
    )
    with pytest.raises(OutsideBookingWindow):
        check_booking_window(
            datetime(2026, 7, 9, 23, 29, 59, tzinfo=UTC), SESSION_DAY, SESSION_START, DEFAULTS, TZ
        )


def test_hospital_window_and_release_time_move_the_edge():
    custom = rules(
        Rule(RuleKey.BOOKING_WINDOW_DAYS, 3, hospital_id=H),
        Rule(RuleKey.RELEASE_TIME, "20:00", hospital_id=H),
    )
    opens = at(2026, 7, 14, 20, 0)
    with pytest.raises(OutsideBookingWindow) as err:
        check_booking_window(opens - SECOND, SESSION_DAY, SESSION_START, custom, TZ)
    assert err.value.opens_at == opens
    check_booking_window(opens, SESSION_DAY, SESSION_START, custom, TZ)


# --- cut-off (截止) ---------------------------------------------------------------------


def test_default_cutoff_is_the_session_start():
    assert booking_cutoff(SESSION_START, DEFAULTS) == SESSION_START
    check_booking_window(SESSION_START - SECOND, SESSION_DAY, SESSION_START, DEFAULTS, TZ)
    with pytest.raises(BookingClosed) as err:
        check_booking_window(SESSION_START, SESSION_DAY, SESSION_START, DEFAULTS, TZ)
    assert err.value.closed_at == SESSION_START


def test_past_session_is_closed():
    with pytest.raises(BookingClosed):
        check_booking_window(
            SESSION_START + timedelta(days=1), SESSION_DAY, SESSION_START, DEFAULTS, TZ
        )


def test_hospital_cutoff_moves_the_edge():
    rs = rules(Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 60, hospital_id=H))
    edge = at(2026, 7, 17, 7, 0)
    assert booking_cutoff(SESSION_START, rs) == edge
    check_booking_window(edge - SECOND, SESSION_DAY, SESSION_START, rs, TZ)
    with pytest.raises(BookingClosed) as err:
        check_booking_window(edge, SESSION_DAY, SESSION_START, rs, TZ)
    assert err.value.closed_at == edge


def test_disabled_cutoff_falls_back_to_the_session_start():
    rs = rules(Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 60, enabled=False, priority=1, hospital_id=H))
    assert booking_cutoff(SESSION_START, rs) == SESSION_START


def test_cutoff_a_day_before_closes_at_the_right_instant_on_the_day_before():
    rs = rules(Rule(RuleKey.BOOKING_CUTOFF_MINUTES, 24 * 60, hospital_id=H))
    edge = at(2026, 7, 16, 8, 0)
    check_booking_window(edge - SECOND, SESSION_DAY, SESSION_START, rs, TZ)
    with pytest.raises(BookingClosed):
        check_booking_window(edge, SESSION_DAY, SESSION_START, rs, TZ)


# --- cancel deadline (退号) -------------------------------------------------------------


def test_default_cancel_deadline_is_the_session_start():
    assert cancel_deadline(SESSION_START, DEFAULTS) == SESSION_START
    check_cancel_deadline(SESSION_START - SECOND, SESSION_START, DEFAULTS, TZ)
    with pytest.raises(CancelDeadlinePassed) as err:
        check_cancel_deadline(SESSION_START, SESSION_START, DEFAULTS, TZ)
    assert err.value.deadline == SESSION_START
    assert err.value.deadline.utcoffset() == timedelta(hours=8)


def test_hospital_cancel_deadline_moves_the_edge():
    rs = rules(Rule(RuleKey.CANCEL_DEADLINE_MINUTES, 120, hospital_id=H))
    edge = at(2026, 7, 17, 6, 0)
    check_cancel_deadline(edge - SECOND, SESSION_START, rs, TZ)
    with pytest.raises(CancelDeadlinePassed) as err:
        check_cancel_deadline(edge, SESSION_START, rs, TZ)
    assert err.value.deadline == edge


# --- reschedule deadline (改约) ---------------------------------------------------------


def test_default_reschedule_until_the_end_of_the_day_before():
    midnight = at(2026, 7, 17)
    assert reschedule_deadline(SESSION_DAY, SESSION_START, DEFAULTS, TZ) == midnight
    check_reschedule_deadline(at(2026, 7, 16, 23, 59, 59), SESSION_DAY, SESSION_START, DEFAULTS, TZ)
    with pytest.raises(RescheduleDeadlinePassed) as err:
        check_reschedule_deadline(midnight, SESSION_DAY, SESSION_START, DEFAULTS, TZ)
    assert err.value.deadline == midnight


def test_reschedule_two_days_means_until_the_end_of_two_days_before():
    rs = rules(Rule(RuleKey.RESCHEDULE_DEADLINE_DAYS, 2, hospital_id=H))
    edge = at(2026, 7, 16)
    assert reschedule_deadline(SESSION_DAY, SESSION_START, rs, TZ) == edge
    check_reschedule_deadline(edge - SECOND, SESSION_DAY, SESSION_START, rs, TZ)
    with pytest.raises(RescheduleDeadlinePassed):
        check_reschedule_deadline(edge, SESSION_DAY, SESSION_START, rs, TZ)


@pytest.mark.parametrize(
    "record",
    [
        Rule(RuleKey.RESCHEDULE_DEADLINE_DAYS, 0, hospital_id=H),
        Rule(RuleKey.RESCHEDULE_DEADLINE_DAYS, 1, enabled=False, hospital_id=H),
    ],
    ids=["zero", "disabled"],
)
def test_reschedule_without_a_day_rule_is_allowed_until_the_session_starts(record):
    rs = rules(record)
    assert reschedule_deadline(SESSION_DAY, SESSION_START, rs, TZ) == SESSION_START
    check_reschedule_deadline(SESSION_START - SECOND, SESSION_DAY, SESSION_START, rs, TZ)
    with pytest.raises(RescheduleDeadlinePassed):
        check_reschedule_deadline(SESSION_START, SESSION_DAY, SESSION_START, rs, TZ)


# --- limits (限号) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "limit"),
    [
        (RuleKey.PER_DEPARTMENT_PER_DAY, 1),
        (RuleKey.MAX_ACTIVE_PER_PATIENT, 5),
        (RuleKey.PATIENTS_PER_PHONE, 5),
    ],
)
def test_limit_allows_up_to_the_value_and_names_itself_after(key, limit):
    check_limit(key, limit - 1, DEFAULTS)
    with pytest.raises(LimitReached) as err:
        check_limit(key, limit, DEFAULTS)
    assert err.value.params == {"rule": str(key), "limit": limit}


def test_limit_zero_allows_nothing():
    rs = rules(Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 0, hospital_id=H))
    with pytest.raises(LimitReached):
        check_limit(RuleKey.MAX_ACTIVE_PER_PATIENT, 0, rs)


# --- ban end (黑名单期限) ---------------------------------------------------------------


def test_ban_of_90_days_counts_today_as_day_one_and_ends_at_local_midnight():
    assert ban_end(at(2026, 7, 10, 9, 0), DEFAULTS, TZ) == at(2026, 10, 8)
    assert ban_end(at(2026, 7, 10, 0, 0), DEFAULTS, TZ) == at(2026, 10, 8)
    assert ban_end(at(2026, 7, 10, 23, 59, 59), DEFAULTS, TZ) == at(2026, 10, 8)
    assert ban_end(at(2026, 7, 11, 0, 0), DEFAULTS, TZ) == at(2026, 10, 9)


def test_ban_end_takes_the_local_date_of_a_utc_instant():
    # 2026-07-10 17:00 UTC is already 07-11 01:00 in Beijing
    assert ban_end(datetime(2026, 7, 10, 17, 0, tzinfo=UTC), DEFAULTS, TZ) == at(2026, 10, 9)


def test_hospital_ban_days_override():
    rs = rules(Rule(RuleKey.BLACKLIST_BAN_DAYS, 7, hospital_id=H))
    assert ban_end(at(2026, 7, 10, 9, 0), rs, TZ) == at(2026, 7, 17)
