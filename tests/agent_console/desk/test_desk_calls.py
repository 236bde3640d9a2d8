"""Incoming calls: the queue with the IVR's context, live over SSE, own hospital only;
taking a caller opens their record (screen pop), and only one agent gets each caller."""

from __future__ import annotations

import asyncio

import pytest

from agent_console.views.desk import calls as call_views
from booking_core import calls
from tests.agent_console.desk.desk_world import go_available, transfer
from tests.agent_console.helpers import table


@pytest.fixture
async def queued(services, desk_world):
    li = desk_world["li"]
    await transfer(
        services,
        "HA",
        "CA-known",
        caller="13812345678",
        reason="asked",
        step="book.dept",
        digits="102",
        patient_id=li,
        patient_name="李小明",
    )
    await transfer(
        services, "HA", "CA-unknown", reason="wrong_input", step="identify", digits="12345678"
    )
    await transfer(services, "HB", "CB-other", step="main", digits="0")
    return li


async def test_the_queue_shows_the_ivr_context_of_own_hospitals_callers(agent, queued):
    status, body = await agent.get("/desk")
    assert status == 200, body
    assert [c["call_sid"] for c in body["calls"]] == ["CA-known", "CA-unknown"]
    known = body["calls"][0]
    assert known["caller"] == "138****5678"
    assert (known["patient_id"], known["patient_name"]) == (queued, "李**")
    assert (known["step"], known["digits"], known["reason"]) == ("book.dept", "102", "asked")
    assert known["taken_by"] is None
    assert (await agent.get("/desk/calls/stream.json"))[1]["calls"] == body["calls"]
    async with agent.client.get("/console/desk") as resp:
        page = await resp.text()
    assert "13812345678" not in page
    assert "李小明" not in page
    assert "CB-other" not in page
    assert 'data-stream="/console/desk/calls/stream"' in page
    assert (await agent.get("/desk/calls/CB-other"))[0] == 404


async def test_taking_a_known_caller_opens_their_record_with_the_call(agent, browser, queued):
    status, body = await agent.post("/desk/calls/CA-known/take")
    assert status == 200, body
    assert body["next"] == f"/console/desk/patients/{queued}?call=CA-known"
    status, record = await agent.get(f"/desk/patients/{queued}", params={"call": "CA-known"})
    assert record["call"]["digits"] == "102"
    assert record["call"]["taken_by"] == "agent_a"
    assert record["patient"]["name"] == "李小明"
    other = await browser()
    await other.sign_in("agent_a2")
    await go_available(other)  # agent_a is busy now: offered no caller, agent_a2 sees them
    queue = (await other.get("/desk"))[1]["calls"]
    assert [c["taken_by"] for c in queue] == ["agent_a", None]

    again = await agent.post("/desk/calls/CA-known/take")  # the same agent: still theirs
    assert again[0] == 200
    status, body = await other.post("/desk/calls/CA-known/take")
    assert (status, body["error"]) == (409, "call_taken")
    assert body["message"] == "该来电已由 agent_a 接听。"
    [row] = await table(agent.services, "SELECT actor FROM audit WHERE action = 'call.take'")
    assert row["actor"] == "operator:agent_a"


async def test_an_unknown_caller_opens_the_call_with_what_they_typed(agent, queued):
    status, body = await agent.post("/desk/calls/CA-unknown/take")
    assert status == 200
    assert body["next"] == "/console/desk/calls/CA-unknown"
    _status, body = await agent.get("/desk/calls/CA-unknown")
    assert (body["call"]["step"], body["q"]) == ("identify", "12345678")
    async with agent.client.get("/console/desk/calls/CA-unknown") as resp:
        page = await resp.text()
    assert 'value="12345678"' in page  # the search box is filled with the digits typed


async def test_another_hospitals_call_cannot_be_taken(agent, services, queued):
    status, body = await agent.post("/desk/calls/CB-other/take")
    assert (status, body["error"]) == (404, "not_found")
    assert await table(services, "SELECT * FROM audit WHERE action = 'call.take'") == []


async def test_two_agents_racing_for_one_caller_one_wins(browser, services, queued):
    agents = []
    for name in ("agent_a", "agent_a2"):
        console = await browser()
        await console.sign_in(name)
        await go_available(console)
        agents.append(console)
    results = await asyncio.gather(*(a.post("/desk/calls/CA-known/take") for a in agents))
    assert sorted(status for status, _ in results) == [200, 409]
    assert len(await table(services, "SELECT * FROM audit WHERE action = 'call.take'")) == 1


async def _next_event(resp, kind: str = "calls") -> tuple[str, str]:
    """The stream's next event of ``kind`` (the desk's stream also sends ``agent``: the
    header's state, when it changes)."""
    name, data = "", []
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 5)).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and name:
            if name == kind:
                return name, "\n".join(data)
            name, data = "", []


async def test_the_stream_sends_the_rows_and_each_new_transfer(
    agent, services, queued, monkeypatch
):
    async with agent.client.get("/console/desk/calls/stream") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        name, rows = await _next_event(resp)
        assert name == "calls"
        assert rows.count('<tr class="call') == 2
        assert "138****5678" in rows
        assert 'name="csrf_token"' in rows
        assert "CB-other" not in rows
        await transfer(services, "HA", "CA-new", caller="13700000001", step="main", digits="0")
        name, rows = await _next_event(resp)
        assert rows.count('<tr class="call') == 3
        assert "137****0001" in rows
        await services.handle(calls.EndCall(call_sid="CA-known", status="completed"))
        name, rows = await _next_event(resp)
        assert rows.count('<tr class="call') == 2
        assert "138****5678" not in rows


async def test_a_stream_ends_after_its_lifetime_and_needs_a_session(
    agent, browser, queued, monkeypatch
):
    monkeypatch.setattr(call_views, "STREAM_SECONDS", 0.2)
    async with agent.client.get("/console/desk/calls/stream") as resp:
        body = await asyncio.wait_for(resp.read(), 5)
    assert body.startswith(b"retry: 1000\n\n")
    assert body.count(b"event: calls") == 1
    stranger = await browser()
    async with stranger.client.get("/console/desk/calls/stream", allow_redirects=False) as resp:
        assert resp.status == 303
