"""What command handlers need besides the transaction (:class:`Deps`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .cache import Cache
from .pii import Cipher


@dataclass(frozen=True)
class Deps:
    """What handlers need besides the transaction."""

    cipher: Cipher
    cache: Cache = field(default_factory=Cache)
    """The bus's one cache (rule sets per hospital, through ``rules.repo.cached_rules``)."""
    rng: random.Random = field(default_factory=random.SystemRandom)
    """Where release draws (公平放号) get their lots: the system's entropy in production,
    a seeded ``random.Random`` in tests (``BookingServices(rng=...)``)."""
