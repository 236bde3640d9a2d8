"""Channel pools (号源池, issue 15) on the phone line: the days a caller hears count only the
places the phone line may book (its pool, if any, and the public one), not every free place."""

from __future__ import annotations

from booking_core.rules import RuleKey
from tests.booking_core.helpers import set_rule
from tests.ivr.test_release import _to_the_days

# half of each session kept for text bookings until 2 h before it (the clock: 7/10 09:00)
PLAN = {"roll_hours_before": 2, "pools": [{"pool": "sms", "percent": 50}]}


async def test_the_phone_line_hears_only_the_places_it_may_book(twilio, patient, services):
    call = twilio.call()
    await _to_the_days(call, patient)
    assert "1，7月11日 星期六上午下午，还有20个号" in call.text()

    await set_rule(services, RuleKey.CHANNEL_POOLS, PLAN)
    call = twilio.call()
    await _to_the_days(call, patient)
    # 00868's morning (16 places: 8 kept for texts) and afternoon (4: 2 kept)
    assert "1，7月11日 星期六上午下午，还有10个号" in call.text()

    phone_pool = {"roll_hours_before": 2, "pools": [{"pool": "ivr", "percent": 50}]}
    await set_rule(services, RuleKey.CHANNEL_POOLS, phone_pool)
    call = twilio.call()
    await _to_the_days(call, patient)
    assert "1，7月11日 星期六上午下午，还有20个号" in call.text()  # its own pool and the public
