"""engine.texting: the settings read into the SMS door's background work, checked as the
engine starts (a misconfigured gateway stops the start, before any background work runs)."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from booking_core.kernel.pii import Cipher
from engine import texting
from engine.app import build_app
from engine.config import ConfigError, load_settings

KEY = Cipher.generate_key()


def settings_for(**extra):
    return dataclasses.replace(load_settings(env={"GUAHAO_PII_KEY": KEY}, overrides={}), **extra)


def test_the_settings_become_the_doors_background_work():
    settings = settings_for(
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="t0ken",
        twilio_sms_from="+8610000000",
        public_url="https://h.test",
        modem_port="/dev/ttyGSM0",
        modem_baud=9600,
        modem_send_interval_seconds=1.5,
        modem_part_timeout_seconds=60.0,
        modem_sim_warn_percent=90,
        sms_notices="modem",
        reminder_hour=17,
        sms_send_lease_seconds=30,
    )
    work = texting.background(settings)
    assert work.gateways == {"twilio", "modem"}
    assert work.twilio is not None
    assert work.twilio.status_callback == "https://h.test/twilio/sms/status"
    assert work.modem is not None
    assert (work.modem.port, work.modem.baudrate) == ("/dev/ttyGSM0", 9600)
    assert (work.modem.send_interval_seconds, work.modem.part_timeout_seconds) == (1.5, 60.0)
    assert work.modem.sim_warn_fraction == pytest.approx(0.9)
    assert (work.notices, work.reminder_hour, work.send_lease_seconds) == ("modem", 17, 30)


def test_no_gateway_configured_is_no_background_work():
    work = texting.background(settings_for())
    assert (work.twilio, work.modem, work.gateways, work.notices) == (None, None, set(), "")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"sms_notices": "modem"}, "sms_notices is 'modem' but that gateway is not configured"),
        ({"twilio_account_sid": "AC" + "0" * 32}, "twilio_auth_token is not"),
        (
            {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "t0ken"},
            "also set twilio_sms_from or twilio_messaging_service_sid",
        ),
    ],
)
async def test_a_misconfigured_gateway_stops_the_start(tmp_path, extra, message):
    settings = settings_for(db=str(tmp_path / "g.db"), **extra)
    with pytest.raises(ConfigError, match=message):
        texting.background(settings)
    app = build_app(settings)  # built: the settings are checked as the engine starts
    client = TestClient(TestServer(app))
    with pytest.raises(ConfigError, match=message):
        await client.start_server()
    await client.close()
