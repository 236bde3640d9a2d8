"""A caller waiting for an agent hears their place and the expected wait, then music.

Twilio requests the ``<Enqueue>``'s wait URL when the caller joins the queue and again each
time its TwiML has played, with the caller's ``QueuePosition`` and the queue's
``AvgQueueTime`` (seconds). These walks dial, press 0 and then post that URL, signed, as
Twilio does.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from booking_core.kernel.pii import Cipher
from engine.app import build_app
from engine.config import ConfigError, load_settings
from ivr.twiml import QUEUE_WAIT_PAUSE_SECONDS, TWILIO_HOLD_MUSIC, queue_prompt
from tests.ivr.helpers import PREFIX, PUBLIC_URL, Twilio, make_root, sign


async def queued(twilio: Twilio, lang: str = "zh"):
    call = twilio.call()
    await call.dial()
    if lang == "en":
        await call.press("9")
    await call.press("0")
    assert call.kind() == "enqueue"
    return call


def said(doc) -> tuple[list[str], str, str]:
    """(the TwiML's verbs in order, the one sentence said, its voice's language)."""
    say = doc.find("./Say")
    assert say is not None
    return [el.tag for el in doc], say.text or "", say.get("language", "")


ZH = [
    ({"QueuePosition": "3", "AvgQueueTime": "95"}, "您前面还有2位，预计等待约2分钟，请稍候。"),
    ({"QueuePosition": "1", "AvgQueueTime": "40"}, "您是下一位，预计等待不到1分钟，请稍候。"),
    ({"QueuePosition": "2", "AvgQueueTime": "60"}, "您前面还有1位，预计等待约1分钟，请稍候。"),
    ({"QueuePosition": "3", "AvgQueueTime": "0"}, "您前面还有2位，请稍候。"),
    ({"QueuePosition": "1"}, "您是下一位，请稍候。"),
    ({"AvgQueueTime": "61"}, "预计等待约2分钟，请稍候。"),
    ({}, "人工服务正忙，请稍候，我们会尽快为您接通。"),
]
EN = [
    (
        {"QueuePosition": "3", "AvgQueueTime": "95"},
        "You are number 3 in line; the expected wait is about 2 minutes. Please hold.",
    ),
    (
        {"QueuePosition": "1", "AvgQueueTime": "40"},
        "You are next in line; the expected wait is less than a minute. Please hold.",
    ),
    (
        {"QueuePosition": "2", "AvgQueueTime": "60"},
        "You are number 2 in line; the expected wait is about 1 minute. Please hold.",
    ),
    ({"QueuePosition": "3", "AvgQueueTime": "0"}, "You are number 3 in line. Please hold."),
    ({"QueuePosition": "1"}, "You are next in line. Please hold."),
    ({"AvgQueueTime": "61"}, "The expected wait is about 2 minutes. Please hold."),
    ({}, "All operators are busy. Please hold, we will be with you shortly."),
]


@pytest.mark.parametrize(
    ("lang", "language", "cases"), [("zh", "cmn-CN", ZH), ("en", "en-US", EN)], ids=["zh", "en"]
)
async def test_the_waiting_caller_hears_their_place_and_the_wait_then_music(
    twilio, lang, language, cases
):
    call = await queued(twilio, lang)
    first, *again = cases
    doc = await call.wait(**first[0])
    assert call.wait_url == f"{PREFIX}/queue-wait?lang={lang}"
    assert said(doc) == (["Say", "Play"], first[1], language)
    assert doc.find("./Play").text == TWILIO_HOLD_MUSIC
    for figures, sentence in again:  # Twilio asks again when the music is over
        assert said(await call.waiting(**figures)) == (["Say", "Play"], sentence, language)


NOT_A_COUNT = ["", " ", "abc", "-1", "+3", "3.5", "1e3", "0x10", "３", "٣", "9" * 10, "9" * 5000]


@pytest.mark.parametrize("position", [*NOT_A_COUNT, "0", "5001"])
async def test_a_position_twilio_cannot_have_sent_is_not_said(twilio, position):
    call = await queued(twilio)
    doc = await call.wait(QueuePosition=position, AvgQueueTime="95")
    assert said(doc) == (["Say", "Play"], "预计等待约2分钟，请稍候。", "cmn-CN")
    doc = await call.waiting(QueuePosition=position)
    assert said(doc)[1] == "人工服务正忙，请稍候，我们会尽快为您接通。"


@pytest.mark.parametrize("wait", [*NOT_A_COUNT, "86401", "999999999"])
async def test_a_wait_twilio_cannot_have_sent_is_not_said(twilio, wait):
    call = await queued(twilio, "en")
    doc = await call.wait(QueuePosition="3", AvgQueueTime=wait)
    assert said(doc) == (["Say", "Play"], "You are number 3 in line. Please hold.", "en-US")


async def test_the_largest_figures_twilio_can_send_are_said(twilio):
    call = await queued(twilio)
    doc = await call.wait(QueuePosition="5000", AvgQueueTime="86400")
    assert said(doc)[1] == "您前面还有4999位，预计等待约1440分钟，请稍候。"


async def test_without_music_the_caller_hears_30_seconds_of_quiet(
    aiohttp_client, services, hospital
):
    twilio = Twilio(await aiohttp_client(make_root(services, hold_music_url="")), services)
    call = await queued(twilio)
    doc = await call.wait(QueuePosition="2", AvgQueueTime="30")
    assert said(doc) == (["Say", "Pause"], "您前面还有1位，预计等待不到1分钟，请稍候。", "cmn-CN")
    assert doc.find("./Pause").get("length") == str(QUEUE_WAIT_PAUSE_SECONDS) == "30"


async def test_the_music_is_the_configured_one(aiohttp_client, services, hospital):
    music = "https://assets.example-hospital.test/hold-30s.mp3"
    twilio = Twilio(await aiohttp_client(make_root(services, hold_music_url=music)), services)
    call = await queued(twilio, "en")
    doc = await call.wait(QueuePosition="1", AvgQueueTime="10")
    assert doc.find("./Play").text == music


async def test_an_unknown_language_is_mandarin(twilio):
    call = twilio.call()
    status, text = await twilio.post(
        f"{PREFIX}/queue-wait?lang=fr", call.params(QueuePosition="3", AvgQueueTime="95")
    )
    assert status == 200
    assert "您前面还有2位，预计等待约2分钟" in text


async def test_an_unsigned_wait_request_is_refused(twilio):
    call = twilio.call()
    params = call.params(QueuePosition="1", AvgQueueTime="10")
    status, _ = await twilio.post(f"{PREFIX}/queue-wait?lang=zh", params, signature="")
    assert status == 403
    status, _ = await twilio.post(f"{PREFIX}/queue-wait?lang=zh", params, signature="bm9wZQ==")
    assert status == 403
    # the language is part of the signed URL: a request signed for lang=zh cannot be sent
    # to lang=en
    signed_zh = sign(f"{PUBLIC_URL}{PREFIX}/queue-wait?lang=zh", params)
    status, _ = await twilio.post(f"{PREFIX}/queue-wait?lang=en", params, signature=signed_zh)
    assert status == 403


def test_the_prompt_rounds_minutes_up_and_says_under_a_minute():
    assert queue_prompt(None, None) == ("queue_wait", {})
    assert queue_prompt(3, 1) == ("queue_status", {"position": 3, "minutes": 0})
    assert queue_prompt(3, 59) == ("queue_status", {"position": 3, "minutes": 0})
    assert queue_prompt(3, 60) == ("queue_status", {"position": 3, "minutes": 1})
    assert queue_prompt(3, 121) == ("queue_status", {"position": 3, "minutes": 3})
    assert queue_prompt(0, 0) == ("queue_wait", {})


def test_the_hold_music_setting_defaults_to_twilios_and_can_be_emptied():
    assert load_settings(env={}).ivr_hold_music_url == TWILIO_HOLD_MUSIC
    assert load_settings(env={"GUAHAO_IVR_HOLD_MUSIC_URL": ""}).ivr_hold_music_url == ""
    with pytest.raises(ConfigError, match="ivr_hold_music_url: must start with https://"):
        load_settings(env={"GUAHAO_IVR_HOLD_MUSIC_URL": "hold-30s.mp3"})


async def test_the_engine_plays_the_configured_music(aiohttp_client, tmp_path, clock):
    """``ivr_hold_music_url`` reaches the voice door the engine mounts."""
    url = "https://guahao.example-hospital.test"
    settings = dataclasses.replace(
        load_settings(env={"GUAHAO_PII_KEY": Cipher.generate_key()}),
        db=str(tmp_path / "g.db"),
        twilio_auth_token="t0k",
        public_url=url,
        ivr_hold_music_url="",
    )
    client = await aiohttp_client(build_app(settings, clock=clock))
    params = {"CallSid": "CA" + "1" * 32, "QueuePosition": "1", "AvgQueueTime": "20"}
    path = f"{PREFIX}/queue-wait?lang=en"
    headers = {"X-Twilio-Signature": sign(url + path, params, "t0k")}
    async with client.post(path, data=params, headers=headers) as resp:
        assert resp.status == 200
        doc = ET.fromstring(await resp.read())
    assert said(doc) == (
        ["Say", "Pause"],
        "You are next in line; the expected wait is less than a minute. Please hold.",
        "en-US",
    )
