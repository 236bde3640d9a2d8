"""Rule records, platform defaults, the checks every door's booking passes (规则).

Doors import this package, never its modules: ``from booking_core import rules``."""

from .checks import (
    BookingWindow,
    SlotWindow,
    at_local,
    ban_end,
    booking_cutoff,
    booking_window,
    cancel_deadline,
    check_booking_window,
    check_cancel_deadline,
    check_limit,
    check_reschedule_deadline,
    local,
    release_instant,
    reschedule_deadline,
    slot_window,
)
from .commands import SetRule
from .model import (
    MAX_COUNT,
    MAX_DAYS,
    MAX_MINUTES,
    PLATFORM_DEFAULTS,
    REFUSALS,
    PeriodType,
    Rule,
    RuleKey,
    RuleSet,
    max_value,
    validate_rule,
)
from .queries import booking_window_of, effective_rules

__all__ = [
    "MAX_COUNT",
    "MAX_DAYS",
    "MAX_MINUTES",
    "PLATFORM_DEFAULTS",
    "REFUSALS",
    "BookingWindow",
    "PeriodType",
    "Rule",
    "RuleKey",
    "RuleSet",
    "SetRule",
    "SlotWindow",
    "at_local",
    "ban_end",
    "booking_cutoff",
    "booking_window",
    "booking_window_of",
    "cancel_deadline",
    "check_booking_window",
    "check_cancel_deadline",
    "check_limit",
    "check_reschedule_deadline",
    "effective_rules",
    "local",
    "max_value",
    "release_instant",
    "reschedule_deadline",
    "slot_window",
    "validate_rule",
]
