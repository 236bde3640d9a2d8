"""The audit log's upkeep: records are kept a year (configurable), then deleted."""

from __future__ import annotations

from datetime import timedelta

from ..kernel.deps import Deps
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, execute, to_epoch
from .commands import PurgeAudit

LOGIN_ATTEMPTS_KEEP_DAYS = 30  # the lockout looks back a day; each attempt is audited anyway


def purge_audit(tx: Tx, cmd: PurgeAudit, deps: Deps) -> Unit[int]:
    """Audit records are kept a year (configurable), then deleted; the console's log-in
    attempts (what the lockout counts) a month. Returns the audit records deleted."""
    cutoff = to_epoch(tx.now - timedelta(days=cmd.older_than_days))
    attempts_cutoff = to_epoch(tx.now - timedelta(days=LOGIN_ATTEMPTS_KEEP_DAYS))
    yield execute("DELETE FROM login_attempts WHERE at < ?", attempts_cutoff)
    return (yield execute("DELETE FROM audit WHERE at < ?", cutoff))


HANDLERS = handler_table(
    on(PurgeAudit, purge_audit),
)
