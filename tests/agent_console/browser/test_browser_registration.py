"""An unknown caller registered and booked at the desk by keyboard in headless Chromium
(#14): take the call, Enter on 登记新患者 / Register, type the name (traditional characters
folded) and the ID number (the mobile is the calling number), Enter; then the booking filter
and the first free place — at most 6 page loads from the call page to the confirmation."""

from __future__ import annotations

import re

from tests.agent_console.browser.live_desk import go_available, log_in
from tests.agent_console.desk.desk_world import transfer
from tests.support.world import resident_id

MAX_PAGE_LOADS = 6  # issue #14: from an unknown caller's call page to the booking


def test_browser_register_an_unknown_caller_and_book_by_keyboard(page, engine):
    engine.call(
        transfer(
            engine.services,
            "HA",
            "CA-unknown-b",
            caller="+8613755556666",
            reason="not_registered",
            step="identify",
        )
    )
    log_in(page, engine.url, "agent_a")
    page.goto(f"{engine.url}/console/desk")
    go_available(page)  # 置闲: only an available agent takes a caller
    page.goto(f"{engine.url}/console/desk/calls/CA-unknown-b")
    page.keyboard.press("t")  # take it: the call page again, now the agent's
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/desk/calls/CA-unknown-b$"))
    page.locator("a.register:focus").wait_for()
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    loads.append(page.url)  # the call page counts as the first

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/desk/patients/new\?call=CA-unknown-b"))
    assert page.locator("input[name=phone]").input_value() == "13755556666"
    page.locator("input[name=name]:focus").wait_for()
    page.keyboard.type("趙小紅")
    page.keyboard.press("Tab")
    page.keyboard.type(resident_id(950, birth="19850607"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/desk/patients/\d+\?call=CA-unknown-b"))
    assert page.locator("h1").inner_text().startswith("患者: 赵小红")
    assert "1985" in page.locator("dl.record").inner_text()

    page.keyboard.press("b")  # the booking filter: department 102
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/slots\?department=102"))
    page.keyboard.press("Enter")  # the first free place
    page.wait_for_url(re.compile(r"/desk/bookings/\d+\?done=booked"))
    page.wait_for_load_state("load")
    assert page.locator("p.done").inner_text().startswith("预约成功，预约号 ")
    assert len(loads) <= MAX_PAGE_LOADS, loads
    print(f"\npage loads from the unknown caller's call page to the booking: {len(loads)}")
