"""Commands that change a rule record (规则)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..kernel.unit import Command
from .calendar import CalendarEntry
from .model import Rule


@dataclass(frozen=True, kw_only=True)
class SetRule(Command[Rule]):
    rule: Rule


@dataclass(frozen=True, kw_only=True)
class SetCalendarDay(Command[CalendarEntry]):
    """A hospital's own calendar entry (节假日表): ``day`` closed to booking, or open
    whatever the national calendar says; ``note`` says why (春节停诊, 院庆 …)."""

    hospital_code: str
    day: date
    is_open: bool
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RemoveCalendarDay(Command[bool]):
    """Remove a hospital's entry for ``day``: the national calendar decides it again.
    Answers whether there was one."""

    hospital_code: str
    day: date
