"""The bus's one table of command handlers (issue #11 item 3): a command registered twice
is refused, not silently overwritten by whichever line comes last; every unit is typed to
return what its command promises (``BookSlot(Command[BookingView])`` → ``Unit[BookingView]``)."""

from __future__ import annotations

import inspect
import typing

import pytest

from booking_core import bookings
from booking_core.bus import COMMAND_HANDLERS
from booking_core.kernel.registry import handler_table, merge_handlers, on
from booking_core.kernel.unit import Command


def _one(tx, cmd, deps):
    yield from ()


def _other(tx, cmd, deps):
    yield from ()


def test_a_command_registered_twice_is_refused():
    with pytest.raises(TypeError, match="BookSlot is registered twice"):
        merge_handlers({bookings.BookSlot: _one}, {bookings.BookSlot: _other})


def test_a_command_listed_twice_in_one_domains_table_is_refused():
    with pytest.raises(TypeError, match="CancelBooking is registered twice"):
        handler_table(on(bookings.CancelBooking, _one), on(bookings.CancelBooking, _other))


def test_the_bus_keeps_every_domains_handler():
    merged = merge_handlers({bookings.BookSlot: _one}, {bookings.CancelBooking: _other})
    assert merged == {bookings.BookSlot: _one, bookings.CancelBooking: _other}
    assert COMMAND_HANDLERS[bookings.BookSlot] is not None


def _promised(command: type) -> object:
    """The ``R`` of ``class X(Command[R])``."""
    for base in getattr(command, "__orig_bases__", ()):
        if typing.get_origin(base) is Command:
            (result,) = typing.get_args(base)
            return result
    raise AssertionError(f"{command.__name__} does not say what it returns (Command[R])")


@pytest.mark.parametrize("command", sorted(COMMAND_HANDLERS, key=lambda c: c.__name__))
def test_each_unit_takes_its_command_and_returns_what_the_command_promises(command):
    handler = COMMAND_HANDLERS[command]
    hints = typing.get_type_hints(handler)
    params = list(inspect.signature(handler).parameters)
    assert params[0] == "tx", params
    assert params[2:] == ["deps"], params
    assert hints[params[1]] is command, f"{handler.__qualname__} takes {hints[params[1]]}"
    origin, args = typing.get_origin(hints["return"]), typing.get_args(hints["return"])
    assert origin is not None, hints["return"]
    assert origin.__name__ == "Generator", hints["return"]
    assert args[2] == _promised(command), (
        f"{handler.__qualname__} returns {args[2]}, {command.__name__} promises "
        f"{_promised(command)}"
    )


def test_every_command_class_of_the_core_has_a_unit():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import booking_core.bus  # noqa: F401  (imports every domain)

    commands = {c for c in subclasses(Command) if c.__module__.startswith("booking_core.")}
    assert commands, "no command classes found"
    assert commands - set(COMMAND_HANDLERS) == set()
