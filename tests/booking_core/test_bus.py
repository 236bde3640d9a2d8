"""The bus's one table of command handlers (issue #11 item 3): a command registered twice
is refused, not silently overwritten by whichever line comes last."""

from __future__ import annotations

import pytest

from booking_core import commands as c
from booking_core import services


def _one(tx, cmd, deps):
    yield from ()


def _other(tx, cmd, deps):
    yield from ()


def test_a_command_registered_twice_is_refused():
    with pytest.raises(TypeError, match="BookSlot is registered twice"):
        services.merge_handlers({c.BookSlot: _one}, {c.BookSlot: _other})


def test_the_bus_keeps_every_domains_handler():
    merged = services.merge_handlers({c.BookSlot: _one}, {c.CancelBooking: _other})
    assert merged == {c.BookSlot: _one, c.CancelBooking: _other}
    assert services.COMMAND_HANDLERS[c.BookSlot] is not None
