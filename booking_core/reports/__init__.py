"""Read-only counts for the back office and the audit log (报表、审计).

Doors import this package, never its modules: ``from booking_core import reports``."""

from .agents import NOT_WRAPPED, agent_workload, call_dispositions
from .queries import (
    AGENT_STATES,
    SERVICE_LEVEL_SECONDS,
    Wallboard,
    agents_by_state,
    audit_log,
    report,
    wallboard,
)

__all__ = [
    "AGENT_STATES",
    "NOT_WRAPPED",
    "SERVICE_LEVEL_SECONDS",
    "Wallboard",
    "agent_workload",
    "agents_by_state",
    "audit_log",
    "call_dispositions",
    "report",
    "wallboard",
]
