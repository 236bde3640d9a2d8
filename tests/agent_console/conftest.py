"""Fixtures for the console tests: SQLite unless a test module asks for both stores."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from agent_console.keys import ConsoleSettings
from tests.agent_console.helpers import Console, root_app
from tests.support.world import World


@pytest.fixture
def db_url(sqlite_url) -> str:
    return sqlite_url


@pytest.fixture
def browser(aiohttp_client, services, clock) -> Callable[..., Awaitable[Console]]:
    """A new browser (own cookie jar) on the console over the test's services."""

    async def open_browser(settings: ConsoleSettings | None = None, **kwargs) -> Console:
        client = await aiohttp_client(root_app(services, settings), **kwargs)
        return Console(client, services, clock)

    return open_browser


@pytest.fixture
async def hospitals(services) -> tuple[str, str]:
    """Two empty hospitals, H001 and H002."""
    for code in ("H001", "H002"):
        await World(services, code).hospital(name=f"医院{code}")
    return ("H001", "H002")
