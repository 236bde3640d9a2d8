"""The agent's state on the desk (#14): the switcher in every desk page's header, callers
offered only to an available agent (else the list says why not), taking refused in words
when not available, end the call → wrap-up form → available, the wrap-up limit passing on
the clock, logging out → offline; and the office's workload and call-outcome reports."""

from __future__ import annotations

import pytest

from booking_core.calls import SUMMARY_MAX_CHARS
from tests.agent_console.desk.desk_world import go_available, transfer
from tests.agent_console.helpers import console_settings, table


@pytest.fixture
async def waiting(services, desk_world):
    await transfer(services, "HA", "CA-1", step="main", digits="0")
    await transfer(services, "HA", "CA-2", step="main", digits="0")


@pytest.fixture
async def offline_agent(browser, desk_world):
    """agent_a signed in, not yet available."""
    console = await browser()
    await console.sign_in("agent_a")
    return console


async def _html(console, path: str) -> str:
    async with console.client.get("/console" + path) as resp:
        assert resp.status == 200, path
        return await resp.text()


async def test_callers_are_offered_only_to_an_available_agent(offline_agent, clock, waiting):
    agent = offline_agent
    status, body = await agent.get("/desk")
    assert status == 200, body
    assert (body["calls"], body["agent"]["state"]) == ([], "offline")
    assert "置闲后才会看到" in body["why_not"]
    page = await _html(agent, "/desk")
    assert 'id="agent-state"' in page
    assert "离线" in page
    assert "置闲后才会看到等待的来电" in page  # in the list, instead of the callers
    assert 'value="available"' in page  # the switcher

    status, body = await agent.post("/desk/state", {"state": "break"})
    assert (status, body["agent"]["state"], body["next"]) == (200, "break", "/console/desk")
    clock.advance(minutes=7)
    _status, state = await agent.get("/desk/state")
    assert (state["agent"]["state_name"], state["agent"]["minutes"]) == ("小休", 7)
    assert state["agent"]["since"] == "09:00"  # the hospital's local time
    assert "小休" in (await agent.get("/desk/calls/stream.json"))[1]["why_not"]
    page = await _html(agent, "/desk/patients?q=李")  # the header on another desk page
    assert "自 09:00 起（7 分钟）" in page

    await go_available(agent)
    _status, body = await agent.get("/desk")
    assert ([c["call_sid"] for c in body["calls"]], body["why_not"]) == (["CA-1", "CA-2"], "")
    assert [c["call_sid"] for c in (await agent.get("/desk/calls/stream.json"))[1]["calls"]] == [
        "CA-1",
        "CA-2",
    ]
    status, body = await agent.post("/desk/state", {"state": "busy"})
    assert (status, body["error"]) == (400, "invalid_input")  # busy comes from a call
    status, body = await agent.post("/desk/state", {"state": "nap"})
    assert (status, body["error"]) == (400, "invalid_input")
    rows = await table(agent.services, "SELECT * FROM audit WHERE action = 'agent.state'")
    assert len(rows) == 2


async def test_taking_a_caller_on_a_break_is_refused_in_words(offline_agent, waiting):
    agent = offline_agent
    status, body = await agent.post("/desk/calls/CA-1/take")
    assert (status, body["error"]) == (409, "agent_not_available")
    assert body["message"] == "您当前为「离线」，不能接听来电：请先切换为空闲。"
    await agent.post("/desk/state", {"state": "break"})
    async with agent.client.post(
        "/console/desk/calls/CA-1/take", data={"csrf_token": agent.csrf_token}
    ) as resp:
        assert resp.status == 409
        assert "您当前为「小休」" in await resp.text()
    [call] = await table(agent.services, "SELECT agent_id FROM calls WHERE call_sid = 'CA-1'")
    assert call["agent_id"] is None


