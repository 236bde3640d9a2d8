"""Fixtures of the SMS tests: Twilio's REST API as a local fake on the test clock."""

from __future__ import annotations

from datetime import UTC

import pytest

from tests.fakes.twilio_rest import FakeTwilio


@pytest.fixture
async def fake(clock):
    """The fake Twilio REST server; its messages are dated by the test's clock."""
    async with FakeTwilio(now=lambda: clock.now().astimezone(UTC)) as server:
        yield server
