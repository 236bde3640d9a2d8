"""The back office in headless Chromium against the real engine, as a hospital admin
(password, then the one-time code): a doctor stop (停诊) with three affected bookings puts
three notices in the outbox; a booking query exported to Excel is read back with openpyxl
and holds exactly the filtered rows.

Each test has a hospital of its own (tests/agent_console/office/office_world), added to the
desk's live engine. Chromium comes from the Debian package (never downloaded). Without it
these tests are skipped on a workstation and FAIL in CI (``CI=true``).
"""

from __future__ import annotations

import re

from openpyxl import load_workbook

from booking_core.events import outbox
from tests.agent_console.browser.live_desk import (
    LiveEngine,
    log_in,
    office_admin,
    office_hospital,
)
from tests.agent_console.helpers import table

NOTICES = ("booking.cancelled", "booking.moved")
MASKED = ["张**", "李*", "王*"]  # office_world's first three patients, masked


def _notices(engine: LiveEngine, keys: list[str]) -> list:
    found = engine.call(engine.services.read(outbox.events))
    return [e for e in found if e.topic in NOTICES and e.key in keys]


def test_browser_doctor_stop_with_three_bookings_puts_three_notices_in_the_outbox(page, engine):
    hc = office_hospital(engine, "HC")
    log_in(page, engine.url, "hadmin_stop", code=office_admin(engine, "hadmin_stop", "HC"))
    page.goto(f"{engine.url}/console/office")
    with page.expect_navigation():
        page.get_by_role("link", name="排班（周视图）").click()
    assert page.url.endswith("/console/office/sessions")
    cell = page.locator("table.grid div.cell.open", has_text="3/16")
    assert cell.count() == 1  # the one session with three bookings
    with page.expect_navigation():
        cell.get_by_role("link", name="停诊").click()
    assert page.url.endswith(f"/office/sessions/{hc.stopped_session}/stop")
    assert page.locator("h2").inner_text() == "受影响的预约：3 个"
    rows = page.locator("table tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").nth(5).inner_text() for i in range(3)] == MASKED
    assert "张三丰" not in page.content()
    assert _notices(engine, hc.bookings) == []

    page.get_by_label("全部取消（退号）").check()
    page.locator("input[name=reason]").fill("医生出差")
    page.get_by_role("button", name="确认停诊（3 个预约）").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/office/sessions/{hc.stopped_session}/stop")
    assert page.locator("p.notice").inner_text() == "该出诊已停诊。"  # after the redirect

    notices = _notices(engine, hc.bookings)
    assert len(notices) == 3
    assert {e.topic for e in notices} == {"booking.cancelled"}
    assert sorted(e.key for e in notices) == sorted(hc.bookings[:3])
    stopped = engine.call(
        table(engine.services, "SELECT status FROM sessions WHERE id = ?", hc.stopped_session)
    )
    assert stopped == [{"status": "stopped"}]
    untouched = engine.call(
        table(engine.services, "SELECT status FROM sessions WHERE id = ?", hc.substitute)
    )
    assert untouched == [{"status": "open"}]


def test_browser_export_a_query_to_excel_and_read_the_file_back(page, engine, tmp_path):
    hd = office_hospital(engine, "HD")
    log_in(page, engine.url, "hadmin_query", code=office_admin(engine, "hadmin_query", "HD"))
    page.goto(f"{engine.url}/console/office/bookings")
    assert page.locator("table tbody tr").count() == 4  # HD's four, no other hospital's
    page.locator("input[name=doctor]").fill("00868")
    page.locator("select[name=status]").select_option("confirmed")
    with page.expect_navigation():
        page.locator("input[name=doctor]").press("Enter")
    assert re.search(r"doctor=00868.*status=confirmed", page.url)
    shown = page.locator("table tbody tr td:first-child").all_inner_texts()
    assert shown == hd.bookings[:3]

    with page.expect_download() as caught:
        page.get_by_role("link", name="导出 Excel").click()
    download = caught.value
    assert download.suggested_filename == "bookings.xlsx"
    saved = tmp_path / download.suggested_filename  # openpyxl goes by the file's suffix
    download.save_as(saved)
    sheet = load_workbook(saved).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("预约号", "日期", "时间")
    stored = engine.call(
        table(
            engine.services,
            "SELECT b.booking_no FROM bookings b JOIN hospitals h ON h.id = b.hospital_id"
            " JOIN doctors d ON d.id = b.doctor_id"
            " WHERE h.code = ? AND d.work_no = ? AND b.status = ? ORDER BY b.booking_no",
            "HD",
            "00868",
            "confirmed",
        )
    )
    assert sorted(r[0] for r in rows[1:]) == [s["booking_no"] for s in stored]
    assert [r[0] for r in rows[1:]] == shown  # exactly the filtered rows, in their order
    assert [r[5] for r in rows[1:]] == MASKED  # masked in the file too
    assert "张三丰" not in {r[5] for r in rows[1:]}
