"""What happened, for whoever must hear of it: the outbox and audit (事件、发件箱).

Doors import this package, never its modules: ``from booking_core import events``."""

from .commands import PurgeAudit
from .model import OutboxEvent

__all__ = ["OutboxEvent", "PurgeAudit"]
