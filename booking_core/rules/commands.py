"""Commands that change a rule record (规则)."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from .model import Rule


@dataclass(frozen=True, kw_only=True)
class SetRule(Command[Rule]):
    rule: Rule
