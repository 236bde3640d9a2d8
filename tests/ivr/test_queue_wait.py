"""A caller waiting for an agent hears their place and the expected wait, then music.

Twilio requests the ``<Enqueue>``'s wait URL when the caller joins the queue and again each
time its TwiML has played. Each caller waits in a queue of their own (``q-<CallSid>``), so
Twilio's ``QueuePosition`` (always 1) and ``AvgQueueTime`` (their own wait) are not said:
the place and the wait are the engine's (#14). These walks dial, press 0 and then post
that URL, signed, as Twilio does.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from booking_core import calls
from booking_core.kernel.pii import Cipher
from engine.app import build_app
from engine.config import ConfigError, load_settings
from ivr.prompts import Catalogue
from ivr.twiml import QUEUE_WAIT_PAUSE_SECONDS, TWILIO_HOLD_MUSIC, Voice, queue_prompt
from tests.ivr.helpers import PREFIX, PUBLIC_URL, Twilio, make_root, sign, take_as


async def queued(twilio: Twilio, lang: str = "zh"):
    call = twilio.call()
    await call.dial()
    if lang == "en":
        await call.press("9")
    await call.press("0")
    assert call.kind() == "enqueue"
    return call


def said(doc) -> tuple[list[str], str, str]:
    """(the wait TwiML's verbs in order, inside its <Gather> first, the place said, its
    voice's language)."""
    gather = doc.find("./Gather")
    assert gather is not None
    say = gather.find("./Say")
    assert say is not None
    verbs = [el.tag for el in gather] + [el.tag for el in doc if el.tag != "Gather"]
    return verbs, say.text or "", say.get("language", "")


async def take(services, call_sid: str, who: str = "agent-1") -> calls.TakenCall:
    return await take_as(services, who, call_sid)


OFFER = {
    "zh": "不想等待的话，请按1，我们会回拨给您。",
    "en": "If you would rather not wait, press 1 and we will call you back.",
}
PLACES = {
    "zh": ["您是下一位，请稍候。", "您前面还有1位，请稍候。", "您前面还有2位，请稍候。"],
    "en": [
        "You are next in line. Please hold.",
        "You are number 2 in line. Please hold.",
        "You are number 3 in line. Please hold.",
    ],
}


@pytest.mark.parametrize(
    ("lang", "language"), [("zh", "cmn-CN"), ("en", "en-US")], ids=["zh", "en"]
)
async def test_each_waiting_caller_hears_their_own_place_from_the_engine(twilio, lang, language):
    """Three callers in queues of their own: Twilio would say each is first (QueuePosition
    1 in a queue of one); the engine says 1, 2 and 3, by transfer time (#14)."""
    callers = [await queued(twilio, lang) for _ in range(3)]
    for n, call in enumerate(callers):
        doc = await call.wait(QueuePosition="1", AvgQueueTime="5")  # Twilio's: not said
        assert call.wait_url == f"{PREFIX}/queue-wait?lang={lang}"
        assert said(doc) == (["Say", "Say", "Play", "Redirect"], PLACES[lang][n], language)
        assert [s.text for s in doc.findall("./Gather/Say")][1] == OFFER[lang]
        gather = doc.find("./Gather")
        assert gather.get("numDigits") == "1"
        assert gather.get("action") == f"{PUBLIC_URL}{PREFIX}/queue-key?lang={lang}"
        assert doc.find("./Gather/Play").text == TWILIO_HOLD_MUSIC
        assert doc.find("./Redirect").text == f"{PUBLIC_URL}{call.wait_url}"
    await callers[0].hang_up()  # the first hangs up: the others move up
    doc = await callers[2].waiting()
    assert said(doc)[1] == PLACES[lang][1]
    await take(twilio.services, callers[1].sid)  # the second is taken: the third is next
    assert said(await callers[2].waiting())[1] == PLACES[lang][0]
    # a caller being put through hears "please hold", no place, no call-back offer
    doc = await callers[1].waiting()
    assert [s.text for s in doc.findall("./Gather/Say")] == [
        "人工服务正忙，请稍候，我们会尽快为您接通。"
        if lang == "zh"
        else "All operators are busy. Please hold, we will be with you shortly."
    ]


async def test_the_expected_wait_is_the_place_times_the_recent_pace_of_takes(twilio, clock):
    """Two takes two minutes apart in the last hour: one caller taken every 120 s, so the
    second in line expects about 4 minutes (the first about 2)."""
    first, second = await queued(twilio), await queued(twilio)
    assert said(await first.wait())[1] == "您是下一位，请稍候。"  # no takes yet: no wait said
    a, b = await queued(twilio), await queued(twilio)
    await take(twilio.services, first.sid)
    clock.advance(minutes=2)
    await take(twilio.services, second.sid)
    assert said(await a.wait())[1] == "您是下一位，预计等待约2分钟，请稍候。"
    assert said(await b.wait())[1] == "您前面还有1位，预计等待约4分钟，请稍候。"
    clock.advance(minutes=61)  # those takes are no longer recent
    assert said(await b.waiting())[1] == "您前面还有1位，请稍候。"


async def test_a_caller_the_engine_does_not_know_hears_please_hold_and_no_offer(twilio):
    """Queued by the database-free fallback (no call record): no place, no call-back."""
    call = twilio.call()
    status, text = await twilio.post(f"{PREFIX}/fallback", call.params())
    assert status == 200
    call.doc = ET.fromstring(text)
    assert call.doc.find("./Enqueue").text == f"q-{call.sid}"
    doc = await call.wait()
    assert said(doc)[1] == "人工服务正忙，请稍候，我们会尽快为您接通。"
    assert len(doc.findall("./Gather/Say")) == 1


async def test_without_music_the_caller_hears_30_seconds_of_quiet(
    aiohttp_client, services, hospital
):
    twilio = Twilio(await aiohttp_client(make_root(services, hold_music_url="")), services)
    call = await queued(twilio)
    doc = await call.wait()
    assert said(doc) == (["Say", "Say", "Pause", "Redirect"], "您是下一位，请稍候。", "cmn-CN")
    assert doc.find("./Gather/Pause").get("length") == str(QUEUE_WAIT_PAUSE_SECONDS) == "30"


async def test_the_music_is_the_configured_one(aiohttp_client, services, hospital):
    music = "https://assets.example-hospital.test/hold-30s.mp3"
    twilio = Twilio(await aiohttp_client(make_root(services, hold_music_url=music)), services)
    call = await queued(twilio, "en")
    doc = await call.wait()
    assert doc.find("./Gather/Play").text == music


async def test_an_unknown_language_is_mandarin(twilio):
    call = await queued(twilio)
    status, text = await twilio.post(f"{PREFIX}/queue-wait?lang=fr", call.params())
    assert status == 200
    assert "您是下一位" in text


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
    params = {"CallSid": "CA" + "1" * 32, "QueuePosition": "1", "AvgQueueTime": "20"}  # unknown
    path = f"{PREFIX}/queue-wait?lang=en"
    headers = {"X-Twilio-Signature": sign(url + path, params, "t0k")}
    async with client.post(path, data=params, headers=headers) as resp:
        assert resp.status == 200
        doc = ET.fromstring(await resp.read())
    assert said(doc) == (
        ["Say", "Pause", "Redirect"],
        "All operators are busy. Please hold, we will be with you shortly.",
        "en-US",
    )


SENTENCES = {
    "zh": [
        ((3, 95), "您前面还有2位，预计等待约2分钟，请稍候。"),
        ((1, 40), "您是下一位，预计等待不到1分钟，请稍候。"),
        ((3, None), "您前面还有2位，请稍候。"),
        ((None, 61), "预计等待约2分钟，请稍候。"),
        ((None, None), "人工服务正忙，请稍候，我们会尽快为您接通。"),
        ((5000, 86400), "您前面还有4999位，预计等待约1440分钟，请稍候。"),
    ],
    "en": [
        ((3, 95), "You are number 3 in line; the expected wait is about 2 minutes. Please hold."),
        ((1, 40), "You are next in line; the expected wait is less than a minute. Please hold."),
        ((2, 60), "You are number 2 in line; the expected wait is about 1 minute. Please hold."),
        ((3, None), "You are number 3 in line. Please hold."),
        ((None, 61), "The expected wait is about 2 minutes. Please hold."),
        ((None, None), "All operators are busy. Please hold, we will be with you shortly."),
    ],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_place_and_the_wait_are_worded_in_each_language(lang):
    voice = Voice(Catalogue({"hospital": ""}), PUBLIC_URL + PREFIX, "shared")
    for (position, wait), sentence in SENTENCES[lang]:
        doc = ET.fromstring(voice.queue_wait(lang, position, wait))
        assert said(doc)[1] == sentence
        assert len(doc.findall("./Gather/Say")) == 1  # no offer unless asked


@pytest.mark.parametrize("position", [0, -1, 5001])
def test_a_place_no_queue_can_have_is_not_said(position):
    assert queue_prompt(position, None) == ("queue_wait", {})
