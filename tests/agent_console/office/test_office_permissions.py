"""Each back-office route names the permission it needs, and an operator without it is
refused (403) before the view runs — GET and POST alike."""

from __future__ import annotations

import re

from agent_console.office_routes import ROUTES
from agent_console.permissions import ROLES, Permission
from agent_console.routing import SIGNED_IN
from tests.agent_console.office.office_world import sign_in


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+):(?:[^{}]|\{[^}]*\})+\}", "1234567", path)  # \d{1,18} too


def test_every_route_but_the_front_page_names_a_permission():
    for route in ROUTES:
        assert route.path.startswith("/office"), route.path
        if route.path == "/office":
            assert route.access == SIGNED_IN
        else:
            assert isinstance(route.access, Permission), route.path


async def test_operators_without_the_permission_are_refused(browser, services, hospitals):
    consoles = {
        role: await sign_in(browser, services, f"op_{role}", (role,), "H001")
        for role in ("agent", "report_viewer")
    }
    for route in ROUTES:
        if not isinstance(route.access, Permission):
            continue
        for role, console in consoles.items():
            if route.access in ROLES[role]:
                continue
            path = _concrete(route.path)
            if route.method == "GET":
                status, body = await console.get(path)
            else:
                status, body = await console.post(path, {})
            assert (status, body["error"]) == (403, "forbidden"), (role, route.method, path)
