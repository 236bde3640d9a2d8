"""Reads of the message log (短信记录), opt-outs and the answer to an inbound text."""

from __future__ import annotations

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.unit import Row, Tx, Unit, from_epoch, one, rows
from .model import MessageKind, MessageRecord, MessageStatus


def messages(
    tx: Tx,
    actor: Actor,
    *,
    booking_no: str | None = None,
    phone_index: str | None = None,
    direction: str | None = None,
    limit: int = 100,
) -> Unit[list[MessageRecord]]:
    """The message log, newest first (a hospital operator sees their hospital's only)."""
    where, args = tenancy.scope(actor, "hospital_id")
    where.append("1 = 1")
    if booking_no:
        where.append("booking_no = ?")
        args.append(booking_no)
    if phone_index:
        where.append("phone_index = ?")
        args.append(phone_index)
    if direction:
        where.append("direction = ?")
        args.append(direction)
    found = yield rows(
        f"SELECT * FROM messages WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        *args,
        limit,
    )
    return [_record(r) for r in found]


def _record(r: Row) -> MessageRecord:
    return MessageRecord(
        id=r["id"],
        direction=r["direction"],
        gateway=r["gateway"],
        phone_masked=r["phone_masked"],
        body=r["body"],
        kind=MessageKind(r["kind"]),
        status=MessageStatus(r["status"]),
        attempts=r["attempts"],
        parts=r["parts"],
        booking_no=r["booking_no"],
        provider_id=r["provider_id"],
        error=r["error"],
        created_at=from_epoch(r["created_at"]),
    )


def inbound_reply(tx: Tx, message_id: int) -> Unit[str | None]:
    """The reply stored for a received message (None: not answered yet)."""
    row = yield one("SELECT reply FROM messages WHERE id = ?", message_id)
    return row["reply"] if row else None
