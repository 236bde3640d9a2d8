"""Commands about the record of what happened: purging old audit rows."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command


@dataclass(frozen=True, kw_only=True)
class PurgeAudit(Command[int]):
    older_than_days: int = 365
