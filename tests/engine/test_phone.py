"""``guahao phone``'s TwiML walker, without a network: TwiML from the engine's own
builders (``twilio``'s ``VoiceResponse``) in, the next webhook or the end of the call out."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Enqueue, Gather, VoiceResponse

from engine.phone import Phone, PhoneError, e164, espeak, new_call_sid
from engine.phone_twiml import End, Fetch, gathered, parse, walk
from engine.phone_twiml import Gather as GatherVerb

BASE = "https://ivr.example.test/twilio/voice"


class Script:
    """Keys typed one line at a time (None: the caller hangs up), and what was said."""

    def __init__(self, *lines: str | None) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []
        self.said: list[tuple[str, str]] = []

    def keys(self, prompt: str) -> str | None:
        self.prompts.append(prompt)
        return self.lines.pop(0) if self.lines else None

    def out(self, text: str, language: str) -> None:
        self.said.append((text, language))

    def walk(self, twiml: str, **kwargs) -> Fetch | End:
        return walk(parse(twiml), self.out, self.keys, **kwargs)


def menu(num_digits: int | None = 1) -> str:
    r = VoiceResponse()
    g = Gather(
        input="dtmf",
        action=f"{BASE}/step?s=2",
        method="POST",
        finish_on_key="#",
        num_digits=num_digits,
    )
    g.say("预约挂号请按1", language="cmn-CN")
    r.append(g)
    r.redirect(f"{BASE}/step?s=2&e=timeout", method="POST")
    return r.to_xml()


def test_a_gather_says_its_prompt_then_posts_the_digits_to_its_action():
    script = Script("1")
    step = script.walk(menu())
    assert step == Fetch(f"{BASE}/step?s=2", "POST", {"Digits": "1"})
    assert script.said == [("预约挂号请按1", "cmn-CN")]
    assert script.prompts == ["key> "]


def test_the_finish_key_ends_the_digits_and_is_not_sent():
    script = Script("5886363889#")
    step = script.walk(menu(num_digits=None))
    assert step.params == {"Digits": "5886363889", "FinishedOnKey": "#"}
    assert "#" in script.prompts[0]


def test_num_digits_cuts_the_keys():
    gather = GatherVerb("step", num_digits=1)
    assert gathered(gather, "123") == ("1", "")
    assert gathered(gather, " 9 ") == ("9", "")
    assert gathered(GatherVerb("step"), "12*4#56") == ("12*4", "#")
    assert gathered(GatherVerb("step", finish_on_key=""), "12#") == ("12#", "")


def test_silence_falls_through_the_gather_to_the_redirect():
    script = Script("")
    step = script.walk(menu())
    assert step == Fetch(f"{BASE}/step?s=2&e=timeout", "POST", {})
    assert ("[no input]", "") in script.said


def test_a_redirect_is_followed_with_its_method():
    r = VoiceResponse()
    r.redirect(f"{BASE}/again", method="GET")
    assert Script().walk(r.to_xml()) == Fetch(f"{BASE}/again", "GET", {})


def test_enqueue_hears_the_wait_url_once_then_ends():
    r = VoiceResponse()
    r.say("正在为您转接人工服务", language="cmn-CN")
    r.append(Enqueue("agents", wait_url=f"{BASE}/queue-wait?lang=zh", wait_url_method="POST"))
    r.say("人工服务已下班", language="cmn-CN")
    r.hangup()
    script = Script()
    step = script.walk(r.to_xml())
    assert isinstance(step, Fetch)
    assert (step.url, step.method, step.waiting) == (f"{BASE}/queue-wait?lang=zh", "POST", True)
    assert any("agents" in text for text, _ in script.said)
    assert "人工服务已下班" not in [text for text, _ in script.said]

    wait = VoiceResponse()
    wait.say("人工服务正忙，请稍候", language="cmn-CN")
    wait.pause(length=20)
    script = Script()
    assert script.walk(wait.to_xml(), waiting=True) == End("queued")
    assert script.said[0] == ("人工服务正忙，请稍候", "cmn-CN")
    assert "20 s" in script.said[1][0]


def test_hangup_ends_the_call_and_nothing_after_it_is_said():
    r = VoiceResponse()
    r.say("再见", language="cmn-CN")
    r.hangup()
    r.say("never", language="cmn-CN")
    script = Script()
    assert script.walk(r.to_xml()) == End("hangup")
    assert [text for text, _ in script.said] == ["再见"]


def test_end_of_input_is_the_caller_hanging_up():
    assert Script(None).walk(menu()) == End("caller")


def test_a_document_that_runs_out_ends_the_call():
    r = VoiceResponse()
    r.say("hello", language="en-US")
    r.play("https://example.test/music.mp3")
    script = Script()
    assert script.walk(r.to_xml()) == End("end")
    assert "music.mp3" in script.said[1][0]


def test_parse_refuses_what_is_not_twiml():
    with pytest.raises(ValueError, match="not TwiML"):
        parse("<html><body>502</body></html>")
    with pytest.raises(ValueError, match="not XML"):
        parse("Internal Server Error")


def test_call_sids_and_numbers_look_like_twilio_s():
    sid = new_call_sid()
    assert sid.startswith("CA")
    assert len(sid) == 34
    int(sid[2:], 16)
    assert new_call_sid() != sid
    assert e164("13800130001") == "+8613800130001"
    assert e164("+14155550100") == "+14155550100"


class Wire:
    """urllib's urlopen, recording each request and answering ``<Hangup/>``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return b"<Response><Hangup/></Response>"

    def __call__(self, request, timeout):
        params = dict(parse_qsl((request.data or b"").decode()))
        self.sent.append((request.full_url, request.headers["X-twilio-signature"], params))
        return self


