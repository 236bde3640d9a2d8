"""API tokens listed and revoked (created in :mod:`.handlers`): a hospital's administrator
sees and revokes its hospital's tokens only; a platform token is the platform's."""

from __future__ import annotations

from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.deps import Deps
from ..kernel.errors import NotFound
from ..kernel.unit import MAX_ROWS, Row, Tx, Unit, execute, from_epoch, one, rows
from .commands import RevokeToken
from .model import ApiToken

TOKEN_SQL = (
    "SELECT t.id, t.name, t.role, t.hospital_id, t.created_at, t.revoked_at, "
    "h.code AS hospital_code FROM api_tokens t LEFT JOIN hospitals h ON h.id = t.hospital_id"
)


def token_from(row: Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        hospital_id=row["hospital_id"],
        hospital_code=row["hospital_code"],
        created_at=from_epoch(row["created_at"]),
        revoked_at=from_epoch(row["revoked_at"]),
    )


def list_tokens(
    tx: Tx,
    actor: Actor,
    *,
    hospital_code: str | None = None,
    include_revoked: bool = False,
    after: int | None = None,
    limit: int = MAX_ROWS,
) -> Unit[list[ApiToken]]:
    """API tokens by id (of the named hospital, else all the actor may see; a hospital's
    actor never sees a platform token); ``after`` the id of the last of the page before."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "t.hospital_id", named)
    if not include_revoked:
        where.append("t.revoked_at IS NULL")
    if after is not None:
        where.append("t.id > ?")
        args.append(after)
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(TOKEN_SQL + clause + " ORDER BY t.id LIMIT ?", *args, min(limit, MAX_ROWS))
    return [token_from(r) for r in found]


def revoke_token(tx: Tx, cmd: RevokeToken, deps: Deps) -> Unit[ApiToken]:
    row = yield one(TOKEN_SQL + " WHERE t.id = ?", cmd.token_id)
    if row is None:
        raise NotFound("api_token", cmd.token_id)
    # a hospital's actor does not see a platform token (nor another hospital's): not found
    tenancy.check(cmd.actor, row["hospital_id"], "api_token", cmd.token_id)
    if row["revoked_at"] is None:
        yield execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            tx.epoch,
            cmd.token_id,
        )
        tx.audit(
            cmd.actor,
            AuditAction.TOKEN_REVOKE,
            "api_token",
            cmd.token_id,
            hospital_id=row["hospital_id"],
            after={"name": row["name"], "role": row["role"]},
        )
        row = yield one(TOKEN_SQL + " WHERE t.id = ?", cmd.token_id)
    return token_from(row)
