"""The ledger (its one writer) and prepaid top-ups (预交金).

Doors import this package, never its modules: ``from booking_core import payments``."""

from .commands import TopUp

__all__ = ["TopUp"]
