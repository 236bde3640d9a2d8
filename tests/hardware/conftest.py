"""Kiosk device tests: each driver against its simulator on a real pseudo-terminal, time
moved by a manual clock instead of waited for."""

from __future__ import annotations

import pytest

from tests.hardware.helpers import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """The drivers' clock (overrides the suite's clock: these tests move device time)."""
    return ManualClock()
