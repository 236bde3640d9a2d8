"""What command handlers need besides the transaction (:class:`Deps`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..rules.repo import RuleCache
from .pii import Cipher


@dataclass(frozen=True)
class Deps:
    """What handlers need besides the transaction."""

    cipher: Cipher
    rules: RuleCache = field(default_factory=RuleCache)
