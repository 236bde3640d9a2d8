"""Read-only counts for the back office and the audit log (报表、审计).

Doors import this package, never its modules: ``from booking_core import reports``."""

from .queries import audit_log, report

__all__ = ["audit_log", "report"]
