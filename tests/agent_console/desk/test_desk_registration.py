"""Registering a caller with no record at the desk (无卡病人), changing a phone with its
reason, and patients told apart in the search (#14) — on SQLite and PostgreSQL.

The registration form is pre-filled with the calling number of a transferred call (read
in clear from the core for an operator of that hospital, the read audited); a bad field
shows the form again with the field's error, never a 500; a duplicate ID number links to
the record there is. From an unknown caller's call page to a booking is at most 6 page
loads, counted as a browser makes them (an HTML client following each link and form)."""

from __future__ import annotations

import html
import json
import re

import pytest

from booking_core.patients import FillPatientKeys
from tests.agent_console.desk.desk_world import LI_PHONE, transfer
from tests.agent_console.helpers import table
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)
from tests.support.world import World, resident_id

MAX_PAGE_LOADS = 6  # issue #14: an unknown caller registered and booked
NEW_ID = resident_id(601, birth="19900215")


@pytest.fixture
async def unknown_call(services, desk_world):
    await transfer(
        services, "HA", "CA-new", caller="+8613700001234", reason="not_registered", step="main"
    )
    await transfer(services, "HA", "CA-landline", caller="+861065550000", step="main")
    await transfer(services, "HB", "CB-new", caller="13700005678", step="main")
    return "CA-new"


def _form(name: str = "王小红", id_number: str = NEW_ID, phone: str = "13700001234") -> dict:
    return {"name": name, "id_number": id_number, "phone": phone}


async def _audits(services, action: str) -> list[dict]:
    return await table(services, "SELECT * FROM audit WHERE action = ?", action)


async def test_the_form_is_prefilled_from_the_call_and_the_read_audited(
    agent, services, unknown_call
):
    status, body = await agent.get("/desk/patients/new", params={"call": "CA-new"})
    assert status == 200, body
    assert body["form"]["phone"] == "13700001234"
    assert body["call"]["call_sid"] == "CA-new"
    assert body["action"] == "/console/desk/patients/new?call=CA-new"
    assert body["note"].startswith("手机号已按来电号码填好")
    [audit] = await _audits(services, "call.caller_reveal")
    assert (audit["actor"], audit["entity_id"]) == ("operator:agent_a", "CA-new")
    assert "13700001234" not in json.dumps(audit)

    landline = (await agent.get("/desk/patients/new", params={"call": "CA-landline"}))[1]
    assert landline["form"]["phone"] == ""
    assert landline["note"] == "来电号码不是手机号，请询问来电人的手机号。"
    by_phone = (await agent.get("/desk/patients/new", params={"phone": "13911112222"}))[1]
    assert by_phone["form"]["phone"] == "13911112222"
    assert (await agent.get("/desk/patients/new", params={"call": "CB-new"}))[0] == 404
    assert (await agent.get("/desk/patients/new", params={"call": "no such/!"}))[0] == 400
    assert len(await _audits(services, "call.caller_reveal")) == 2  # not for HB's call


async def test_registering_issues_a_card_and_opens_the_record_with_the_call(
    agent, services, unknown_call
):
    status, body = await agent.post("/desk/patients/new?call=CA-new", _form(name="王 小紅"))
    assert status == 200, body
    new_id = body["registered"]["patient_id"]
    assert body["next"] == f"/console/desk/patients/{new_id}?call=CA-new"
    record = (await agent.get(f"/desk/patients/{new_id}", params={"call": "CA-new"}))[1]
    patient = record["patient"]
    assert patient["name"] == "王小红"  # one space dropped, traditional folded
    assert patient["card_no"] == body["registered"]["card_no"]
    assert patient["card_no"].isdigit()
    assert (patient["birth_year"], patient["sex_text"]) == (
        1990,
        "男" if int(NEW_ID[-2]) % 2 else "女",
    )
    assert record["call"]["call_sid"] == "CA-new"
    [audit] = [
        a for a in await _audits(services, "patient.registered") if a["entity_id"] == str(new_id)
    ]
    assert audit["actor"] == "operator:agent_a"
    assert NEW_ID not in json.dumps(audit)
    assert "13700001234" not in json.dumps(audit)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (_form(id_number=NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")), "id_number", "校验位"),
        (_form(id_number="1101051990"), "id_number", "18 位"),
        (_form(id_number="110105199002301234"), "id_number", ""),
        (_form(phone="12345"), "phone", "11 位手机号"),
        (_form(name=""), "name", "必填"),
        (_form(id_number=""), "id_number", "必填"),
        (_form(phone=""), "phone", "必填"),
        (_form(name="名" * 31), "name", "太长"),
        (_form(name="名" * 100_000), "name", "太长"),
        (_form(id_number="1" * 50_000), "id_number", "太长"),
    ],
)
async def test_bad_input_shows_the_form_again_with_the_error(
    agent, services, unknown_call, fields, field, words
):
    before = len(await table(services, "SELECT id FROM patients"))
    status, body = await agent.post("/desk/patients/new?call=CA-new", fields)
    assert status == 400, body
    assert field in body["errors"]
    assert words in body["errors"][field]
    assert body["action"] == "/console/desk/patients/new?call=CA-new"
    assert len(body["form"][field]) < 1000  # a huge value is not sent back whole
    assert len(await table(services, "SELECT id FROM patients")) == before
    async with agent.client.post(
        "/console/desk/patients/new", data={**fields, "csrf_token": agent.csrf_token}
    ) as resp:
        page = await resp.text()
    assert resp.status == 400
    assert 'class="error field-error"' in page
    assert 'aria-invalid="true"' in page


