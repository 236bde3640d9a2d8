"""Fixtures for the desk's tests (SQLite)."""

from __future__ import annotations

import pytest

from tests.agent_console.desk.desk_world import build, go_available


@pytest.fixture
async def desk_world(services):
    return await build(services)


@pytest.fixture
async def agent(browser, desk_world):
    """agent_a of hospital HA, signed in and available."""
    console = await browser()
    await console.sign_in("agent_a")
    await go_available(console)
    return console
