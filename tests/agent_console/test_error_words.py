"""A refusal as the console flashes it: an instant in the hospital's time as an agent reads
it (no seconds, no offset), a limit by its rule's name on the rules screen."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from agent_console.refusals import refusal
from booking_core.kernel.errors import Blacklisted, LimitReached

TZ = ZoneInfo("Asia/Shanghai")


def test_an_instant_reads_as_local_date_and_time():
    err = Blacklisted(until=datetime(2026, 10, 18, tzinfo=TZ), reason="爽约3次", source="no_show")
    assert refusal(err, "zh")[0] == "该患者在黑名单中，至 2026-10-18 00:00 解除。"
    assert refusal(err, "en")[0] == "This patient is blacklisted until 2026-10-18 00:00."


def test_a_limit_is_named_as_on_the_rules_screen():
    err = LimitReached(rule="per_department_per_day", limit=1)
    assert refusal(err, "zh")[0] == "已达限号规则上限（同科室同日限号: 1）。"
    assert "Per department per day: 1" in refusal(err, "en")[0]
    other = LimitReached(rule="resends_per_hour", limit=3)  # not a rule record: its code
    assert "resends_per_hour: 3" in refusal(other, "en")[0]
