"""An event only tests emit: a unit that must record something, without a domain act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from booking_core.events import Event
from booking_core.events.model import doc


@dataclass(frozen=True, kw_only=True, slots=True)
class Noted(Event):
    """A test wrote something down (not in the engine's topic table: no consumer knows it)."""

    topic: ClassVar[str] = "test.event"
    key_field: ClassVar[str] = "name"

    name: str = doc("What the test calls it; the key")


def noted(name: str) -> Noted:
    return Noted(hospital_id=None, name=name)
