"""Finding the caller: by card, name (a part), phone, its last 4 and ID number, masked in
lists; the record (bookings, no-shows, blacklist, balance); reveal, audited; and never
another hospital's patient."""

from __future__ import annotations

from datetime import date

from booking_core import blacklist, payments
from tests.agent_console.desk.desk_world import ADMIN_SECRET, LI_PHONE
from tests.agent_console.helpers import table


async def _names(agent, q: str, by: str = "auto") -> list[str]:
    status, body = await agent.post("/desk/patients", {"q": q, "by": by, "one": "list"})
    assert status == 200, body
    return [p["name"] for p in body["patients"]]


async def test_search_by_part_of_a_name_last_4_card_phone_and_id(agent, desk_world):
    assert await _names(agent, "小明") == ["李**"]  # HB's 李小明 is not listed
    assert sorted(await _names(agent, "李")) == ["李**", "李**"]
    assert await _names(agent, "5678") == ["李**"]  # last 4 of 13812345678
    assert await _names(agent, desk_world["li_card"]) == ["李**"]
    assert await _names(agent, LI_PHONE) == ["李**"]
    assert await _names(agent, desk_world["li_id"]) == ["李**"]
    assert await _names(agent, "5678", "name") == []
    assert await _names(agent, "%") == []  # a LIKE wildcard is a character, not "all"


async def test_lists_are_masked(agent, desk_world):
    _status, body = await agent.get("/desk/patients", params={"q": "李小", "one": "list"})
    [row] = body["patients"]
    assert row["name"] == "李**"
    assert row["phone"] == "138****5678"
    assert row["id_number"] == "*" * 14 + desk_world["li_id"][-4:]
    async with agent.client.get("/console/desk/patients?q=李小&one=list") as resp:
        page = await resp.text()
    assert LI_PHONE not in page
    assert desk_world["li_id"] not in page
    assert "李小明" not in page


async def test_one_match_goes_straight_to_the_record(agent, desk_world):
    async with agent.client.get("/console/desk/patients?q=小明", allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == f"/console/desk/patients/{desk_world['li']}"


async def test_the_record_shows_bookings_no_shows_blacklist_and_balance(
    agent, services, desk_world
):
    patient = desk_world["HA"]["patient"]
    await services.handle(payments.TopUp(patient_id=patient, amount=12345))
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient, until=date(2026, 10, 8), reason="爽约三次")
    )
    status, body = await agent.get(f"/desk/patients/{patient}")
    assert status == 200, body
    assert body["patient"]["balance"] == 12345
    assert [b["booking_no"] for b in body["bookings"]] == [desk_world["HA"]["booking"]]
    assert body["no_shows"] == 0
    assert body["blacklist"] == {
        "banned": True,
        "until": "2026-10-09 00:00",
        "reasons": ["爽约三次"],
    }
    assert body["patient"]["phone"].count("*") == 4
    assert body["may_reveal"] is False
    assert [d["code"] for d in body["departments"]] == ["101", "102"]
    async with agent.client.get(f"/console/desk/patients/{patient}?lang=en") as resp:
        assert "blacklisted until 2026-10-09 00:00" in await resp.text()


async def test_another_hospitals_patient_is_not_found(agent, desk_world):
    other = desk_world["HB"]["patient"]
    for path in (f"/desk/patients/{other}", f"/desk/patients/{other}/slots"):
        status, body = await agent.get(path)
        assert (status, body["error"]) == (404, "not_found"), path
        async with agent.client.get("/console" + path) as resp:
            assert resp.status == 404
            assert "张三丰" not in await resp.text()


async def test_an_agent_may_not_reveal(agent, desk_world):
    status, body = await agent.post(f"/desk/patients/{desk_world['li']}/reveal")
    assert (status, body["error"]) == (403, "forbidden")
    assert await table(agent.services, "SELECT * FROM audit WHERE action = 'patient.reveal'") == []


