"""The softphone on the desk in headless Chromium against the real engine (#14), with
Twilio's Voice SDK replaced in the page by a recording stand-in and Twilio's REST API by a
local recording fake: log in, a transfer arrives, take it by keyboard -> the Device was
made with this operator's token (decoded: identity op-<id>) and asked to connect with
{call: <that CallSid>}; Twilio accepts -> the timer runs; m mutes; p holds (the caller's leg
is redirected to the requeue TwiML) and p again connects again; h hangs up. Also: the
vendored SDK is what the page loads, from the console itself, and no script comes from
elsewhere.

Chromium comes from the Debian package (never downloaded). Without it these tests are
skipped on a workstation and FAIL in CI (``CI=true``).
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import jwt
import pytest
from twilio.request_validator import RequestValidator

from booking_core import catalogue, reports
from booking_core.kernel.actor import SYSTEM
from tests.agent_console.browser.live_desk import go_available, log_in
from tests.agent_console.browser.softphone_desk import AUTH_TOKEN, STAND_IN, SoftphoneEngine
from tests.agent_console.desk.desk_world import transfer
from tests.agent_console.helpers import table
from tests.fakes.twilio_calls import ACCOUNT, API_KEY, API_SECRET

CALLER = (
    "CA50f750f750f750f750f750f750f750f7"  # a CallSid as Twilio shapes them (the voice door checks)
)
VENDORED = Path(__file__).resolve().parents[3] / "agent_console/static/vendor/twilio-voice"


@pytest.fixture(scope="module")
def engine(request, tmp_path_factory, chromium):
    """This module's engine: the desk's, with the softphone set up (see softphone_desk)."""
    folder = tmp_path_factory.mktemp("softphone")
    live = SoftphoneEngine(str(folder / "guahao.db")).start()
    yield live
    live.stop()


def agent_leg_twiml(engine, params: dict[str, str]) -> tuple[str, str]:
    """POST the agent leg to /twilio/voice/agent as Twilio would (signed with the account's
    token); the first verb of the Dial it answers (``Queue`` and the queue's name), or
    ``Hangup``."""
    url = f"{engine.url}/twilio/voice/agent"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(
        url, data=urlencode(params).encode(), headers={"X-Twilio-Signature": signature}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        root = ElementTree.fromstring(response.read())
    dial = root.find("Dial")
    if dial is not None and len(dial):
        return dial[0].tag, (dial[0].text or "").strip()
    return ("Hangup" if root.find("Hangup") is not None else root[-1].tag), ""


def claims(token: str) -> dict:
    # The engine's clock is frozen in 2026: the token's times are checked by the token
    # endpoint's own tests, here who it names.
    return jwt.decode(
        token, API_SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )


def recorded(page, expression: str):
    return page.evaluate(f"window.__softphone.{expression}")


def hung_up(page) -> list[int]:
    """The calls (by index) the page disconnected, kept across the page load a hang-up makes."""
    return page.evaluate("JSON.parse(sessionStorage.getItem('__softphone.hangups') || '[]')")


def state_is(page, key: str) -> None:
    page.locator(f'#softphone[data-state="{key}"]').wait_for()


def test_browser_softphone_take_talk_mute_hold_resume_hang_up(page, engine):
    page.add_init_script(STAND_IN)
    page.clock.install(time="2026-07-10T08:00:00+08:00")  # paused before the call is accepted
    log_in(page, engine.url, "agent_a")
    page.goto(f"{engine.url}/console/desk")
    go_available(page)
    state_is(page, "sp_ready")
    assert page.locator("#softphone .sp-state").inner_text() == "就绪，可接听"
    [operator] = engine.call(
        table(engine.services, "SELECT id FROM operators WHERE username = 'agent_a'")
    )
    token = recorded(page, "devices[0].token")
    assert recorded(page, "devices.length") == 1
    assert recorded(page, "devices[0].registered") == 1
    grants = claims(token)
    assert (grants["iss"], grants["sub"]) == (API_KEY, ACCOUNT)
    assert grants["grants"]["identity"] == f"op-{operator['id']}"

    # the SDK says the token will expire: a new one for the same operator
    page.evaluate("window.__softphone.devices[0].emit('tokenWillExpire')")
    page.wait_for_function("() => window.__softphone.devices[0].updatedTokens.length === 1")
    fresh = recorded(page, "devices[0].updatedTokens[0]")
    assert claims(fresh)["grants"]["identity"] == f"op-{operator['id']}"

    li = engine.world["li"]
    engine.twilio.add_call(CALLER)  # the caller's live leg, at Twilio
    engine.call(
        transfer(
            engine.services,
            "HA",
            CALLER,
            caller="13812345678",
            step="book.doctor",
            digits="00901",
            patient_id=li,
            patient_name="李小明",
        )
    )
    page.locator(f'tr[data-call="{CALLER}"] button').wait_for()  # live, over SSE
    page.keyboard.press("t")  # the first waiting caller's "take"
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__softphone.devices[0].connects.length === 1")
    assert recorded(page, "devices[0].connects") == [{"params": {"call": CALLER}}]
    assert urlsplit(page.url).path == "/console/desk"  # no page load: it would end the call
    page.locator("#agent-state.state-busy").wait_for()  # the header follows, live (SSE)
    # what Twilio then asks the engine (the TwiML App's Voice URL, signed as Twilio signs):
    # the agent's leg from client:op-<id> with the parameters the Device was given
    leg = {
        "CallSid": "CA" + "a9e1" * 8,
        "From": f"client:op-{operator['id']}",
        "call": CALLER,
    }
    assert agent_leg_twiml(engine, leg) == (
        "Queue",
        "q-CA50f750f750f750f750f750f750f750f7",
    )  # exactly that caller
    other = {**leg, "From": f"client:op-{operator['id'] + 1000}"}
    assert agent_leg_twiml(engine, other)[0] == "Hangup"  # not the agent who took it
    state_is(page, "sp_calling")
    record = page.locator("#softphone .sp-record")
    assert record.get_attribute("href") == f"/console/desk/patients/{li}?call={CALLER}"
    assert page.locator("#softphone .sp-caller").inner_text() == "138****5678 · 李**"

    page.clock.pause_at("2026-07-10T09:00:00+08:00")  # the timer, by the page's own clock
    page.evaluate("window.__softphone.calls[0].emit('accept')")
    state_is(page, "sp_in_call")
    timer = page.locator("#softphone .sp-timer")
    assert timer.inner_text() == "00:00"
    page.clock.run_for("01:05")
    assert timer.inner_text() == "01:05"

    page.keyboard.press("m")
    assert recorded(page, "calls[0].muted") == [True]
    state_is(page, "sp_muted")
    page.keyboard.press("m")
    assert recorded(page, "calls[0].muted") == [True, False]
    state_is(page, "sp_in_call")

    page.keyboard.press("p")  # hold: the caller's leg goes to their queue, with music
    state_is(page, "sp_on_hold")
    assert engine.twilio.redirects == [
        (
            CALLER,
            f"{engine.url}/twilio/voice/requeue?call={CALLER}&hold=1&lang=zh",
            "POST",
        )
    ]
    assert recorded(page, "calls[0].disconnects") == 1  # this leg closed
    assert page.locator("#softphone .sp-message").inner_text() == "来电者已保持；按 p 恢复通话。"

    page.keyboard.press("h")  # on hold: not hung up (the caller would be left waiting)
    message = page.locator("#softphone .sp-message")
    message.filter(has_text="来电者正在保持中：请先按 p 恢复通话，或转接。").wait_for()
    state_is(page, "sp_on_hold")

    page.keyboard.press("p")  # resume: connect again to the same caller
    page.wait_for_function("() => window.__softphone.devices[0].connects.length === 2")
    assert recorded(page, "devices[0].connects[1]") == {"params": {"call": CALLER}}
    page.evaluate("window.__softphone.calls[1].emit('accept')")
    state_is(page, "sp_in_call")
    page.clock.run_for("00:10")
    assert timer.inner_text() == "01:15"  # the call's time goes on through the hold

    # another caller while on this call: not offered to a busy agent (#14 agent states)
    engine.call(transfer(engine.services, "HA", "CA-next", step="main", digits="0"))
    page.locator("tr.why-not.state-busy").wait_for()
    assert page.locator('tr[data-call="CA-next"]').count() == 0
    assert urlsplit(page.url).path == "/console/desk"
    assert recorded(page, "devices[0].connects.length") == 2

    page.keyboard.press("h")
    # hung up: the agent is in wrap-up and the wrap-up form opens (话后处理)
    page.wait_for_url(re.compile(rf"/desk/calls/{CALLER}/wrap-up$"))
    assert hung_up(page) == [0, 1]  # the held leg, then this one (read after the page load)
    assert len(engine.twilio.redirects) == 1
    assert page.locator("#agent-state").get_attribute("class").endswith("state-wrap_up")
    page.check("input[name=disposition][value=information]")
    page.fill("textarea[name=summary]", "询问门诊时间")
    page.locator("form.wrap-up button[type=submit]").click()
    page.wait_for_selector("#agent-state.state-available")
    # the wallboard counts it: handled, and the call's disposition in the call outcomes
    hospital_id = engine.call(engine.services.read(catalogue.hospital, "HA")).id
    board = engine.call(engine.services.read(reports.wallboard, SYSTEM, hospital_id))
    assert board.handled == 1  # CA-next still waits: it came during the call
    [wrapped] = engine.call(
        table(
            engine.services,
            "SELECT disposition, summary FROM calls WHERE call_sid = ?",
            CALLER,
        )
    )
    assert (wrapped["disposition"], wrapped["summary"]) == ("information", "询问门诊时间")


def test_browser_softphone_transfer_to_another_agent(page, engine):
    page.add_init_script(STAND_IN)
    log_in(page, engine.url, "agent_a")
    page.goto(f"{engine.url}/console/desk")
    go_available(page)
    state_is(page, "sp_ready")
    engine.twilio.add_call("CA-handover")
    engine.call(transfer(engine.services, "HA", "CA-handover", step="main", digits="0"))
    page.locator('tr[data-call="CA-handover"] button').wait_for()
    page.locator('tr[data-call="CA-handover"] button').click()
    page.wait_for_function("() => window.__softphone.devices[0].connects.length === 1")
    page.evaluate("window.__softphone.calls[0].emit('accept')")
    state_is(page, "sp_in_call")
    # an error of the Device reads as words: the microphone refused (31208)
    page.evaluate("window.__softphone.devices[0].emit('error', {code: 31208, message: 'x'})")
    message = page.locator("#softphone .sp-message")
    assert message.inner_text() == "无法使用麦克风：请在浏览器中允许本页面使用麦克风。"
    options = page.locator("#sp-agents option")
    options.first.wait_for(state="attached")  # the hospital's other agents, suggested
    suggested = page.eval_on_selector_all("#sp-agents option", "os => os.map(o => o.value)")
    assert suggested == ["agent_a2", "hadmin"]
    page.keyboard.press("x")  # the transfer form: another agent by user name
    page.keyboard.press("Tab")
    page.keyboard.type("agent_a2")
    page.keyboard.press("Enter")
    state_is(page, "sp_transferred")
    assert message.inner_text() == "已转接给坐席 agent_a2，来电者回到队列等候。"
    assert engine.twilio.redirects[-1] == (
        "CA-handover",
        f"{engine.url}/twilio/voice/requeue?call=CA-handover&hold=0&lang=zh",
        "POST",
    )
    assert recorded(page, "calls[0].disconnects") == 1


def test_browser_the_vendored_sdk_is_served_by_the_console_and_nothing_else_is(page, engine):
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))
    log_in(page, engine.url, "agent_a")
    page.goto(f"{engine.url}/console/desk")
    page.wait_for_function("() => window.Twilio && typeof window.Twilio.Device === 'function'")
    sources = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert f"{engine.url}/console/static/vendor/twilio-voice/twilio.min.js" in sources
    assert all(src.startswith(f"{engine.url}/console/static/") for src in sources), sources
    response = page.request.get(f"{engine.url}/console/static/vendor/twilio-voice/twilio.min.js")
    assert response.status == 200
    assert response.body() == (VENDORED / "twilio.min.js").read_bytes()
    assert (VENDORED / "LICENSE.md").read_text().count("Apache License") >= 1
    # the real SDK (no stand-in here) defined Device and Call, under the console's CSP
    assert page.evaluate("typeof window.Twilio.Call") == "function"
    # ... which tried Twilio (unreachable from here: its signalling error, 31000/31005,
    # is shown in words, not as a code), with nothing refused by the CSP
    message = page.locator("#softphone .sp-message")
    message.filter(has_text="与 Twilio 的连接中断，正在重新连接。").wait_for()
    assert "310" not in message.inner_text()
    assert any("wss://voice-js.roaming.twilio.com" in m for m in said), said
    assert not [m for m in said if "Content Security Policy" in m], said
    assert not page.locator("#softphone .sp-controls").is_visible()  # no call, no buttons
