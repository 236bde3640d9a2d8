"""Operators and roles: permissions are the union of roles, every route checks them, a
hospital admin manages only their hospital and never grants more than they hold."""

from __future__ import annotations

import pytest

from agent_console.permissions import ROLES, Permission, may_grant, permissions_of
from agent_console.web import PUBLIC, ROUTES, SIGNED_IN, STEP
from tests.agent_console.helpers import PASSWORDS, add_operator, table

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_permissions_are_the_union_of_roles():
    both = permissions_of(["agent", "report_viewer"])
    assert both == ROLES["agent"] | ROLES["report_viewer"]
    assert Permission.REPORTS_VIEW in both
    assert Permission.OPERATORS_MANAGE not in both
    assert permissions_of(["no_such_role"]) == frozenset()
    assert permissions_of(["platform_admin"]) == frozenset(Permission)


def test_nobody_grants_what_they_do_not_hold():
    hospital_admin = permissions_of(["hospital_admin"])
    assert may_grant(hospital_admin, ["agent", "report_viewer", "hospital_admin"])
    assert not may_grant(hospital_admin, ["platform_admin"])
    assert not may_grant(permissions_of(["agent"]), ["report_viewer"])


def test_every_route_says_who_may_use_it():
    public = {(r.method, r.path) for r in ROUTES if r.access == PUBLIC}
    assert public == {("GET", "/login"), ("POST", "/login")}
    for route in ROUTES:
        assert route.access in (PUBLIC, STEP, SIGNED_IN) or isinstance(route.access, Permission)


@pytest.fixture
async def admins(browser, services, hospitals):
    """A platform admin, and a hospital admin and an agent of H001, each signed in."""
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    await add_operator(services, "hadmin", ("hospital_admin",), "H001", totp_secret=SECRET)
    await add_operator(services, "agent1", ("agent",), "H001")
    await add_operator(services, "agent2", ("agent",), "H002")
    out = {}
    for name in ("root", "hadmin", "agent1"):
        out[name] = await browser()
        await out[name].sign_in(name, secret=SECRET)
        services.clock.advance(seconds=30)  # each log-in its own TOTP step
    return out


async def test_an_agent_may_not_manage_operators(admins):
    agent = admins["agent1"]
    status, body = await agent.get("/operators")
    assert (status, body["error"]) == (403, "forbidden")
    form = {"username": "x1x", "display_name": "x", "roles": "agent"}
    assert (await agent.post("/operators", form))[0] == 403


async def test_hospital_admin_sees_only_their_hospitals_operators(admins, services):
    status, body = await admins["hadmin"].get("/operators")
    assert status == 200
    assert {op["username"] for op in body["operators"]} == {"hadmin", "agent1"}
    [other] = await table(services, "SELECT id FROM operators WHERE username = 'agent2'")
    [root] = await table(services, "SELECT id FROM operators WHERE username = 'root'")
    for target in (other["id"], root["id"]):
        assert (await admins["hadmin"].get(f"/operators/{target}"))[0] == 404
        assert (await admins["hadmin"].post(f"/operators/{target}/disable"))[0] == 404
    status, body = await admins["root"].get("/operators")
    assert len(body["operators"]) == 4


async def test_hospital_admin_adds_an_agent_with_a_one_time_password(admins, browser, services):
    form = {"username": "newbie", "display_name": "新人", "roles": "agent", "hospital": "H002"}
    status, body = await admins["hadmin"].post("/operators", form)
    assert status == 201, body
    assert body["operator"]["hospital"] == "H001"  # always their own hospital
    temporary = body["temporary_password"]
    assert len(temporary) >= 12
    assert body["operator"]["must_change_password"] is True
    [row] = await table(services, "SELECT password_hash FROM operators WHERE username = 'newbie'")
    assert PASSWORDS.verify(row["password_hash"], temporary)
    newbie = await browser()
    assert (await newbie.login("newbie", temporary))[1]["stage"] == "change_password"


async def test_hospital_admin_cannot_grant_platform_admin(admins):
    form = {"username": "sneaky", "display_name": "x", "roles": "platform_admin"}
    status, body = await admins["hadmin"].post("/operators", form)
    assert (status, body["error"]) == (403, "forbidden")
    status, listing = await admins["hadmin"].get("/operators")
    agent = next(op for op in listing["operators"] if op["username"] == "agent1")
    status, body = await admins["hadmin"].post(
        f"/operators/{agent['id']}/roles", {"roles": "platform_admin"}
    )
    assert status == 403


async def test_edit_assign_roles_disable_enable_reset(admins, browser, services):
    hadmin = admins["hadmin"]
    [agent] = await table(services, "SELECT id FROM operators WHERE username = 'agent1'")
    target = f"/operators/{agent['id']}"
    assert (await hadmin.post(target, {"display_name": "值班甲"}))[1]["operator"][
        "display_name"
    ] == "值班甲"
    status, body = await hadmin.post(target + "/roles", {"roles": "agent,report_viewer"})
    assert body["operator"]["roles"] == ["agent", "report_viewer"]
    status, body = await admins["agent1"].get("/")
    assert "reports.view" in body["me"]["permissions"]  # the union, at once

    assert (await hadmin.post(target + "/disable"))[1]["operator"]["disabled"] is True
    assert (await admins["agent1"].get("/"))[0] == 401  # their session ended
    assert (await hadmin.post(target + "/enable"))[1]["operator"]["disabled"] is False

    status, body = await hadmin.post(target + "/password")
    assert status == 200
    temporary = body["temporary_password"]
    again = await browser()
    assert (await again.login("agent1", temporary))[1]["stage"] == "change_password"
    status, body = await hadmin.post(target + "/password")
    assert status == 200
    assert body["temporary_password"] != temporary  # never a fixed value
    audit = await table(
        services, "SELECT action FROM audit WHERE action LIKE 'operator.%' ORDER BY id"
    )
    assert [a["action"] for a in audit][-6:] == [
        "operator.edit",
        "operator.roles",
        "operator.disable",
        "operator.enable",
        "operator.reset_password",
        "operator.reset_password",
    ]


async def test_change_own_password_closes_other_sessions(admins, browser, services):
    other = await browser()
    await other.sign_in("agent1")
    new = "another long secret 77"
    status, body = await admins["agent1"].post(
        "/password",
        {"current_password": "correct horse battery", "new_password": new, "repeat_password": new},
    )
    assert status == 200, body
    assert (await admins["agent1"].get("/"))[0] == 200
    assert (await other.get("/"))[0] == 401


async def test_operator_pages_render_as_html(admins):
    async with admins["hadmin"].client.get("/console/operators") as resp:
        assert resp.status == 200
        page = await resp.text()
        assert "挂号值班人员" in page
        assert 'name="csrf_token"' in page
