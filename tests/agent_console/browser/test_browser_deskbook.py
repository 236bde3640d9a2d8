"""The desk's booking aids in headless Chromium (#14): the doctor's week, its cells reached
by keyboard and narrowing the times; quick cancel from the record with a reason; the
booking slip printing itself (``window.print`` replaced by a recorder in the page)."""

from __future__ import annotations

import re

from booking_core.kernel.actor import Channel
from tests.agent_console.browser.live_desk import log_in
from tests.agent_console.helpers import table
from tests.support.world import World

PRINT_RECORDER = "window.__printed = 0; window.print = function () { window.__printed += 1; };"


def test_browser_week_grid_cell_by_keyboard_shows_its_times(page, engine):
    log_in(page, engine.url, "agent_a")
    li = engine.world["li"]
    page.goto(f"{engine.url}/console/desk/patients/{li}/slots?department=102&doctor=00901")
    grid = page.locator("table.week-grid")
    assert grid.locator("thead th").count() == 8  # the half day, then 7 days
    assert grid.locator("tbody th").all_inner_texts() == ["上午", "下午", "晚上"]
    cell = grid.locator('tr[data-period="afternoon"] td[data-day="2026-07-12"] a')
    assert cell.inner_text() == "12"
    assert cell.get_attribute("aria-label") == "2026-07-12 下午：剩余 12 个号"
    assert page.evaluate("document.querySelector('table.week-grid a').tabIndex") == 0
    cell.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"day=2026-07-12&period=afternoon"))
    assert page.locator("table.slots tbody tr").count() == 4
    assert page.locator(".cell-note").inner_text().startswith("仅显示 2026-07-12 下午 的时段。")
    assert page.locator('td.picked a[aria-current="true"]').inner_text() == "12"
    assert grid.locator("td.cell-none").first.inner_text() == "—"


def test_browser_quick_cancel_from_the_record_with_a_reason(page, engine):
    li = engine.world["li"]
    services = engine.services

    async def book() -> str:
        [row] = await table(
            services,
            "SELECT sl.id FROM slots sl JOIN sessions se ON se.id = sl.session_id "
            "WHERE se.day = '2026-07-12' AND sl.start_time = '15:30'",
        )
        view = await World(services, "HA").book(row["id"], li, Channel.AGENT)
        return view.booking.booking_no

    number = engine.call(book())
    log_in(page, engine.url, "agent_a")
    page.goto(f"{engine.url}/console/desk/patients/{li}")
    row = page.locator(f'tr[data-booking="{number}"]')
    row.locator("summary").click()
    button = row.locator("button.danger")
    button.click()  # no reason chosen: the browser asks for one, nothing is posted
    assert page.url.endswith(f"/desk/patients/{li}")
    row.locator("select[name=why]").select_option("feeling_better")
    row.locator("input[name=note]").fill("好多了")
    button.click()
    page.wait_for_url(re.compile(rf"/desk/patients/{li}\?done=cancelled&no={number}"))
    assert page.locator("p.done").inner_text() == f"已取消预约 {number}。"
    assert page.locator(f'tr[data-booking="{number}"] summary').count() == 0
    assert "已取消" in page.locator(f'tr[data-booking="{number}"]').inner_text()


def test_browser_the_slip_opens_and_prints(page, engine):
    page.context.add_init_script(PRINT_RECORDER)
    log_in(page, engine.url, "agent_a")
    number = engine.world["HA"]["booking"]
    page.goto(f"{engine.url}/console/desk/bookings/{number}")
    with page.context.expect_page() as opened:
        page.locator("a.print-slip").click()
    slip = opened.value
    slip.wait_for_load_state("load")
    slip.wait_for_function("window.__printed === 1")  # opened to print: it printed at once
    assert slip.locator(".booking-no").inner_text() == number
    assert slip.locator(".patient").inner_text() == "张**"
    slip.locator("button[data-print]").click()
    slip.wait_for_function("window.__printed === 2")
    assert slip.evaluate("getComputedStyle(document.querySelector('.no-print')).display") != "none"
    slip.emulate_media(media="print")
    assert slip.evaluate("getComputedStyle(document.querySelector('.no-print')).display") == "none"