async def test_reveal_shows_the_clear_values_once_and_writes_one_audit_row(
    browser, services, desk_world
):
    admin = await browser()
    await admin.sign_in("hadmin", secret=ADMIN_SECRET)
    li = desk_world["li"]
    status, body = await admin.get(f"/desk/patients/{li}")
    assert body["may_reveal"] is True
    assert body["patient"]["phone"] == "138****5678"
    status, body = await admin.post(f"/desk/patients/{li}/reveal", csrf=None)
    assert status == 403  # no CSRF token: refused before anything is read
    status, body = await admin.post(f"/desk/patients/{li}/reveal")
    assert status == 200, body
    assert body["patient"]["phone"] == LI_PHONE
    assert body["patient"]["id_number"] == desk_world["li_id"]
    [row] = await table(services, "SELECT * FROM audit WHERE action = 'patient.reveal'")
    assert (row["actor"], row["entity"], row["entity_id"]) == (
        "operator:hadmin",
        "patient",
        str(li),
    )
    assert LI_PHONE not in (row["after_state"] or "")
    assert (await admin.get(f"/desk/patients/{li}"))[1]["patient"]["phone"] == "138****5678"
    other = desk_world["HB"]["patient"]
    assert (await admin.post(f"/desk/patients/{other}/reveal"))[0] == 404


def test_what_is_typed_decides_how_it_is_looked_up():
    from booking_core.patients import search_kind

    assert search_kind("11010519800101123X") == "id"
    assert search_kind("13812345678") == "phone"
    assert search_kind("5678") == "phone4"
    assert search_kind("3543662016") == "card"
    assert search_kind("张三") == "name"
    assert search_kind("zhang") == "name"


async def test_a_phone_or_id_number_never_travels_in_a_url(agent, desk_world):
    """#10 item 19: the form posts the number; the list it leads to is ``?s=<search id>``
    (the number sealed in a short-lived cookie of this session); in a URL it is refused."""
    for number in (LI_PHONE, desk_world["li_id"]):
        async with agent.client.get(
            "/console/desk/patients", params={"q": number}, headers={"Accept": "text/html"}
        ) as resp:
            assert resp.status == 400
            assert number not in await resp.text()
        status, body = await agent.get("/desk/patients", params={"q": number, "by": "id"})
        assert (status, body["error"]) == (400, "invalid_input")
    form = {"q": LI_PHONE, "csrf_token": agent.csrf_token}
    async with agent.client.post(
        "/console/desk/patients", data=form, allow_redirects=False
    ) as resp:  # one match: straight to the record
        assert resp.status == 303
        assert resp.headers["Location"] == f"/console/desk/patients/{desk_world['li']}"
    form = {"q": LI_PHONE, "one": "list", "csrf_token": agent.csrf_token}
    async with agent.client.post(
        "/console/desk/patients", data=form, allow_redirects=False
    ) as resp:
        assert resp.status == 303
        location = resp.headers["Location"]
    assert LI_PHONE not in location
    assert location.startswith("/console/desk/patients?s=")
    status, body = await agent.get(location.removeprefix("/console"))
    assert status == 200, body
    assert [p["name"] for p in body["patients"]] == ["李**"]
    assert [p["phone"] for p in body["patients"]] == ["138****5678"]


async def test_a_search_id_works_only_in_its_session_and_for_ten_minutes(
    agent, browser, desk_world, clock
):
    form = {"q": desk_world["li_id"], "one": "list", "csrf_token": agent.csrf_token}
    async with agent.client.post(
        "/console/desk/patients", data=form, allow_redirects=False
    ) as resp:
        location = resp.headers["Location"].removeprefix("/console")
    other = await browser()
    await other.sign_in("agent_a")  # the same operator, another browser
    status, body = await other.get(location)
    assert (status, body["error"], body["patients"]) == (200, "search_expired", [])
    status, body = await agent.get(location.replace("?s=", "?s=x"))
    assert body["error"] == "search_expired"
    clock.advance(seconds=601)
    status, body = await agent.get(location)
    assert body["error"] == "search_expired"


async def test_the_search_form_posts_with_its_token(agent, desk_world):
    async with agent.client.get("/console/desk") as resp:
        page = await resp.text()
    nav = page[page.index('role="search"') - 200 :]
    assert 'method="post"' in nav[:400]
    assert 'name="csrf_token"' in nav[:600]
