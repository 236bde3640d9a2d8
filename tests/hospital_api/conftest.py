"""Fixtures for the API tests."""

from __future__ import annotations

import pytest

from tests.hospital_api.helpers import Api, make_root


@pytest.fixture
async def api(aiohttp_client, services) -> Api:
    outcomes: list[tuple[str, str]] = []
    client = await aiohttp_client(make_root(services, outcomes))
    return Api(client, services, outcomes)
