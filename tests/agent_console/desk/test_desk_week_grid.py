"""A doctor's week at a glance when booking (#14): 7 days from the hospital's today ×
上午/下午/晚上, each cell the places that can be booked now (满 when every place is taken, —
when there is no session); a cell with places links to its times; the list of times is
never cut silently (how many more, and the next page). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from booking_core import bookings
from booking_core.schedule import Period
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)
from tests.support.world import World, first_slot, local, slot_ids

DR = "00901"  # 赵医生 of department 102 (desk_world): 2026-07-12 afternoon, 4 slots × 3 places


@pytest.fixture
async def week(services, desk_world):
    """赵医生's week from Friday 10 July (the clock: 09:00 in Beijing): a morning already
    begun, a full evening, an open evening, a stopped morning, and the desk world's
    afternoon of 12 places."""
    ha = World(services, "HA")
    await ha.session(date(2026, 7, 10), DR, Period.MORNING, time(8), time(12), places=2)
    full = await ha.session(
        date(2026, 7, 11), DR, Period.EVENING, time(18), time(20), slot_minutes=120, places=1
    )
    await ha.book(await first_slot(services, full.id), desk_world["li"])
    await ha.session(
        date(2026, 7, 13), DR, Period.EVENING, time(18), time(21), slot_minutes=60, places=2
    )
    stopped = await ha.session(date(2026, 7, 14), DR, Period.MORNING, time(8), time(10))
    await services.handle(bookings.StopSession(session_id=stopped.id, mode="cancel"))
    return desk_world


def _cells(body: dict) -> dict[tuple[str, str], dict]:
    return {(c["day"], c["period"]): c for r in body["week"]["rows"] for c in r["cells"]}


async def test_each_cell_says_the_places_left_full_none_or_not_bookable(agent, week):
    status, body = await agent.get(f"/desk/patients/{week['li']}/slots", params={"doctor": DR})
    assert status == 200, body
    grid = body["week"]
    assert grid["today"] == "2026-07-10"
    assert [d["day"] for d in grid["days"]] == [f"2026-07-{d}" for d in range(10, 17)]
    assert [r["period"] for r in grid["rows"]] == ["morning", "afternoon", "evening"]
    cells = _cells(body)
    assert len(cells) == 21
    shown = {k: (c["state"], c["left"], c["text"]) for k, c in cells.items()}
    assert shown[("2026-07-10", "morning")] == ("closed", 0, "未开放")  # begun at 08:00
    assert shown[("2026-07-11", "evening")] == ("full", 0, "满")
    assert shown[("2026-07-12", "afternoon")] == ("open", 12, "12")
    assert shown[("2026-07-13", "evening")] == ("open", 6, "6")  # 18:00–21:00, 3 × 2
    assert shown[("2026-07-14", "morning")] == ("stopped", 0, "停诊")
    busy = {
        ("2026-07-10", "morning"),
        ("2026-07-11", "evening"),
        ("2026-07-12", "afternoon"),
        ("2026-07-13", "evening"),
        ("2026-07-14", "morning"),
    }
    assert {k for k, c in cells.items() if c["state"] == "none"} == set(cells) - busy
    assert all(c["text"] == "—" for c in cells.values() if c["state"] == "none")
    assert [k for k, c in cells.items() if c["href"]] == [
        ("2026-07-12", "afternoon"),
        ("2026-07-13", "evening"),
    ]  # only a cell with places to book links to its times


async def test_a_cell_filters_the_list_to_its_times_and_they_add_up(agent, week):
    li = week["li"]
    status, body = await agent.get(f"/desk/patients/{li}/slots", params={"doctor": DR})
    for key in (("2026-07-12", "afternoon"), ("2026-07-13", "evening")):
        cell = _cells(body)[key]
        query = {k: v[0] for k, v in parse_qs(urlsplit(cell["href"]).query).items()}
        assert query == {"doctor": DR, "day": key[0], "period": key[1]}
        status, picked = await agent.get(f"/desk/patients/{li}/slots", params=query)
        assert status == 200, picked
        times = picked["slots"]
        assert {(s["day"].split("T")[0], s["period"]) for s in times} == {key}
        assert sum(s["free"] for s in times) == cell["left"]
        assert _cells(picked)[key]["picked"] is True
    cell = {"doctor": DR, "day": "2026-07-13", "period": "evening"}
    evening = await agent.get(f"/desk/patients/{li}/slots", params=cell)
    assert [s["start"] for s in evening[1]["slots"]] == ["18:00", "19:00", "20:00"]
    status, body = await agent.get(
        f"/desk/patients/{li}/slots", params={"doctor": DR, "period": "night"}
    )
    assert (status, body["error"]) == (400, "invalid_input")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self._in: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "td" and "data-state" in found:
            self._in = {"state": found["data-state"] or "", "day": found.get("data-day") or ""}
            self.cells.append(self._in)
        elif tag == "a" and self._in is not None:
            self._in["href"] = found.get("href") or ""
            self._in["label"] = found.get("aria-label") or ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._in = None

    def handle_data(self, data):
        if self._in is not None and data.strip():
            self._in["text"] = data.strip()


async def test_the_grid_is_links_a_keyboard_reaches_with_words_for_a_reader(agent, week):
    async with agent.client.get(
        f"/console/desk/patients/{week['li']}/slots", params={"doctor": DR}
    ) as resp:
        html = await resp.text()
    parser = _Links()
    parser.feed(html)
    linked = [c for c in parser.cells if "href" in c]
    assert [(c["day"], c["text"]) for c in linked] == [("2026-07-12", "12"), ("2026-07-13", "6")]
    assert all(c["href"].startswith("/console/desk/patients/") for c in linked)  # plain <a href>
    assert linked[0]["label"] == "2026-07-12 下午：剩余 12 个号"
    assert {c["text"] for c in parser.cells if c["state"] == "full"} == {"满"}
    assert {c["text"] for c in parser.cells if c["state"] == "none"} == {"—"}


async def test_today_is_the_hospitals_date_after_midnight_in_beijing(browser, week, clock):
    clock.set(local(2026, 7, 11, 0, 30))  # 16:30 UTC on 10 July
    agent = await browser()
    await agent.sign_in("agent_a")
    status, body = await agent.get(f"/desk/patients/{week['li']}/slots", params={"doctor": DR})
    assert status == 200, body
    assert body["week"]["today"] == "2026-07-11"
    assert body["week"]["days"][0] == {
        "day": "2026-07-11",
        "label": "7/11",
        "weekday": "周六",
        "today": True,
    }
    assert _cells(body)[("2026-07-11", "evening")]["text"] == "满"


async def test_no_grid_until_a_doctor_or_department_is_chosen(agent, week):
    status, body = await agent.get(f"/desk/patients/{week['li']}/slots")
    assert status == 200
    assert body["week"] is None
    async with agent.client.get(f"/console/desk/patients/{week['li']}/slots") as resp:
        assert "请先选择科室或医生，查看一周号源。" in await resp.text()


async def test_the_list_is_never_cut_silently(agent, services, week):
    """120 free times of one day: 60 on a page, the page says how many more and links to
    them; the second page holds the rest, each time once."""
    ha = World(services, "HA")
    await ha.doctor("00902", "102", 3000, name="钱医生")
    morning = await ha.session(
        date(2026, 7, 15), "00902", Period.MORNING, time(8), time(12), slot_minutes=5, places=1
    )  # 48 times
    afternoon = await ha.session(
        date(2026, 7, 15), "00902", Period.AFTERNOON, time(13), time(19), slot_minutes=5, places=1
    )  # 72 times
    li = week["li"]
    status, first = await agent.get(f"/desk/patients/{li}/slots", params={"doctor": "00902"})
    assert status == 200, first
    assert len(first["slots"]) == 60
    paging = first["paging"]
    assert (paging["total"], paging["first"], paging["last"], paging["more"]) == (120, 1, 60, 60)
    assert paging["next"].startswith("?")
    query = {k: v[0] for k, v in parse_qs(paging["next"][1:]).items()}
    status, second = await agent.get(f"/desk/patients/{li}/slots", params=query)
    assert status == 200, second
    assert len(second["slots"]) == 60
    paging = second["paging"]
    assert (paging["total"], paging["first"], paging["last"], paging["more"]) == (120, 61, 120, 0)
    assert paging["next"] == ""
    seen = [s["slot_id"] for s in first["slots"] + second["slots"]]
    every = await slot_ids(services, morning.id) + await slot_ids(services, afternoon.id)
    assert sorted(seen) == sorted(every)
    async with agent.client.get(
        f"/console/desk/patients/{li}/slots", params={"doctor": "00902"}
    ) as resp:
        html = await resp.text()
    assert "显示第 1–60 个时段，共 120 个。" in html
    assert "后面还有 60 个时段。" in html
    assert 'rel="next"' in html
    status, body = await agent.get(
        f"/desk/patients/{li}/slots", params={"doctor": "00902", "after": "nonsense"}
    )
    assert (status, body["error"]) == (400, "invalid_input")


async def test_the_reschedule_screen_has_the_doctors_week(agent, services, week):
    li = week["li"]
    [slot] = (
        await agent.get(f"/desk/patients/{li}/slots", params={"day": "2026-07-12", "time": "14:00"})
    )[1]["slots"]
    status, body = await agent.post(f"/desk/patients/{li}/book", {"slot_id": slot["slot_id"]})
    assert status == 201, body
    number = body["booking"]["booking_no"]
    status, body = await agent.get(f"/desk/bookings/{number}/slots")
    assert status == 200, body
    cells = _cells(body)
    assert cells[("2026-07-12", "afternoon")]["left"] == 11  # the booking took one place
    assert cells[("2026-07-12", "afternoon")]["href"].startswith(
        f"/console/desk/bookings/{number}/slots?"
    )
    assert body["paging"]["total"] == 3 + 3  # 12 July's other times and 13 July's evening
    assert len(body["slots"]) == 6
