"""How a domain registers the units that run its commands, and how the bus merges them.

Each domain's ``handlers.py`` ends in ::

    HANDLERS = handler_table(
        on(BookSlot, book_slot),
        ...
    )

:func:`on` ties a command to its unit so that the type checker holds the unit to what the
command promises: ``BookSlot(Command[BookingView])`` may only be handled by a unit typed
``Unit[BookingView]`` (``make lint`` runs mypy). :func:`handler_table` and
:func:`merge_handlers` refuse a command registered twice: two units for one act would depend
on the order of the lines that list them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .deps import Deps
from .unit import Command, R, Tx, Unit

C = TypeVar("C", bound=Command[Any])

Handler = Callable[[Tx, Any, Deps], Unit[Any]]
"""A command's unit of work: ``handler(tx, command, deps)``."""

HandlerTable = dict[type[Command[Any]], Handler]


@dataclass(frozen=True, slots=True)
class Registration:
    command: type[Command[Any]]
    handler: Handler


def on(command: type[Command[R]], handler: Callable[[Tx, C, Deps], Unit[R]]) -> Registration:
    """``command`` is handled by ``handler``, which must return the command's ``R``."""
    return Registration(command, handler)


def handler_table(*registrations: Registration) -> HandlerTable:
    """A domain's ``HANDLERS``: one unit per command, a command listed twice refused."""
    return merge_handlers(*({r.command: r.handler} for r in registrations))


def merge_handlers(*tables: Mapping[type[Command[Any]], Handler]) -> HandlerTable:
    """One table from several (the bus merges every domain's ``HANDLERS``); a command
    registered twice is refused at import."""
    merged: HandlerTable = {}
    for table in tables:
        for command, handler in table.items():
            if command in merged:
                raise TypeError(
                    f"{command.__name__} is registered twice: {merged[command].__qualname__} "
                    f"and {handler.__qualname__}"
                )
            merged[command] = handler
    return merged
