"""The supervisor's wallboard: the page and its JSON twin, who may see it and which
hospital's, the live stream (a change shows; a lost notification shows at the safety
refresh, moved by hand; the longest wait is worked out when sent), and the shared readers'
life (one per hospital, gone with the last screen, a failing read keeps the last answer)."""

from __future__ import annotations

import asyncio

import pytest

from agent_console.keys import ConsoleSettings
from agent_console.live import Live
from agent_console.views.office import wallboard as wallboard_views
from booking_core import calls
from booking_core.store.changes import Changes
from tests.agent_console.desk.desk_world import transfer
from tests.agent_console.helpers import add_operator, available_agent
from tests.agent_console.office.live_world import live_of, open_stream, tiles, wait_seconds
from tests.agent_console.office.office_world import hospital, sign_in
from tests.support.waiting import eventually


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def test_the_page_its_twin_and_who_may_see_it(browser, services, clock, world):
    await transfer(services, "HA", "CA-1")
    clock.advance(seconds=42)
    await transfer(services, "HB", "CB-1")
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    status, body = await viewer.get("/office/wallboard")
    assert status == 200, body
    assert (body["waiting"], body["longest_wait_seconds"]) == (1, 42)
    assert (body["handled"], body["abandoned"], body["service_level"]) == (0, 0, None)
    assert body["day"] == "2026-07-10"
    assert {b["channel"]: b["count"] for b in body["bookings_by_channel"]} == {
        "agent": 1,
        "ivr": 1,
        "sms": 1,
        "kiosk": 1,
    }
    assert body["service_level_seconds"] == 20
    async with viewer.client.get("/console/office/wallboard") as resp:
        page = await resp.text()
    assert resp.status == 200
    assert 'data-wallboard-stream="/console/office/wallboard/stream"' in page
    assert 'data-tile="waiting">1<' in page
    assert "0:42" in page
    assert "电话语音" in page  # channels in words
    assert "static/wallboard.js" in page
    assert (await viewer.get("/office/wallboard/stream.json"))[1]["waiting"] == 1
    assert (await viewer.get("/office/wallboard?hospital=HB"))[0] == 404
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    assert (await agent.get("/office/wallboard"))[0] == 403
    assert (await agent.get("/office/wallboard/stream"))[0] == 403
    office = (await viewer.get("/office"))[1]
    assert "wallboard" in [s["path"] for s in office["screens"]]


async def test_a_platform_operator_names_the_hospital(browser, services, world):
    await transfer(services, "HB", "CB-1")
    platform = await sign_in(browser, services, "root", ("platform_admin",), None)
    status, body = await platform.get("/office/wallboard")
    assert (status, body["error"]) == (400, "invalid_input")
    status, body = await platform.get("/office/wallboard?hospital=HB")
    assert (status, body["waiting"]) == (200, 1)
    assert (await platform.get("/office/wallboard?hospital=NOPE"))[0] == 404


async def test_the_stream_shows_each_change_and_counts_the_wait_when_sent(
    browser, services, clock, world
):
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    board = await open_stream(viewer, "/console/office/wallboard/stream")
    try:
        await eventually(lambda: board.events, "the first tiles")
        assert board.events[0][0] == "wallboard"
        assert tiles(board.last)["waiting"] == "0"
        await transfer(services, "HA", "CA-1")
        await eventually(lambda: tiles(board.last).get("waiting") == "1", "the transfer")
        assert wait_seconds(board.last) == 0
        clock.advance(seconds=15)
        agent = await available_agent(services, "agent_a", "HA")
        await services.handle(calls.TakeCall(call_sid="CA-1", actor=agent))
        await eventually(lambda: tiles(board.last).get("handled") == "1", "the take")
        assert tiles(board.last)["service_level"] == "100.0%"
        await transfer(services, "HB", "CB-1")  # another hospital's: no event here
        clock.advance(seconds=30)
        await transfer(services, "HA", "CA-2")
        await eventually(lambda: tiles(board.last).get("waiting") == "1", "the second")
        clock.advance(seconds=7)
        await services.handle(calls.EndCall(call_sid="CA-2", status="completed"))
        await eventually(lambda: tiles(board.last).get("abandoned") == "1", "the hang-up")
        assert tiles(board.last)["service_level"] == "50.0%"
        assert all("CB-1" not in data for _name, data in board.events)
    finally:
        await board.close()


