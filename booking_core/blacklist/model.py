"""A ban (黑名单) as the core keeps it. Instants are aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    id: int
    hospital_id: int | None  # None: every hospital on the platform
    patient_id: int
    reason: str
    source: str  # "no_show" | "admin" | "his"
    starts_at: datetime
    ends_at: datetime
    lifted_at: datetime | None = None
