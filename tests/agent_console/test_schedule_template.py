"""The schedule template (排班导入, #13): downloaded from the console, filled in (here with
openpyxl, as a hospital would in Excel), uploaded, previewed without importing, then
imported on confirm exactly as previewed; a template with 3 bad rows imports nothing and
lists the 3 rows by sheet and the row number Excel shows; a file that is not a template,
or too big, is told so on the page."""

from __future__ import annotations

import datetime as dt
import io
import string
import time
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from openpyxl import load_workbook

from agent_console import i18n_schedule_import
from agent_console.views.office import schedule_book, schedule_cells
from agent_console.web import make_app
from booking_core.kernel.errors import InvalidInput
from booking_core.schedule import CreateSession, Period
from booking_core.schedule.making import plan_session
from booking_core.schedule.model import ROW_REASONS
from tests.agent_console.helpers import Console, console_settings, table
from tests.agent_console.office.office_world import SECRET, hospital, sign_in
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)

JSON = {"Accept": "application/json"}
MONDAY = date(2026, 7, 13)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def admin(browser, services):
    await hospital(services, "HA")  # departments 101, 102; doctors 00868, 00869, 00870
    await hospital(services, "HB")
    return await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")


async def _template(console) -> bytes:
    async with console.client.get("/console/office/schedules/template.xlsx") as resp:
        assert resp.status == 200, await resp.text()
        assert resp.content_type == XLSX
        assert "attachment" in resp.headers["Content-Disposition"]
        return await resp.read()


