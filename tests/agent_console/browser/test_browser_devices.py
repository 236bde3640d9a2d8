"""The devices screen (设备) in headless Chromium against the real engine, as a hospital
admin: register a kiosk with the keyboard, see its password once (and only its hash in the
store), then find the kiosk on the screen without it.

Chromium comes from the Debian package (never downloaded). Without it these tests are
skipped on a workstation and FAIL in CI (``CI=true``).
"""

from __future__ import annotations

import re

from edge.mosquitto import password_matches
from tests.agent_console.browser.live_desk import log_in, office_admin
from tests.agent_console.helpers import table
from tests.agent_console.office.devices_world import hall


def test_browser_register_a_kiosk_and_see_its_password_once(page, engine):
    hk = engine.call(hall(engine.services, "HK", engine.clock))
    log_in(page, engine.url, "hadmin_devices", code=office_admin(engine, "hadmin_devices", "HK"))
    page.goto(f"{engine.url}/console/office")
    with page.expect_navigation():
        page.get_by_role("link", name="设备管理").click()
    assert page.url.endswith("/console/office/devices")
    main = page.locator(f"section#{hk.main}")
    assert "缺纸" in main.locator("table.devices").inner_text()
    assert main.locator("p.money-waiting").count() == 1
    assert page.get_by_role("button", name="补打凭条").count() == 1  # the failed ticket's
    main.get_by_text("最近的任务").click()  # opens the latest jobs: the printed one's too
    assert page.get_by_role("button", name="补打凭条").count() == 3

    page.get_by_label("名称").fill("急诊3号机")
    page.get_by_label("位置").fill("急诊楼一层")
    with page.expect_navigation():
        page.get_by_label("位置").press("Enter")
    assert page.url.endswith("/console/office/devices")  # the answer to the POST itself
    password = page.locator("#kiosk-password").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", password)
    assert "只显示这一次" in page.locator("p.notice").inner_text()
    [stored] = engine.call(
        table(
            engine.services,
            "SELECT id, password_hash FROM kiosks WHERE name = ?",
            "急诊3号机",
        )
    )
    assert password_matches(password, stored["password_hash"])
    assert stored["id"] in page.locator("h1").inner_text()

    with page.expect_navigation():
        page.get_by_role("link", name="返回设备管理").click()
    added = page.locator(f"section#{stored['id']}")
    assert "从未上线" in added.inner_text()
    assert password not in page.content()  # never shown again