@pytest.fixture
def wire(monkeypatch) -> Wire:
    recorder = Wire()
    monkeypatch.setattr("urllib.request.urlopen", recorder)
    return recorder


def test_requests_are_signed_over_the_public_url_and_sent_to_the_url(wire):
    """What reaches the wire: the target is --url, the signature is over public_url."""
    phone = Phone("tok", "https://pub.example.test", "+8613800130001", url="http://10.0.0.5:8080")
    phone.post("https://pub.example.test/twilio/voice/step?s=3", Digits="1")
    [(url, signature, params)] = wire.sent
    assert url == "http://10.0.0.5:8080/twilio/voice/step?s=3"
    assert params["Digits"] == "1"
    assert params["CallSid"] == phone.call_sid
    expected = RequestValidator("tok").compute_signature(
        "https://pub.example.test/twilio/voice/step?s=3", params
    )
    assert signature == expected


def test_the_account_sid_is_the_configured_one(wire):
    account = "AC" + "ab" * 16
    Phone("tok", "https://example.test", "+8613800130001", account_sid=account).post("/x")
    Phone("tok", "https://example.test", "+8613800130001", account_sid="").post("/x")
    (_u, _s, mine), (_u2, _s2, default) = wire.sent
    assert mine["AccountSid"] == account
    assert re.fullmatch("AC[0-9a-f]{32}", default["AccountSid"])  # Twilio's shape


def test_a_public_url_with_a_path_prefix_keeps_it(wire):
    phone = Phone("tok", "https://example.test/guahao/", "+8613800130001")
    assert phone.run() == "hangup"
    (first, sig, params), (status, _sig, ended) = wire.sent
    assert first == "https://example.test/guahao/twilio/voice"
    assert sig == RequestValidator("tok").compute_signature(first, params)
    assert status == "https://example.test/guahao/twilio/voice/status"
    assert ended["CallStatus"] == "completed"
    assert int(ended["CallDuration"]) >= 1


def test_the_call_refuses_to_follow_the_twiml_out_of_the_engine(wire):
    phone = Phone("tok", "https://example.test", "+8613800130001")
    with pytest.raises(PhoneError, match="outside the engine"):
        phone.post("https://evil.example.test/twilio/voice")
    assert wire.sent == []


def test_speak_uses_espeak_ng_when_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert espeak() is None  # not installed: the phone only prints
    log = tmp_path / "spoken.txt"
    fake = tmp_path / "espeak-ng"
    fake.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\n')
    fake.chmod(0o755)
    speak = espeak()
    speak("您好", "cmn-CN")
    speak("For English, press 9.", "en-US")
    assert log.read_text().splitlines() == ["-v|cmn|您好|", "-v|en-us|For English, press 9.|"]


def test_the_phone_speaks_what_is_said_and_not_its_own_notes(wire):
    spoken = []
    phone = Phone(
        "tok", "https://example.test", "+8613800130001", speak=lambda *a: spoken.append(a)
    )
    phone._say("您好", "cmn-CN")
    phone._say("[no input]", "")
    assert spoken == [("您好", "cmn-CN")]
    assert phone.heard == ["您好"]