def _filled(template: bytes, *, bad: bool = False) -> bytes:
    """The template with department 103, two doctors in it, and their week (Mon-Fri
    mornings); ``bad``: three rows wrong (a time, a department, a repeated session)."""
    book = load_workbook(io.BytesIO(template))
    book["科室"].append(["103", "儿科", "小儿科", "是"])  # row 3
    doctors = book["医生"]
    doctors.append(["20001", "孙医生", "103", "副主任医师", "哮喘", 25.5, "是"])  # row 3
    doctors.append(["20002", "周医生", "999" if bad else "103", "主治医师", "", 20, ""])  # row 4
    sessions = book["排班"]
    for work_no in ("20001", "20002", "00868"):
        for d in range(5):
            day = (MONDAY + timedelta(days=d)).isoformat()
            sessions.append([work_no, day, "上午", "08:00", "12:00", 30, 2, "305", None])
    # rows 3-17; the doctors' rows are 3-7 (20001), 8-12 (20002), 13-17 (00868)
    if bad:
        sessions["D5"] = "8点"  # row 5: not a time
        sessions.append(["20001", MONDAY.isoformat(), "上午", "09:00", "11:00", 30, 2, "", None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _upload(console, data: bytes, filename: str = "排班.xlsx", headers=JSON, **fields):
    form = aiohttp.FormData()
    form.add_field("csrf_token", console.csrf_token)
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", io.BytesIO(data), filename=filename, content_type=XLSX)
    async with console.client.post(
        "/console/office/schedules/import", data=form, headers=headers
    ) as resp:
        body = await resp.json() if headers is JSON else await resp.text()
        return resp.status, body


async def _sessions(services) -> int:
    [row] = await table(services, "SELECT count(*) AS n FROM sessions")
    return row["n"]


async def test_the_template_has_three_sheets_headers_an_example_and_validations(admin):
    book = load_workbook(io.BytesIO(await _template(admin)))
    assert book.sheetnames == ["科室", "医生", "排班"]
    headers = [c.value for c in book["排班"][1]]
    assert headers[:4] == ["工号 doctor", "日期 date", "时段 period", "开始 start"]
    assert [c.value for c in book["医生"][2]][:3] == ["00868", "王医生", "101"]
    rules = {v.formula1 for v in book["排班"].data_validations.dataValidation}
    assert '"上午,下午,夜间"' in rules
    status, twin = await admin.get("/office/schedules/template.xlsx.json")
    assert status == 200
    assert [s["sheet"] for s in twin["sheets"]] == ["科室", "医生", "排班"]


async def test_upload_preview_then_confirm_imports_exactly_what_was_previewed(admin, services):
    before = await _sessions(services)
    status, preview = await _upload(admin, _filled(await _template(admin)))
    assert status == 200, preview
    assert preview["step"] == "preview"
    assert preview["counts"]["departments"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert preview["counts"]["doctors"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert preview["counts"]["sessions"] == {"created": 15, "updated": 0, "unchanged": 0}
    assert preview["counts"]["slots"] == 15 * 8
    assert [r["line"] for r in preview["shown"]["doctors"]] == ["3", "4"]
    assert preview["shown"]["sessions"][0]["doctor"] == "20001"
    assert await _sessions(services) == before  # a preview imports nothing
    status, done = await admin.post("/office/schedules/import/confirm", {"token": preview["token"]})
    assert status == 200, done
    assert done["step"] == "imported"
    assert done["counts"] == preview["counts"]
    assert len(done["session_ids"]) == 15
    assert await _sessions(services) == before + 15
    [doctor] = await table(services, "SELECT fee FROM doctors WHERE work_no = '20001'")
    assert doctor["fee"] == 2550  # 25.5 yuan, kept in fen
    # a token is good once
    status, again = await admin.post(
        "/office/schedules/import/confirm", {"token": preview["token"]}
    )
    assert (status, again["error"]) == (400, "template_preview_gone")
    assert await _sessions(services) == before + 15


async def test_a_template_with_three_bad_rows_imports_nothing_and_lists_them(admin, services):
    before = await _sessions(services)
    status, body = await _upload(admin, _filled(await _template(admin), bad=True))
    assert status == 422, body
    assert "token" not in body
    assert [(e["sheet"], e["line"], e["field"]) for e in body["errors"]] == [
        ("医生", 4, "department"),
        ("排班", 5, "start"),
        ("排班", 18, "period"),
    ]
    assert body["errors"][2]["reason"] == "repeats row 3"
    assert [e["message"] for e in body["errors"]] == [
        "医院和本文件中都没有科室代码 999",
        "应为时间，如 08:00",
        "与第 3 行重复",
    ]
    assert await _sessions(services) == before
    [n] = await table(services, "SELECT count(*) AS n FROM doctors WHERE work_no LIKE '2000%'")
    assert n["n"] == 0
    status, page = await _upload(admin, _filled(await _template(admin), bad=True), headers={})
    assert status == 422
    assert "排班" in page
    assert "<td>18</td>" in page
    assert "与第 3 行重复" in page


async def test_the_preview_and_its_refusals_are_pages_too(admin):
    status, page = await _upload(admin, _filled(await _template(admin)), headers={})
    assert status == 200, page
    assert "孙医生" in page
    assert 'name="token"' in page
    status, page = await _upload(admin, b"card_no,until\n1,2", "bans.csv", headers={})
    assert status == 400
    assert "不是可读取的 Excel" in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"card_no,until,reason\n123,2026-12-31,x\n", "template_not_xlsx"),
        (b"PK\x03\x04 truncated zip", "template_not_xlsx"),
        (b"", "template_not_xlsx"),
    ],
)
async def test_a_file_that_is_not_an_xlsx_is_told_so(admin, services, data, error):
    status, body = await _upload(admin, data, "bans.csv")
    assert (status, body["error"]) == (400, error), body
    assert body["message"] if "message" in body else body["error_message"]


async def test_a_corrupt_or_foreign_workbook_is_told_so(admin):
    good = _filled(await _template(admin))
    status, body = await _upload(admin, good[: len(good) // 2])
    assert (status, body["error"]) == (400, "template_not_xlsx")
    book = load_workbook(io.BytesIO(good))
    del book["医生"]
    out = io.BytesIO()
    book.save(out)
    status, body = await _upload(admin, out.getvalue())
    assert (status, body["error"]) == (400, "template_sheet_missing")
    assert "医生" in body["error_message"]


async def test_a_file_too_big_is_told_so(admin, services):
    status, body = await _upload(admin, b"x" * (schedule_book.MAX_FILE_BYTES + 10))
    assert (status, body["error"]) == (400, "template_too_big")
    status, body = await _upload(admin, b"x" * (2 * 1024 * 1024))  # past the console's limit
    assert (status, body["error"]) == (413, "body_too_large")
    assert "1048 KB" in body["message"]  # the test's root app takes aiohttp's 1 MiB
    status, form = await admin.get("/office/schedules/import")
    assert form["max_kb"] == 1000


async def test_only_schedule_managers_and_only_their_own_hospital(admin, browser, services):
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, _ = await _upload(agent, _filled(await _template(admin)))
    assert status == 403
    async with agent.client.get("/console/office/schedules/template.xlsx") as resp:
        assert resp.status == 403
    status, body = await _upload(admin, _filled(await _template(admin)), hospital="HB")
    assert status == 404, body
    # another session (another hospital's admin) cannot confirm this admin's preview
    status, preview = await _upload(admin, _filled(await _template(admin)))
    other = await sign_in(browser, services, "hbadmin", ("hospital_admin",), "HB")
    status, body = await other.post("/office/schedules/import/confirm", {"token": preview["token"]})
    assert (status, body["error"]) == (400, "template_preview_gone")
    status, _ = await admin.post("/office/schedules/import/confirm", {"token": preview["token"]})
    assert status == 200


async def test_a_preview_expires(admin, services, clock):
    before = await _sessions(services)
    status, preview = await _upload(admin, _filled(await _template(admin)))
    assert status == 200
    for _ in range(2):  # the console session stays alive (30 idle minutes), the preview not
        clock.advance(timedelta(minutes=16))
        assert (await admin.get("/office/schedules/import"))[0] == 200
    status, body = await admin.post("/office/schedules/import/confirm", {"token": preview["token"]})
    assert (status, body["error"]) == (400, "template_preview_gone")
    assert await _sessions(services) == before


async def test_a_platform_admin_names_the_hospital(admin, browser, services):
    platform = await sign_in(browser, services, "padmin", ("platform_admin",), None)
    filled = _filled(await _template(platform))
    status, body = await _upload(platform, filled)
    assert (status, body["error"]) == (400, "invalid_input")
    status, preview = await _upload(platform, filled, hospital="HB")
    assert status == 200, preview
    status, done = await platform.post(
        "/office/schedules/import/confirm", {"token": preview["token"]}
    )
    assert status == 200, done
    [row] = await table(
        services,
        "SELECT count(*) AS n FROM sessions s JOIN hospitals h ON h.id = s.hospital_id "
        "WHERE h.code = 'HB' AND s.room = '305'",
    )
    assert row["n"] == 15


def test_a_sheet_that_claims_every_cell_of_excel_is_read_quickly():
    book = load_workbook(io.BytesIO(schedule_book.template()))
    book["排班"].append(["00868", "2026-07-13", "下午", "13:30", "17:30", 30, 2, "", None])
    book["排班"]["XFD1048576"] = "x"  # the sheet's last cell: a 16,384-column, 1M-row sheet
    out = io.BytesIO()
    book.save(out)
    started = time.monotonic()
    parsed = schedule_book.parse(out.getvalue())
    assert time.monotonic() - started < 5
    assert [s.index for s in parsed.sessions] == [3]
    assert parsed.problems == []


async def test_a_doctor_row_that_cannot_be_read_is_the_only_row_listed(admin, services):
    book = load_workbook(io.BytesIO(_filled(await _template(admin))))
    book["医生"]["F3"] = "二十五元"  # 20001's fee: its row is listed, its 5 sessions are not
    out = io.BytesIO()
    book.save(out)
    status, body = await _upload(admin, out.getvalue())
    assert status == 422, body
    assert [(e["sheet"], e["line"], e["field"]) for e in body["errors"]] == [("医生", 3, "fee")]
    assert body["errors"][0]["column"] == "挂号费（元） fee_yuan"


async def test_the_engines_smaller_body_limit_is_the_one_the_page_states(
    admin, services, clock, aiohttp_client
):
    root = web.Application(client_max_size=65536)  # the engine's default max_body_bytes
    root.add_subapp("/console/", make_app(services, console_settings()))
    console = Console(await aiohttp_client(root), services, clock)
    clock.advance(timedelta(seconds=30))  # a one-time code is good once: the next one
    await console.sign_in("hadmin", secret=SECRET)
    status, form = await console.get("/office/schedules/import")
    assert (status, form["max_kb"]) == (200, 65)
    status, body = await _upload(console, b"x" * 100_000)
    assert (status, body["error"]) == (413, "body_too_large")
    assert "65 KB" in body["message"]
    status, preview = await _upload(console, _filled(await _template(console)))
    assert status == 200, preview  # a week's template is far smaller


def test_every_reason_a_row_can_have_is_worded_in_both_languages():
    zh, en = (i18n_schedule_import.MESSAGES[lang] for lang in ("zh", "en"))
    for code, english in (ROW_REASONS | schedule_cells.CELL_REASONS).items():
        fields = {n for _, n, _, _ in string.Formatter().parse(english) if n}
        for words in (zh, en):
            assert f"row_{code}" in words, code
            assert {n for _, n, _, _ in string.Formatter().parse(words[f"row_{code}"]) if n} == (
                fields
            ), code


def test_every_check_of_a_session_is_worded_in_chinese():
    base = CreateSession(hospital_code="H", doctor_work_no="00868", day=MONDAY,
                         period=Period.MORNING, start=dt.time(8), end=dt.time(12),
                         slot_minutes=30, places_per_slot=2)  # fmt: skip
    wrong = [
        {"end": dt.time(7)}, {"slot_minutes": 3}, {"slot_minutes": 240, "end": dt.time(9)},
        {"slot_minutes": 5, "end": dt.time(23)}, {"places_per_slot": 0}, {"fee": -1},
    ]  # fmt: skip
    reasons = set()
    for change in wrong:
        with pytest.raises(InvalidInput) as caught:
            plan_session(replace(base, **change), ZoneInfo("Asia/Shanghai"), 5000)
        reasons.add(caught.value.reason)
    assert reasons == set(i18n_schedule_import.SESSION_REASONS_ZH)


async def test_a_file_sent_with_the_confirm_is_not_what_is_imported(admin, services):
    template = await _template(admin)
    status, preview = await _upload(admin, _filled(template))
    assert status == 200, preview
    other = load_workbook(io.BytesIO(_filled(template)))
    other["排班"].append(["00869", "2026-07-18", "上午", "08:00", "12:00", 30, 2, "999", None])
    changed = io.BytesIO()
    other.save(changed)
    form = aiohttp.FormData()
    form.add_field("csrf_token", admin.csrf_token)
    form.add_field("token", preview["token"])
    form.add_field("file", io.BytesIO(changed.getvalue()), filename="排班.xlsx", content_type=XLSX)
    async with admin.client.post(
        "/console/office/schedules/import/confirm", data=form, headers=JSON
    ) as resp:
        assert resp.status == 200, await resp.text()
        done = await resp.json()
    assert done["counts"] == preview["counts"]  # the 15 sessions previewed, not a 16th
    [row] = await table(services, "SELECT count(*) AS n FROM sessions WHERE room = '999'")
    assert row["n"] == 0
