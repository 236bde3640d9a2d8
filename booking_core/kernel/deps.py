"""What command handlers need besides the transaction (:class:`Deps`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .cache import Cache
from .pii import Cipher


@dataclass(frozen=True)
class Deps:
    """What handlers need besides the transaction."""

    cipher: Cipher
    cache: Cache = field(default_factory=Cache)
    """The bus's one cache (rule sets per hospital, through ``rules.repo.cached_rules``)."""
