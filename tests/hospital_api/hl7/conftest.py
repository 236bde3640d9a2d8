"""Fixtures for the HL7 sender's tests: the HIS's MLLP listener."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.hospital_api.hl7.fake_his import FakeHis


@pytest.fixture
async def his() -> AsyncIterator[FakeHis]:
    """A HIS listening on a free local port, answering AA unless scripted otherwise."""
    listener = await FakeHis().start()
    try:
        yield listener
    finally:
        await listener.stop()
