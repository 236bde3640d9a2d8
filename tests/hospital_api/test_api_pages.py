"""Every list of /api/v1 is a page: walking the cursors returns every row exactly once
(also when rows are added between two pages), a page that is not the last says so in its
body and its Link header, and a cursor the API did not give — forged, changed, for another
list or other filters — is a 400, never a silent restart."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from booking_core import blacklist
from booking_core.kernel.actor import SYSTEM
from hospital_api import schemas_his as fs
from tests.hospital_api.helpers import TOMORROW
from tests.support.world import World, phone

LINK = re.compile(r'<([^>]+)>; rel="next"')


async def get(api, url: str, auth: dict) -> tuple[int, Any, str | None]:
    async with api.client.get(url, headers=auth) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers.get("Link")


async def walk(api, path: str, auth: dict, model=None, *, between=None) -> list[list[dict]]:
    """The pages of a GET list, following each Link header (checked against next_cursor)."""
    pages: list[list[dict]] = []
    url: str | None = "/api/v1" + path
    while url is not None:
        status, body, link = await get(api, url, auth)
        assert status == 200, body
        if model is not None:
            model.model_validate(body)
        pages.append(body["items"])
        if body["next_cursor"] is None:
            assert link is None
            url = None
        else:
            assert link is not None
            url = LINK.fullmatch(link).group(1)
            assert f"cursor={body['next_cursor']}" in url.replace("%3D", "=")
            if between is not None:
                await between()
        assert len(pages) < 100, "the cursors never end"
    return pages


def flat(pages: list[list[dict]], key: str) -> list:
    return [item[key] for page in pages for item in page]


async def busy_hospital(api) -> World:
    """H001 with 3 departments, 5 doctors and 5 sessions of 8 slots of 3 places tomorrow."""
    world = World(api.services)
    await world.hospital()
    for dept in ("101", "102", "103"):
        await world.department(dept, f"科{dept}")
    for i in range(5):
        work_no = f"0086{i}"
        await world.doctor(work_no, ("101", "102", "103")[i % 3], active=i != 4)
        await world.session(TOMORROW, work_no, places=3)
    return world


async def test_walking_bookings_slots_and_sessions_gives_every_row_once(api):
    world = await busy_hospital(api)
    his = await api.token("his", "H001")
    status, body, _ = await get(api, f"/api/v1/slots?date={TOMORROW}&all=true&limit=200", his)
    assert status == 200
    slot_ids = [s["slot_id"] for s in body["items"]]
    assert len(slot_ids) == 40
    assert body["next_cursor"] is None
    patients = await world.patients(12)
    for i, patient in enumerate(patients):
        await world.book(slot_ids[i * 3], patient)

    pages = await walk(api, f"/slots?date={TOMORROW}&all=true&limit=7", his, fs.SlotPage)
    assert [len(p) for p in pages] == [7, 7, 7, 7, 7, 5]
    assert flat(pages, "slot_id") == slot_ids  # the same order, each once
    assert all("window" in body for body in [body])

    pages = await walk(api, f"/bookings?date={TOMORROW}&limit=5", his, fs.BookingPage)
    assert [len(p) for p in pages] == [5, 5, 2]
    numbers = flat(pages, "booking_no")
    assert len(set(numbers)) == 12
    assert sorted(flat(pages, "patient_id")) == sorted(patients)

    pages = await walk(api, "/hospitals/H001/sessions?limit=2", his, fs.SessionPage)
    assert [len(p) for p in pages] == [2, 2, 1]
    sessions = [item for page in pages for item in page]
    assert [s["doctor"] for s in sessions] == [f"0086{i}" for i in range(5)]
    assert sessions[0]["starts_at"] == f"{TOMORROW}T08:00:00+08:00"
    assert sum(s["booked"] for s in sessions) == 12
    pages = await walk(api, "/hospitals/H001/sessions?doctor=00861", his)
    assert flat(pages, "doctor") == ["00861"]
    later = (TOMORROW + timedelta(days=1)).isoformat()
    pages = await walk(api, f"/hospitals/H001/sessions?from={later}", his)
    assert pages == [[]]


async def test_rows_added_between_pages_never_repeat_a_row(api):
    world = await busy_hospital(api)
    his = await api.token("his", "H001")
    _, body, _ = await get(api, f"/api/v1/slots?date={TOMORROW}&all=true&limit=200", his)
    slot_ids = [s["slot_id"] for s in body["items"]]
    patients = iter(await world.patients(30))
    for slot_id in slot_ids[:6]:
        await world.book(slot_id, next(patients))
    before = set(flat(await walk(api, "/bookings?limit=200", his), "booking_no"))
    added: list[str] = []

    async def book_more() -> None:  # one before the cursor and one after it, three times
        if len(added) < 6:
            for slot_id in (slot_ids[len(added) // 2], slot_ids[-1 - len(added) // 2]):
                added.append((await world.book(slot_id, next(patients))).booking.booking_no)

    pages = await walk(api, "/bookings?limit=2", his, between=book_more)
    numbers = flat(pages, "booking_no")
    assert len(numbers) == len(set(numbers))  # none twice
    assert before <= set(numbers)  # none of those there from the start left out
    assert set(numbers) <= before | set(added)
    assert set(added) & set(numbers)  # the late ones added after the cursor were seen


async def test_departments_doctors_patients_bans_and_tokens_walk_too(api):
    world = await busy_hospital(api)
    his = await api.token("his", "H001")
    admin = await api.token("admin", "H001")
    pages = await walk(api, "/hospitals/H001/departments?limit=2", his, fs.DepartmentPage)
    assert flat(pages, "code") == ["101", "102", "103"]
    pages = await walk(api, "/hospitals/H001/doctors?limit=2", his, fs.DoctorPage)
    assert flat(pages, "work_no") == [f"0086{i}" for i in range(5)]
    assert flat(pages, "active") == [True, True, True, True, False]
    pages = await walk(api, "/hospitals/H001/doctors?department=102&limit=1", his)
    assert flat(pages, "work_no") == ["00861", "00864"]

    shared = phone()
    family = [await world.patient(f"家人{i}", shared) for i in range(4)]
    status, first = await api.call(
        "POST", "/patients/search", his, json={"phone": shared, "limit": 3}
    )
    assert status == 200, first
    fs.PatientPage.model_validate(first)
    assert len(first["items"]) == 3
    status, rest = await api.call(
        "POST", "/patients/search", his,
        json={"phone": shared, "limit": 3, "cursor": first["next_cursor"]},
    )  # fmt: skip
    assert (status, rest["next_cursor"]) == (200, None)
    assert [p["id"] for p in first["items"] + rest["items"]] == [p.id for p in family]
    pages = await walk(api, f"/patients?card_no={family[0].card_no}&limit=1", his)
    assert flat(pages, "id") == [family[0].id]

    for p in family:
        await api.services.handle(
            blacklist.AddToBlacklist(patient_id=p.id, until=date(2026, 8, 1), reason="倒号")
        )
    pages = await walk(api, "/blacklist?limit=3", his, fs.BlacklistPage)
    assert [len(p) for p in pages] == [3, 1]
    assert flat(pages, "patient_id") == [p.id for p in family]

    for i in range(4):
        await api.token("kiosk", "H001", name=f"kiosk-{i}")
    pages = await walk(api, "/tokens?limit=2", admin, fs.TokenList)
    names = flat(pages, "name")
    assert names == ["his-H001", "admin-H001", "kiosk-0", "kiosk-1", "kiosk-2", "kiosk-3"]
    assert all(set(t) == set(fs.TokenOut.model_fields) for page in pages for t in page)


async def test_a_cursor_not_given_for_this_list_and_query_is_a_400(api):
    world = await busy_hospital(api)
    his = await api.token("his", "H001")
    patients = await world.patients(3)
    _, body, _ = await get(api, f"/api/v1/slots?date={TOMORROW}&all=true&limit=200", his)
    for i, patient in enumerate(patients):
        await world.book(body["items"][i]["slot_id"], patient)
    status, page, _ = await get(api, "/api/v1/bookings?limit=1", his)
    cursor = page["next_cursor"]
    assert cursor

    body_part, _, mac = cursor.partition(".")
    changed = body_part[:-2] + ("A" if body_part[-2] != "A" else "B") + body_part[-1] + "." + mac
    forged = [
        "garbage",
        "x" * 500,
        cursor + "x",
        changed,
        "eyJmIjoiMCIsImsiOlsxXX0.0000000000000000000000000000000000",
        "",
    ]
    for bad in forged:
        status, problem, _ = await get(api, f"/api/v1/bookings?limit=1&cursor={bad}", his)
        assert status in (400, 422), (bad, problem)
        if bad:
            assert (status, problem["code"]) == (400, "invalid_cursor"), bad
            assert problem["errors"][0]["field"] == "cursor"
    for other in (
        f"/api/v1/bookings?limit=1&date={TOMORROW}&cursor={cursor}",  # other filters
        f"/api/v1/blacklist?limit=1&cursor={cursor}",  # another list
        f"/api/v1/hospitals/H001/sessions?limit=1&cursor={cursor}",
    ):
        status, problem, _ = await get(api, other, his)
        assert (status, problem["code"]) == (400, "invalid_cursor"), other
    status, again, _ = await get(api, f"/api/v1/bookings?limit=1&cursor={cursor}", his)
    assert status == 200  # the cursor itself still works
    assert again["items"][0]["booking_no"] != page["items"][0]["booking_no"]
    status, problem, _ = await get(api, "/api/v1/bookings?limit=201", his)
    assert status == 422  # a page is at most 200 rows


async def test_the_pages_of_a_list_name_no_other_hospitals_rows(api):
    world = await busy_hospital(api)
    other = World(api.services, "H002")
    await other.basic(TOMORROW)
    his2 = await api.token("his", "H002")
    status, body, _ = await get(api, "/api/v1/hospitals/H001/doctors", his2)
    assert (status, body["code"]) == (404, "not_found")
    status, body, _ = await get(api, "/api/v1/hospitals/H001/sessions", his2)
    assert (status, body["code"]) == (404, "not_found")
    assert world
    pages = await walk(api, "/hospitals/H002/sessions", his2)
    assert [s["hospital"] for s in pages[0]] == ["H002"]
    assert (await api.services.read(blacklist.list_blacklist, SYSTEM)) == []


async def test_bad_list_queries_are_4xx_that_say_why(api):
    await busy_hospital(api)
    his = await api.token("his", "H001")
    cases = [
        ("/hospitals/H001/sessions?from=2026-07-12&to=2026-07-11", 422, "to"),
        ("/hospitals/H001/sessions?from=tomorrow", 422, "from"),
        ("/hospitals/H001/doctors?department=1", 422, "department"),
        ("/hospitals/H001/departments?limit=0", 422, "limit"),
        ("/hospitals/H!/departments", 422, "code"),
        ("/hospitals/H001/departments?cursor=abc", 400, "cursor"),
        ("/tokens?limit=1000", 403, None),  # a HIS token may not list tokens at all
    ]
    for path, status, field in cases:
        got, body, _ = await get(api, "/api/v1" + path, his)
        assert got == status, (path, body)
        if field is not None:
            assert body["errors"][0]["field"] == field, (path, body)
    status, body, _ = await get(api, "/api/v1/hospitals/H404/departments", his)
    assert (status, body["code"]) == (404, "not_found")