class ManualClock:
    """The feeds' sleep, moved by the test: ``due()`` ends every pending sleep."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[None]] = []

    async def sleep(self, _seconds: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self.pending.append(waiter)
        await waiter

    def due(self) -> None:
        pending, self.pending = self.pending, []
        for waiter in pending:
            if not waiter.done():
                waiter.set_result(None)


async def test_a_lost_notification_shows_at_the_safety_refresh(browser, services, world):
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    manual = ManualClock()
    live_of(viewer).sleep = manual.sleep
    board = await open_stream(viewer, "/console/office/wallboard/stream")
    try:
        await eventually(lambda: board.events, "the first tiles")
        signal = services.store.changes.signal
        services.store.changes.signal = lambda changes: None  # every notification lost
        try:
            await transfer(services, "HA", "CA-lost")
        finally:
            services.store.changes.signal = signal
        await asyncio.sleep(0)
        assert tiles(board.last)["waiting"] == "0"  # nothing heard of it
        await eventually(lambda: manual.pending, "the refresh timer")
        manual.due()
        await eventually(lambda: tiles(board.last).get("waiting") == "1", "the refresh")
    finally:
        await board.close()


async def test_one_reader_per_hospital_gone_with_its_last_screen():
    changes = Changes()
    manual = ManualClock()
    live = Live(changes, sleep=manual.sleep)
    reads = {"HA": 0, "HB": 0}

    def reader(code):
        async def read():
            reads[code] += 1
            return reads[code]

        return read

    async with (
        live.subscribe("wallboard", {"call"}, 1, reader("HA")) as a1,
        live.subscribe("wallboard", {"call"}, 1, reader("HA")) as a2,
        live.subscribe("wallboard", {"call"}, 2, reader("HB")) as b1,
    ):
        assert a1 is a2
        assert a1 is not b1
        assert await asyncio.wait_for(a1.next(0), 5) == (1, 1)
        assert await asyncio.wait_for(b1.next(0), 5) == (1, 1)
        changes.signal([("call", 1)])
        assert await asyncio.wait_for(a2.next(1), 5) == (2, 2)
        changes.signal([("booking", 1)])  # not a topic it shows
        changes.signal([("call", 2)])
        assert await asyncio.wait_for(b1.next(1), 5) == (2, 2)
        assert reads == {"HA": 2, "HB": 2}
    assert live.feeds == {}
    await live.close()


async def test_a_failing_read_keeps_the_last_answer_and_reads_again(caplog):
    changes = Changes()
    manual = ManualClock()
    live = Live(changes, sleep=manual.sleep)
    answers: list[object] = ["first", RuntimeError("store down"), "again"]

    async def read():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with live.subscribe("calls", {"call"}, 1, read) as feed:
        assert await asyncio.wait_for(feed.next(0), 5) == (1, "first")
        changes.signal([("call", 1)])
        await eventually(lambda: len(answers) == 1, "the failed read")
        assert feed.value == "first"
        assert "store down" in caplog.text
        manual.due()  # the retry pause is over
        assert await asyncio.wait_for(feed.next(1), 5) == (2, "again")
    await live.close()


async def test_a_stream_ends_after_its_lifetime(browser, services, world, monkeypatch):
    monkeypatch.setattr(wallboard_views, "STREAM_SECONDS", 0.2)
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    async with viewer.client.get("/console/office/wallboard/stream") as resp:
        body = await asyncio.wait_for(resp.read(), 10)
    assert body.startswith(b"retry: 2000\n\n")
    assert body.count(b"event: wallboard") == 1
    assert live_of(viewer).feeds == {}


async def test_open_streams_end_when_the_console_shuts_down(browser, services, world):
    """A shutdown is not held by open screens: on_shutdown ends every stream (desks' and
    wallboards'), and their browsers reconnect to another engine."""
    console = await sign_in(browser, services, "admin", ("hospital_admin",), "HA")
    desk = await open_stream(console, "/console/desk/calls/stream")
    board = await open_stream(console, "/console/office/wallboard/stream")
    await eventually(lambda: desk.events and board.events, "the first events")
    live_of(console).shutdown()
    await asyncio.wait_for(asyncio.gather(desk.task, board.task), 10)  # both ended
    assert live_of(console).feeds == {}


async def test_the_service_level_threshold_is_a_setting(browser, services, clock, world):
    await add_operator(services, "viewer", ("report_viewer",), "HA")
    viewer = await browser(ConsoleSettings(wallboard_service_level_seconds=45))
    await viewer.sign_in("viewer")
    await transfer(services, "HA", "CA-1")
    clock.advance(seconds=30)
    agent = await available_agent(services, "agent_a", "HA")
    await services.handle(calls.TakeCall(call_sid="CA-1", actor=agent))
    _status, body = await viewer.get("/office/wallboard")
    assert (body["service_level_seconds"], body["service_level"]) == (45, 1.0)
    async with viewer.client.get("/console/office/wallboard") as resp:
        assert "45 秒内接听" in await resp.text()
