"""The bus's one table of command handlers (issue #11 item 3): a command registered twice
is refused, not silently overwritten by whichever line comes last."""

from __future__ import annotations

import pytest

from booking_core import bookings
from booking_core import bus as services


def _one(tx, cmd, deps):
    yield from ()


def _other(tx, cmd, deps):
    yield from ()


def test_a_command_registered_twice_is_refused():
    with pytest.raises(TypeError, match="BookSlot is registered twice"):
        services.merge_handlers({bookings.BookSlot: _one}, {bookings.BookSlot: _other})


def test_the_bus_keeps_every_domains_handler():
    merged = services.merge_handlers({bookings.BookSlot: _one}, {bookings.CancelBooking: _other})
    assert merged == {bookings.BookSlot: _one, bookings.CancelBooking: _other}
    assert services.COMMAND_HANDLERS[bookings.BookSlot] is not None
