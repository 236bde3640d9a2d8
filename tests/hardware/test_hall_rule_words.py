"""The kiosk screen's words for the #15 refusals: each eligibility reason with its
department and limit, a closed day with its date and why, the closed hours with when they
end (hospital time)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from booking_core.kernel.errors import BookingHoursClosed, DayClosed, NotEligible
from hardware.hall.wording import error_message


@pytest.mark.parametrize(
    ("reason", "limit", "words"),
    [
        ("age_under", 14, "儿科仅接待14岁以下患者"),
        ("age_from", 60, "儿科仅接待60岁及以上患者"),
        ("sex", "F", "儿科仅接待女性患者"),
        ("id_required", "", "预约儿科须先登记身份证号，请到人工窗口办理"),
    ],
)
def test_eligibility_is_worded_by_its_reason(reason, limit, words):
    err = NotEligible(reason=reason, department="儿科", limit=limit)
    assert error_message(err) == words


@pytest.mark.parametrize(
    ("reason", "name", "words"),
    [
        ("holiday", "国庆节", "10月1日为国庆节假期，不接受预约"),
        ("weekend", "", "10月1日为休息日，不接受预约"),
        ("hospital", "院庆", "10月1日停诊，不接受预约"),
    ],
)
def test_a_closed_day_is_worded_with_its_date(reason, name, words):
    assert error_message(DayClosed(day=date(2026, 10, 1), reason=reason, name=name)) == words


def test_the_closed_hours_say_when_booking_opens_in_hospital_time():
    err = BookingHoursClosed(opens_at=datetime(2026, 7, 10, 22, 30, tzinfo=UTC))
    assert error_message(err) == "当前为停止预约时段，请于07月11日 06:30后预约"