async def test_a_duplicate_id_number_says_so_and_links_to_the_record(agent, desk_world):
    status, body = await agent.post(
        "/desk/patients/new?call=CA-x", _form(id_number=desk_world["li_id"])
    )
    assert status == 404  # the call must exist
    status, body = await agent.post("/desk/patients/new", _form(id_number=desk_world["li_id"]))
    assert (status, body["error"]) == (409, "patient_exists")
    assert body["existing"]["patient_id"] == desk_world["li"]
    assert body["existing"]["href"] == f"/console/desk/patients/{desk_world['li']}"
    assert desk_world["li_card"] in body["message"]


async def test_a_phone_change_needs_a_reason_and_is_audited_masked(agent, services, desk_world):
    li = desk_world["li"]
    status, body = await agent.get(f"/desk/patients/{li}/phone")
    assert status == 200, body
    assert body["patient"]["phone"] == "138****5678"
    status, body = await agent.post(f"/desk/patients/{li}/phone", {"phone": "13900009999"})
    assert status == 400
    assert "reason" in body["errors"]
    status, body = await agent.post(
        f"/desk/patients/{li}/phone", {"phone": LI_PHONE, "reason": "换号"}
    )
    assert (status, body["errors"]) == (400, {"phone": "与现在的手机号相同。"})
    status, body = await agent.post(
        f"/desk/patients/{li}/phone", {"phone": "x" * 10_000, "reason": "换号"}
    )
    assert status == 400
    assert "phone" in body["errors"]
    status, body = await agent.post(
        f"/desk/patients/{li}/phone", {"phone": "13900009999", "reason": "患者换号"}
    )
    assert status == 200, body
    assert body["next"] == f"/console/desk/patients/{li}"
    record = (await agent.get(f"/desk/patients/{li}"))[1]
    assert record["patient"]["phone"] == "139****9999"
    [audit] = await _audits(services, "patient.phone_change")
    assert audit["actor"] == "operator:agent_a"
    assert json.loads(audit["before_state"]) == {"phone": "138****5678"}
    assert json.loads(audit["after_state"]) == {"phone": "139****9999", "reason": "患者换号"}
    other = (await agent.get(f"/desk/patients/{desk_world['HB']['patient']}/phone"))[0]
    assert other == 404


async def test_search_tells_family_members_apart_and_finds_by_pinyin(agent, services, desk_world):
    ha = World(services, "HA")
    family_phone = "13655556666"
    await ha.patient("张小明", family_phone, id_number=resident_id(701, birth="19900101"))
    await ha.patient("张大明", family_phone, id_number=resident_id(702, birth="19620101"))
    await ha.patient("張三", "13655557777", id_number=resident_id(703, birth="20010101"))
    status, body = await agent.post("/desk/patients", {"q": family_phone, "one": "list"})
    assert status == 200, body
    rows = sorted(body["patients"], key=lambda p: p["birth_year"])
    assert [(p["label"], p["birth_year"]) for p in rows] == [("张**(明)", 1962), ("张**(明)", 1990)]
    assert all(p["name"] == "张**" and p["sex_text"] in ("男", "女") for p in rows)
    sexes = ["男" if int(resident_id(s)[-2]) % 2 else "女" for s in (702, 701)]
    assert [p["sex_text"] for p in rows] == sexes

    for q in ("zs", "zhangs", "張三", "张三"):  # 张三 and 张三丰 (zsf) of the world
        found = (await agent.get("/desk/patients", params={"q": q, "one": "list"}))[1]
        labels = [(p["label"], p["birth_year"]) for p in found["patients"]]
        assert labels == [("张*", 2001), ("张**", 1980)], q
    found = (await agent.get("/desk/patients", params={"q": "zsf", "one": "list"}))[1]
    assert [p["label"] for p in found["patients"]] == ["张**"]
    async with agent.client.get(
        "/console/desk/patients", params={"q": "zxm", "one": "list"}
    ) as resp:
        page = await resp.text()
    assert 'class="birth-year">1990' in page
    assert "张小明" not in page


