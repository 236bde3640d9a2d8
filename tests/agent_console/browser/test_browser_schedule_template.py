"""The schedule template (排班导入, #13) in headless Chromium against the real engine, as a
hospital admin: the template downloaded from the schedules page, filled in with openpyxl as
a hospital would in Excel, uploaded with the file picker, previewed (nothing imported yet),
then imported with the confirm button; a template with 3 bad rows imports nothing and the
page lists the 3 rows with their sheet and row number.

Chromium comes from the Debian package (never downloaded). Without it these tests are
skipped on a workstation and FAIL in CI (``CI=true``)."""

from __future__ import annotations

from datetime import date, timedelta

from openpyxl import load_workbook

from tests.agent_console.browser.live_desk import log_in, office_admin, office_hospital
from tests.agent_console.helpers import table

MONDAY = date(2026, 7, 13)


def _download(page, tmp_path):
    page.goto(page.url.split("/console/")[0] + "/console/office/schedules")
    with page.expect_navigation():
        page.get_by_role("link", name="排班导入（Excel 模板）").click()
    with page.expect_download() as caught:
        page.get_by_role("link", name="下载模板").click()
    download = caught.value
    assert download.suggested_filename == "schedule-template.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    return saved


def _fill(path, *, bad: bool) -> None:
    book = load_workbook(path)
    book["科室"].append(["105", "眼科", "", "是"])
    book["医生"].append(["30001", "钱医生", "105", "主治医师", "", 30, "是"])
    sessions = book["排班"]
    for d in range(5):
        day = (MONDAY + timedelta(days=d)).isoformat()
        sessions.append(["30001", day, "下午", "13:30", "17:30", 30, 1, "501", None])
    if bad:  # rows 3, 5 and 7 of 排班
        sessions["E3"] = "12:00"  # ends before it starts
        sessions["C5"] = "中午"  # no such period
        sessions["F7"] = 0  # no slot of 0 minutes
    book.save(path)


def _sessions(engine, hospital: str) -> int:
    [row] = engine.call(
        table(engine.services, "SELECT count(*) AS n FROM sessions s JOIN doctors d "
              "ON d.id = s.doctor_id JOIN hospitals h ON h.id = s.hospital_id "
              "WHERE d.work_no = '30001' AND h.code = ?", hospital)
    )  # fmt: skip
    return row["n"]


def test_browser_template_downloaded_filled_previewed_and_imported(page, engine, tmp_path):
    office_hospital(engine, "HT")
    log_in(page, engine.url, "hadmin_tpl", code=office_admin(engine, "hadmin_tpl", "HT"))
    path = _download(page, tmp_path)
    _fill(path, bad=False)
    page.locator("input[type=file]").set_input_files(path)
    with page.expect_navigation():
        page.get_by_role("button", name="上传并预览").click()
    assert "尚未导入" in page.locator("p[role=status]").inner_text()
    assert "钱医生" in page.content()
    assert _sessions(engine, "HT") == 0  # the preview imports nothing
    with page.expect_navigation():
        page.get_by_role("button", name="确认导入").click()
    assert "已导入。" in page.locator("p[role=status]").all_inner_texts()
    assert _sessions(engine, "HT") == 5


def test_browser_a_template_with_three_bad_rows_lists_them(page, engine, tmp_path):
    office_hospital(engine, "HU")
    log_in(page, engine.url, "hadmin_bad", code=office_admin(engine, "hadmin_bad", "HU"))
    path = _download(page, tmp_path)
    _fill(path, bad=True)
    page.locator("input[type=file]").set_input_files(path)
    with page.expect_navigation():
        page.get_by_role("button", name="上传并预览").click()
    assert "有 3 行有误" in page.locator("p.error").inner_text()
    rows = page.locator("table tbody tr")
    assert rows.count() == 3
    cells = [rows.nth(i).locator("td").all_inner_texts()[:2] for i in range(3)]
    assert cells == [["排班", "3"], ["排班", "5"], ["排班", "7"]]
    assert page.get_by_role("button", name="确认导入").count() == 0
    assert _sessions(engine, "HU") == 0
