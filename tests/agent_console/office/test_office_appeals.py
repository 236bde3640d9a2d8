"""Appeals (申诉) at the console: an agent files one at the desk from the patient's record,
an administrator lists the open ones in the back office and grants (the ban is lifted) or
rejects it with an answer; pages in both languages; another hospital's is not found."""

from __future__ import annotations

import pytest

from tests.agent_console.office.office_world import events, hospital, sign_in


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def _ban(admin, patient) -> int:
    status, body = await admin.post(
        "/office/blacklist", {"card_no": patient.card_no, "until": "2026-08-31", "reason": "爽约"}
    )
    assert status == 201, body
    return body["entry_id"]


async def test_filed_at_the_desk_rejected_then_granted(browser, services, world):
    patient = world["HA"].patients[0]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.post(f"/desk/patients/{patient.id}/appeal", {"reason": "那天住院"})
    assert (status, body["error"]) == (409, "no_ban_to_appeal")
    assert "没有生效的黑名单" in body["message"]
    await _ban(admin, patient)
    async with agent.client.get(f"/console/desk/patients/{patient.id}") as resp:
        assert f"desk/patients/{patient.id}/appeal" in await resp.text()
    status, body = await agent.post(f"/desk/patients/{patient.id}/appeal", {"reason": "那天住院"})
    assert (status, body["done"]) == (200, "appealed"), body
    status, body = await agent.post(f"/desk/patients/{patient.id}/appeal", {"reason": "再申诉"})
    assert (status, body["error"]) == (409, "appeal_pending")
    _status, record = await agent.get(f"/desk/patients/{patient.id}")
    assert record["credit"]["appeal_open"] is True
    async with agent.client.get(f"/console/desk/patients/{patient.id}") as resp:
        text = await resp.text()
    assert "申诉待处理" in text
    assert f"desk/patients/{patient.id}/appeal" not in text  # one open appeal: no second form

    status, listing = await agent.get("/office/appeals")  # agents see them …
    [appeal] = listing["appeals"]
    assert (appeal["reason"], appeal["channel"], appeal["patient_name"]) == (
        "那天住院",
        "agent",
        "张**",
    )
    status, body = await agent.post(f"/office/appeals/{appeal['id']}/decide", {"decision": "grant"})
    assert (status, body["error"]) == (403, "forbidden")  # … administrators decide

    status, body = await admin.post(
        f"/office/appeals/{appeal['id']}/decide", {"decision": "reject"}
    )
    assert (status, body["error"]) == (400, "invalid_input")  # a rejection says why
    status, body = await admin.post(
        f"/office/appeals/{appeal['id']}/decide", {"decision": "reject", "answer": "请提供证明"}
    )
    assert (status, body["status"]) == (200, "rejected"), body
    assert (await admin.get("/office/appeals"))[1]["appeals"] == []
    status, everything = await admin.get("/office/appeals?all=1")
    assert [(a["status"], a["answer"]) for a in everything["appeals"]] == [
        ("rejected", "请提供证明")
    ]

    await agent.post(f"/desk/patients/{patient.id}/appeal", {"reason": "已补证明"})
    [second] = (await admin.get("/office/appeals"))[1]["appeals"]
    status, body = await admin.post(f"/office/appeals/{second['id']}/decide", {"decision": "grant"})
    assert (status, body["status"]) == (200, "granted")
    assert (await admin.get("/office/blacklist"))[1]["entries"] == []
    decided = await events(services, "patient.appeal_decided")
    assert [e.payload["granted"] for e in decided] == [False, True]

    for lang in ("zh", "en"):
        async with admin.client.get(f"/console/office/appeals?all=1&lang={lang}") as resp:
            assert resp.status == 200
            text = await resp.text()
            assert text.count('name="csrf_token"') == text.count('<form method="post"')


async def test_another_hospitals_appeal_is_not_found(browser, services, world):
    admin_b = await sign_in(browser, services, "hadmin_b", ("hospital_admin",), "HB")
    agent_b = await sign_in(browser, services, "agent_b", ("agent",), "HB")
    patient = world["HB"].patients[0]
    await _ban(admin_b, patient)
    await agent_b.post(f"/desk/patients/{patient.id}/appeal", {"reason": "误会"})
    [appeal] = (await admin_b.get("/office/appeals"))[1]["appeals"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    assert (await admin.get("/office/appeals"))[1]["appeals"] == []
    status, _ = await admin.post(f"/office/appeals/{appeal['id']}/decide", {"decision": "grant"})
    assert status == 404
    status, _ = await admin.post(f"/desk/patients/{patient.id}/appeal", {"reason": "x"})
    assert status == 404


async def test_the_ladder_is_set_on_the_rules_screen(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    ladder = {"key": "credit_ladder", "period_type": "days", "period_value": "365"}
    status, body = await admin.post("/office/rules", {**ladder, "value": "[0, 7, 30]"})
    assert (status, body["rule"]["value"]) == (200, [0, 7, 30]), body
    status, body = await admin.post("/office/rules", {**ladder, "value": "[30, 0]"})
    assert (status, body["error"]) == (400, "invalid_input")  # a ladder never steps down
    status, body = await admin.post(
        "/office/rules", {"key": "credit_platform_wide", "value": "true"}
    )
    assert (status, body["error"]) == (400, "invalid_input")  # the platform's rule
    _status, page = await admin.get("/office/rules")
    [effective] = [r for r in page["effective"] if r["key"] == "credit_ladder"]
    assert (effective["value"], effective["source"]) == ([0, 7, 30], "hospital")
    async with admin.client.get("/console/office/rules?lang=zh") as resp:
        assert "信用阶梯" in await resp.text()
