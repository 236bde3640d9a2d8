"""Command handlers: each a unit of work ``handler(tx, command, deps)`` run by the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..pii import Cipher
from ..repo.rules import RuleCache


@dataclass(frozen=True)
class Deps:
    """What handlers need besides the transaction."""

    cipher: Cipher
    rules: RuleCache = field(default_factory=RuleCache)
