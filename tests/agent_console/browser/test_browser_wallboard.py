"""The supervisor's wallboard in headless Chromium against the real engine: the tiles
change when a caller is transferred, taken or hangs up (the page's EventSource, fed by the
engine's change notifications), and the longest wait counts on by itself between two
updates. The page's timers run on Playwright's clock, moved by hand: no timed assertion.

Chromium comes from the Debian package (never downloaded). Without it these tests are
skipped on a workstation and FAIL in CI (``CI=true``).
"""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import expect

from booking_core import calls, catalogue
from booking_core.kernel.actor import Actor, Channel
from tests.agent_console.browser.live_desk import log_in, office_admin, office_hospital
from tests.agent_console.desk.desk_world import transfer
from tests.agent_console.helpers import add_operator

BROWSER_NOW = datetime(2026, 7, 10, 1, 0)  # the page's own clock (any time: it counts on)


def test_browser_wallboard_follows_the_calls_and_counts_the_wait(page, engine):
    office_hospital(engine, "HW")
    hospital_id = engine.call(engine.services.read(catalogue.hospital, "HW")).id
    log_in(page, engine.url, "hadmin_wall", code=office_admin(engine, "hadmin_wall", "HW"))
    page.clock.install(time=BROWSER_NOW)
    page.clock.pause_at(BROWSER_NOW)
    page.goto(f"{engine.url}/console/office/wallboard")
    board = page.locator("#wallboard")
    expect(board).to_have_attribute("data-updated", re.compile(r"^\d+$"))  # the stream is on
    waiting = board.locator('[data-tile="waiting"]')
    longest = board.locator('[data-tile="longest_wait"]')
    expect(waiting).to_have_text("0")

    engine.call(transfer(engine.services, "HW", "CW-browser-1"))
    expect(waiting).to_have_text("1")  # pushed by the stream, no reload
    expect(longest).to_have_text("0:00")
    page.clock.run_for(65_000)  # the page's timers: 65 s later, no new event
    expect(longest).to_have_text("1:05")

    engine.call(add_operator(engine.services, "agent_wall", ("agent",), "HW"))
    agents = board.locator('[data-tile="agents"]')
    agent = Actor("operator", "agent_wall", hospital_id, Channel.AGENT)
    available = calls.SetAgentState(actor=agent, state=calls.AgentState.AVAILABLE)
    engine.call(engine.services.handle(available))
    expect(agents.locator("li.agent-available b")).to_have_text("1")  # pushed: topic "agent"
    engine.call(engine.services.handle(calls.TakeCall(call_sid="CW-browser-1", actor=agent)))
    expect(agents.locator("li.agent-busy b")).to_have_text("1")
    expect(agents.locator("li.agent-available b")).to_have_text("0")
    expect(board.locator('[data-tile="handled"]')).to_have_text("1")
    expect(waiting).to_have_text("0")
    expect(board.locator('[data-tile="service_level"]')).to_have_text("100.0%")
    engine.call(transfer(engine.services, "HW", "CW-browser-2"))
    expect(waiting).to_have_text("1")
    engine.call(engine.services.handle(calls.EndCall(call_sid="CW-browser-2", status="busy")))
    expect(board.locator('[data-tile="abandoned"]')).to_have_text("1")
    expect(board.locator('[data-tile="service_level"]')).to_have_text("50.0%")