async def test_take_end_wrap_up_and_available_again(agent, services, waiting):
    status, body = await agent.post("/desk/calls/CA-1/take")
    assert status == 200, body
    _status, desk = await agent.get("/desk")
    assert (desk["calls"], desk["agent"]["state"]) == ([], "busy")
    assert "通话中" in desk["why_not"]
    page = await _html(agent, "/desk/calls/CA-1")
    assert 'action="/console/desk/calls/CA-1/finish"' in page  # "end the call" in the header

    status, body = await agent.post("/desk/calls/CA-1/finish")
    assert (status, body["next"]) == (200, "/console/desk/calls/CA-1/wrap-up")
    assert (body["agent"]["state"], body["agent"]["wrap_up_until"]) == ("wrap_up", "09:02:00")
    _status, form = await agent.get("/desk/calls/CA-1/wrap-up")
    assert form["dispositions"] == [
        "booked",
        "changed",
        "cancelled",
        "information",
        "complaint",
        "other",
    ]
    assert form["summary_max"] == SUMMARY_MAX_CHARS
    page = await _html(agent, "/desk/calls/CA-1/wrap-up")
    assert "仅咨询" in page
    assert "话后处理" in page

    status, body = await agent.post("/desk/calls/CA-1/wrap-up", {"disposition": "maybe"})
    assert (status, body["error"], body["field"]) == (400, "invalid_input", "disposition")
    long = {"disposition": "booked", "summary": "字" * (SUMMARY_MAX_CHARS + 1)}
    status, body = await agent.post("/desk/calls/CA-1/wrap-up", long)
    assert (status, body["field"]) == (400, "summary")
    assert "字字" not in str(body)  # the summary is not echoed in JSON
    status, body = await agent.post(
        "/desk/calls/CA-1/wrap-up",
        {"disposition": "information", "summary": "问 李小明 的就诊时间"},
    )
    assert (status, body["agent"]["state"], body["next"]) == (200, "available", "/console/desk")
    [call] = await table(services, "SELECT disposition, summary FROM calls WHERE call_sid = 'CA-1'")
    assert (call["disposition"], call["summary"]) == ("information", "问 李小明 的就诊时间")
    audit = await table(
        services, "SELECT after_state FROM audit WHERE action IN ('call.wrap_up', 'agent.state')"
    )
    assert len(audit) == 5  # available, busy, wrap-up, the wrap-up itself, available
    assert all("李小明" not in r["after_state"] for r in audit)
    queue = (await agent.get("/desk"))[1]["calls"]
    assert [(c["call_sid"], c["taken_by"]) for c in queue] == [("CA-1", "agent_a"), ("CA-2", None)]


async def test_the_wrap_up_limit_makes_the_agent_available(browser, clock, waiting):
    agent = await browser(console_settings(agent_wrap_up_seconds=30))
    await agent.sign_in("agent_a")
    await go_available(agent)
    await agent.post("/desk/calls/CA-1/take")
    await agent.post("/desk/calls/CA-1/finish")
    clock.advance(seconds=29)
    _status, desk = await agent.get("/desk")
    assert (desk["agent"]["state"], desk["calls"]) == ("wrap_up", [])
    clock.advance(seconds=1)
    _status, desk = await agent.get("/desk")
    assert (desk["agent"]["state"], [c["taken_by"] for c in desk["calls"]]) == (
        "available",
        ["agent_a", None],
    )
    status, body = await agent.post("/desk/calls/CA-2/take")
    assert status == 200, body


async def test_logging_out_sets_the_agent_offline(agent, services):
    status, _body = await agent.post("/logout")
    assert status == 200
    rows = await table(services, "SELECT state FROM agent_states")
    assert rows == [{"state": "offline"}]


async def test_the_reports_count_dispositions_and_agent_times(agent, browser, services, waiting):
    clock = agent.clock
    await agent.post("/desk/calls/CA-1/take")
    clock.advance(minutes=4)
    await agent.post("/desk/calls/CA-1/finish")
    clock.advance(minutes=1)
    await agent.post("/desk/calls/CA-1/wrap-up", {"disposition": "booked"})
    clock.advance(minutes=5)
    viewer = await browser()
    await viewer.sign_in("hadmin", secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    status, body = await viewer.get("/office/reports?day_from=2026-07-10&day_to=2026-07-10")
    assert status == 200, body
    assert body["data"]["call_dispositions"] == [["booked", 1]]
    [times] = body["agent_times"]
    assert times == {
        "operator": "agent_a",
        "name": "操作员agent_a",
        "calls": 1,
        "talk_seconds": 240,
        "average_talk_seconds": 240,
        "wrap_up_seconds": 60,
        "break_seconds": 0,
        "available_seconds": 300,
    }
    page = await _html(viewer, "/office/reports?day_from=2026-07-10&day_to=2026-07-10")
    assert "坐席工作量" in page
    assert "<td>4:00</td>" in page
    assert "预约挂号" in page  # the disposition chart, in words
