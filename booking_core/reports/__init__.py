"""Read-only counts for the back office and the audit log (报表、审计).

Doors import this package, never its modules: ``from booking_core import reports``."""

from .agents import NOT_WRAPPED, agent_workload, call_dispositions
from .queries import audit_log, report

__all__ = ["NOT_WRAPPED", "agent_workload", "audit_log", "call_dispositions", "report"]
