"""sms.background: the door's background work starts only what it is given and refuses to
text notices through a gateway it does not run (the engine's own runs are in
test_sms_doors.py)."""

from __future__ import annotations

import asyncio

import pytest

import sms.web
from sms.background import Background, ModemPort, running

NOTHING = Background(twilio=None, modem=None, notices="", reminder_hour=18, send_lease_seconds=120)


@pytest.fixture
def door(services):
    return sms.web.make_app(
        services, auth_token="t", public_url="https://h.test", hospital_code="H001"
    )


def _tasks() -> set[str]:
    return {t.get_name() for t in asyncio.all_tasks() if not t.done()}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_without_a_gateway_nothing_runs(door, db_url):
    before = _tasks()
    async with running(door, NOTHING):
        assert _tasks() == before
        assert sms.web.health(door) == {}
    assert _tasks() == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_notices_through_a_gateway_it_does_not_run_are_refused_before_anything_starts(
    door, db_url
):
    modem = ModemPort("/dev/null", 115200, 0.0, 60.0, 0.8)
    work = Background(
        twilio=None, modem=modem, notices="twilio", reminder_hour=18, send_lease_seconds=120
    )
    assert work.gateways == {"modem"}
    before = _tasks()
    with pytest.raises(ValueError, match="'twilio'"):
        async with running(door, work):
            pass
    assert _tasks() == before
    assert door[sms.web.MODEMS] == []
