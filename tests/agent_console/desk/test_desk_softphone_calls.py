"""Hold and transfer from the softphone (#14): the caller's leg is redirected with Twilio's
REST API (a local fake that records the exact request), only by the agent who took the
call; a transfer to another agent hands the call over in the core (audited), one back to
the IVR takes it off the queue. Without Twilio settings nothing is asked of Twilio."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from agent_console.keys import SoftphoneSettings
from booking_core.calls import call_queue
from booking_core.kernel.actor import SYSTEM
from tests.agent_console.desk.desk_world import go_available, transfer
from tests.agent_console.helpers import console_settings, table
from tests.fakes.twilio_calls import ACCOUNT, API_KEY, API_SECRET, FakeTwilioCalls

PUBLIC = "https://guahao.example"
APP = "AP" + "c" * 32
REQUEUE = f"{PUBLIC}/twilio/voice/requeue"


@pytest.fixture
async def twilio():
    async with FakeTwilioCalls() as fake:
        fake.add_call("CA-known")
        fake.add_call("CA-en")
        yield fake


def phone(twilio: FakeTwilioCalls, **changes) -> SoftphoneSettings:
    settings = SoftphoneSettings(
        ACCOUNT, API_KEY, API_SECRET, APP, 600, api_base=twilio.base_url, public_url=PUBLIC
    )
    return replace(settings, **changes)


@pytest.fixture
async def desk(browser, services, desk_world, twilio):
    await transfer(services, "HA", "CA-known", step="main", digits="0")
    await transfer(services, "HA", "CA-en", step="main", digits="0", lang="en")

    async def sign_in(name: str, **changes):
        console = await browser(console_settings(softphone=phone(twilio, **changes)))
        await console.sign_in(name)
        await go_available(console)
        return console

    return sign_in


async def queue_row(services, sid: str) -> dict:
    """The call as the queue has it, read through the core (a busy agent's desk lists no
    callers)."""
    found = await services.read(call_queue, SYSTEM)
    return {"taken_by": next(c for c in found if c.call_sid == sid).taken_by}


async def test_hold_sends_the_caller_to_their_queue_with_music(desk, twilio, services):
    agent = await desk("agent_a")
    assert (await agent.post("/desk/calls/CA-known/take"))[0] == 200
    status, body = await agent.post("/desk/calls/CA-known/hold")
    assert status == 200, body
    assert body["message"] == "来电者已保持；按 p 恢复通话。"
    assert twilio.redirects == [("CA-known", f"{REQUEUE}?call=CA-known&hold=1&lang=zh", "POST")]
    [update] = twilio.requests
    assert update.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/CA-known.json"
    assert (await queue_row(services, "CA-known"))["taken_by"] == "agent_a"  # still theirs
    status, body = await agent.post("/desk/calls/CA-known/resume")
    assert (status, body["connect"]) == (200, {"call": "CA-known"})


async def test_an_english_caller_holds_in_english(desk, twilio):
    agent = await desk("agent_a")
    await agent.post("/desk/calls/CA-en/take")
    assert (await agent.post("/desk/calls/CA-en/hold"))[0] == 200
    assert twilio.redirects == [("CA-en", f"{REQUEUE}?call=CA-en&hold=1&lang=en", "POST")]


async def test_only_the_agent_who_took_the_call_may_hold_or_transfer_it(desk, twilio):
    agent = await desk("agent_a")
    other = await desk("agent_a2")
    for path in ("hold", "resume", "transfer"):  # nobody took it yet
        status, body = await agent.post(f"/desk/calls/CA-known/{path}", {"to": "ivr"})
        assert (status, body["error"]) == (409, "sp_not_yours"), path
    await agent.post("/desk/calls/CA-known/take")
    for path in ("hold", "resume", "transfer"):
        status, body = await other.post(f"/desk/calls/CA-known/{path}", {"to": "ivr"})
        assert (status, body["error"]) == (409, "sp_not_yours"), path
    assert (await agent.post("/desk/calls/CB-other/hold"))[0] == 404  # another hospital's
    assert twilio.requests == []


async def test_transfer_to_another_agent_hands_the_call_over(desk, twilio, services):
    agent = await desk("agent_a")
    await agent.post("/desk/calls/CA-known/take")
    status, body = await agent.post("/desk/calls/CA-known/transfer", {"to": "agent:agent_a2"})
    assert status == 200, body
    assert body["message"] == "已转接给坐席 agent_a2，来电者回到队列等候。"
    assert twilio.redirects == [("CA-known", f"{REQUEUE}?call=CA-known&hold=0&lang=zh", "POST")]
    row = await queue_row(services, "CA-known")
    assert row["taken_by"] is None
    rows = await table(
        services, "SELECT actor, after_state FROM audit WHERE action = 'call.hand_over'"
    )
    assert [r["actor"] for r in rows] == ["operator:agent_a"]
    assert "agent_a2" in rows[0]["after_state"]
    [ctx] = await table(services, "SELECT transfer_context FROM calls WHERE call_sid = 'CA-known'")
    assert json.loads(ctx["transfer_context"])["offered_to"] == "agent_a2"
    # no longer agent_a's: a hold now is refused; agent_a2 takes it and may hold it
    assert (await agent.post("/desk/calls/CA-known/hold"))[1]["error"] == "sp_not_yours"
    other = await desk("agent_a2")
    assert (await other.post("/desk/calls/CA-known/take"))[0] == 200
    assert (await other.post("/desk/calls/CA-known/hold"))[0] == 200


async def test_a_transfer_twilio_did_not_answer_can_be_asked_again(desk, twilio, services):
    agent = await desk("agent_a")
    await agent.post("/desk/calls/CA-known/take")
    twilio.fail_next(503)
    status, body = await agent.post("/desk/calls/CA-known/transfer", {"to": "agent:agent_a2"})
    assert (status, body["error"]) == (502, "sp_rest_unavailable")
    assert "来电者仍在您的线路上" in body["message"]
    status, body = await agent.post("/desk/calls/CA-known/transfer", {"to": "agent:agent_a2"})
    assert status == 200, body
    assert len(twilio.redirects) == 2
    audit = await table(services, "SELECT id FROM audit WHERE action = 'call.hand_over'")
    assert len(audit) == 1  # handed over once


async def test_transfer_to_nobody_known_is_refused_before_twilio(desk, twilio, services):
    agent = await desk("agent_a")
    await agent.post("/desk/calls/CA-known/take")
    for to, code in (
        ("agent:nobody", "sp_no_agent"),
        ("agent:agent_b", "sp_no_agent"),  # another hospital's agent
        ("agent:agent_a", "sp_no_agent"),  # oneself
        ("agent:", "sp_bad_target"),
        ("queue", "sp_bad_target"),
        ("", "sp_bad_target"),
    ):
        status, body = await agent.post("/desk/calls/CA-known/transfer", {"to": to})
        assert body["error"] == code, to
        assert status in (400, 404)
    assert twilio.requests == []
    assert (await queue_row(services, "CA-known"))["taken_by"] == "agent_a"


async def test_transfer_back_to_the_menu_takes_the_call_off_the_queue(desk, twilio, services):
    agent = await desk("agent_a")
    await agent.post("/desk/calls/CA-known/take")
    status, body = await agent.post("/desk/calls/CA-known/transfer", {"to": "ivr"})
    assert (status, body["message"]) == (200, "来电者已返回语音菜单。")
    assert twilio.redirects == [("CA-known", f"{PUBLIC}/twilio/voice/menu", "POST")]
    assert [c.call_sid for c in await services.read(call_queue, SYSTEM)] == ["CA-en"]
    rows = await table(services, "SELECT id FROM audit WHERE action = 'call.hand_over'")
    assert len(rows) == 1


async def test_a_call_that_ended_at_twilio_is_said_so(desk, twilio):
    agent = await desk("agent_a")
    await agent.post("/desk/calls/CA-known/take")
    twilio.end("CA-known")
    status, body = await agent.post("/desk/calls/CA-known/hold")
    assert (status, body["error"], body["message"]) == (409, "sp_call_over", "该通话已结束。")


async def test_wrong_credentials_are_worded_not_crashed(desk, twilio):
    agent = await desk("agent_a", api_key_secret="not-the-secret")
    await agent.post("/desk/calls/CA-known/take")
    status, body = await agent.post("/desk/calls/CA-known/hold")
    assert (status, body["error"]) == (502, "sp_rest_refused")
    assert "联系管理员" in body["message"]


async def test_without_twilio_settings_the_buttons_explain(desk, twilio):
    agent = await desk("agent_a", api_key_sid="", api_key_secret="", public_url="")
    await agent.post("/desk/calls/CA-known/take")
    for path in ("hold", "transfer"):
        status, body = await agent.post(f"/desk/calls/CA-known/{path}", {"to": "ivr"})
        assert (status, body["error"]) == (503, "softphone_not_configured"), path
        assert body["missing"] == ["twilio_api_key_sid", "twilio_api_key_secret", "public_url"]
        assert "请联系管理员" in body["message"]
    assert twilio.requests == []


async def test_hold_needs_the_csrf_token(desk, twilio):
    agent = await desk("agent_a")
    await agent.post("/desk/calls/CA-known/take")
    assert (await agent.post("/desk/calls/CA-known/hold", csrf=None))[0] == 403
    assert twilio.requests == []


async def test_the_agents_to_transfer_to_are_the_hospitals_others(desk, twilio):
    agent = await desk("agent_a")
    status, body = await agent.get("/desk/agents")
    assert status == 200, body
    # those who may take calls (agents and the hospital's admin), not oneself, not HB's
    assert [a["username"] for a in body["agents"]] == ["agent_a2", "hadmin"]
    async with agent.client.get("/console/desk/agents") as resp:
        assert resp.status == 200
        assert "agent_a2" in await resp.text()
