"""The booking query (预约查询): filters, pages, the print view, and an Excel export of
exactly the filtered rows, read back with openpyxl."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.agent_console.office.office_world import hospital, sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def test_filters_each_narrow_the_rows(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")

    async def numbers(query: str) -> list[str]:
        status, body = await agent.get("/office/bookings?" + query)
        assert status == 200, body
        return [b["booking_no"] for b in body["bookings"]]

    assert await numbers("") == ha.bookings  # only HA's four, never HB's
    assert await numbers("channel=ivr") == [ha.bookings[1]]
    assert await numbers("department=102") == [ha.bookings[3]]
    assert await numbers("doctor=00868") == ha.bookings[:3]
    assert await numbers(f"booking_no={ha.bookings[2]}") == [ha.bookings[2]]
    assert await numbers("patient=李") == [ha.bookings[1]]
    assert await numbers(f"patient={ha.patients[0].card_no}") == [ha.bookings[0]]
    assert await numbers("day_from=2026-07-12&day_to=2026-07-12") == [ha.bookings[3]]
    assert await numbers("status=cancelled") == []
    status, body = await agent.get("/office/bookings?status=nonsense")
    assert (status, body["error"]) == (400, "invalid_input")
    status, body = await agent.get("/office/bookings?day_from=yesterday")
    assert (status, body["error"]) == (400, "invalid_input")


async def test_rows_come_in_pages(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    _status, first = await agent.get("/office/bookings?per_page=3")
    assert (first["total"], first["pages"], first["page"]) == (4, 2, 1)
    assert [b["booking_no"] for b in first["bookings"]] == ha.bookings[:3]
    _status, second = await agent.get("/office/bookings?per_page=3&page=2")
    assert [b["booking_no"] for b in second["bookings"]] == ha.bookings[3:]
    async with agent.client.get("/console/office/bookings?per_page=3&channel=agent") as resp:
        page = await resp.text()
    assert resp.status == 200
    assert "export.xlsx?channel=agent" in page
    assert "张**" in page
    assert "张三丰" not in page


async def test_print_view_has_every_filtered_row(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    async with agent.client.get("/console/office/bookings/print?doctor=00868") as resp:
        page = await resp.text()
    assert resp.status == 200
    assert all(no in page for no in ha.bookings[:3])
    assert ha.bookings[3] not in page
    assert "office_print.css" in page


async def test_export_to_excel_and_read_the_file_back(browser, services, world):
    ha, hb = world["HA"], world["HB"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    query = "doctor=00868&per_page=1"  # paging does not cut the export
    async with agent.client.get("/console/office/bookings/export.xlsx?" + query) as resp:
        assert resp.status == 200
        assert resp.content_type == XLSX
        assert "attachment" in resp.headers["Content-Disposition"]
        assert resp.headers["Cache-Control"] == "no-store"
        data = await resp.read()
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("预约号", "日期", "时间")
    assert [r[0] for r in rows[1:]] == ha.bookings[:3]
    assert [r[5] for r in rows[1:]] == ["张**", "李*", "王*"]  # masked in the file too
    assert {r[1] for r in rows[1:]} == {"2026-07-11"}
    assert rows[1][9] == 50.0  # the fee in yuan
    assert not set(hb.bookings) & {r[0] for r in rows}
    _status, twin = await agent.get("/office/bookings/export.xlsx?" + query)
    assert [b["booking_no"] for b in twin["bookings"]] == ha.bookings[:3]
    async with agent.client.get("/console/office/bookings/export.xlsx?lang=en") as resp:
        sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert sheet.cell(1, 1).value == "Booking number"
    assert sheet.max_row == 5


async def test_another_hospitals_booking_is_not_found(browser, services, world):
    _ha, hb = world["HA"], world["HB"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.get(f"/office/bookings?booking_no={hb.bookings[0]}")
    assert (status, body["total"], body["bookings"]) == (200, 0, [])
    for path in ("/office/bookings", "/office/bookings/print", "/office/bookings/export.xlsx"):
        status, body = await agent.get(path + "?hospital=HB")
        assert (status, body["error"]) == (404, "not_found"), path
    assert (await agent.get("/office/bookings?hospital=HA"))[1]["total"] == 4
    export = f"/console/office/bookings/export.xlsx?booking_no={hb.bookings[0]}"
    async with agent.client.get(export) as resp:
        sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert sheet.max_row == 1
    root = await sign_in(browser, services, "root", ("platform_admin",), None)
    status, body = await root.get("/office/bookings?hospital=HB")
    assert [b["booking_no"] for b in body["bookings"]] == hb.bookings
    status, body = await root.get("/office/bookings")
    assert body["total"] == 8
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    assert (await viewer.get("/office/bookings"))[0] == 403
