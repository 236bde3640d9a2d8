"""Events (事件) as the outbox keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    topic: str  # booking.created, booking.cancelled, slot.changed ...
    hospital_id: int | None
    key: str  # the aggregate: a booking number, a slot id ...
    payload: dict = field(hash=False)
    created_at: datetime
    attempts: int = 0