async def test_a_patient_from_before_the_keys_is_found_once_filled(agent, services, desk_world):
    await services.store.write(_forget_keys)
    assert (await agent.get("/desk/patients", params={"q": "lxm", "one": "list"}))[1][
        "patients"
    ] == []
    while await services.handle(FillPatientKeys()):
        pass
    found = (await agent.get("/desk/patients", params={"q": "lxm", "one": "list"}))[1]
    assert [p["id"] for p in found["patients"]] == [desk_world["li"]]


def _forget_keys(tx):
    from booking_core.kernel.unit import execute

    yield execute("UPDATE patients SET name_keys = NULL, birth_year = NULL")


# --- an unknown caller, registered and booked, counting page loads -----------------------


class HtmlBrowser:
    """Pages as a browser gets them: HTML, 303s followed, one count per page shown."""

    def __init__(self, client) -> None:
        self.client = client
        self.loads: list[str] = []
        self.page = ""

    async def open(self, path: str, **kw) -> str:
        async with self.client.get(path, **kw) as resp:
            assert resp.status == 200, await resp.text()
            self.loads.append(str(resp.url.relative()))
            self.page = await resp.text()
        return self.page

    async def submit(self, action: str, fields: dict, method: str = "post") -> str:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.page)
        data = {**fields, "csrf_token": token.group(1) if token else ""}
        if method == "get":
            return await self.open(action, params=fields)
        async with self.client.post(action, data=data) as resp:
            assert resp.status == 200, await resp.text()
            self.loads.append(str(resp.url.relative()))
            self.page = await resp.text()
        return self.page

    def link(self, pattern: str) -> str:
        found = re.search(rf'href="([^"]*{pattern}[^"]*)"', self.page)
        assert found, pattern
        return html.unescape(found.group(1))

    def form_action(self, css_class: str) -> str:
        found = re.search(
            rf'<form method="\w+" action="([^"]*)" class="[^"]*{css_class}', self.page
        )
        assert found, css_class
        return html.unescape(found.group(1))


async def test_an_unknown_caller_is_registered_and_booked_in_six_page_loads(
    agent, services, unknown_call
):
    await agent.post("/desk/calls/CA-new/take")
    desk = HtmlBrowser(agent.client)
    page = await desk.open("/console/desk/calls/CA-new")  # where taking the call lands
    assert "登记新患者 / Register" in page
    page = await desk.open(desk.link("desk/patients/new\\?call=CA-new"))
    assert 'value="13700001234"' in page
    page = await desk.submit(desk.form_action("registration"), _form())
    assert "王小红" in page
    assert "CA-new" in page
    page = await desk.submit(desk.form_action("filter"), {"department": "102"}, method="get")
    slot_form = re.search(
        r'<form method="post" action="([^"]+)" class="inline">\s*'
        r'<input type="hidden" name="csrf_token" value="[^"]+">\s*'
        r'<input type="hidden" name="slot_id" value="(\d+)">',
        page,
    )
    assert slot_form, page
    page = await desk.submit(html.unescape(slot_form.group(1)), {"slot_id": slot_form.group(2)})
    assert "预约成功" in page
    assert len(desk.loads) <= MAX_PAGE_LOADS, desk.loads
    print(f"\npage loads from the call page to the booking: {len(desk.loads)}")
    [booking] = await table(
        services,
        "SELECT b.channel FROM bookings b JOIN patients p ON p.id = b.patient_id "
        "WHERE p.name = '王小红'",
    )
    assert booking["channel"] == "agent"


async def test_a_known_callers_call_page_offers_no_registration(agent, services, desk_world):
    await transfer(services, "HA", "CA-li", caller=LI_PHONE, patient_id=desk_world["li"])
    async with agent.client.get("/console/desk/calls/CA-li") as resp:
        page = await resp.text()
    assert "登记新患者" not in page
