"""The ledger (账本): every money movement is one row, written only here.

A movement with a ``reference`` (a cashier's receipt, a bank or terminal transaction, the
booking a refund is for) moves money once: the unique index ``ledger_reference`` on
(hospital, kind, reference) holds one row per reference, and :func:`record_movement`
inserts with ``ON CONFLICT DO NOTHING``, so a second movement under a reference (sent again
by a client that did not hear the answer, or racing the first) is told it was already
applied instead of moving money again. A PostgreSQL insert that meets a concurrent,
uncommitted row of the same reference waits for it, then does nothing if it committed.
"""

from __future__ import annotations

from typing import Any

from ..kernel.actor import Actor
from ..kernel.unit import Tx, Unit, one, val

_COLUMNS = "hospital_id, patient_id, booking_id, kind, method, amount, reference, actor, created_at"


def movement_by_reference(hospital_id: int, kind: str, reference: str) -> Unit[Any]:
    """The row already recorded under ``reference`` (patient_id, booking_id, method,
    amount), or None."""
    return (
        yield one(
            "SELECT id, patient_id, booking_id, method, amount FROM ledger "
            "WHERE hospital_id = ? AND kind = ? AND reference = ?",
            hospital_id,
            kind,
            reference,
        )
    )


def record_movement(
    tx: Tx,
    *,
    hospital_id: int,
    patient_id: int,
    booking_id: int | None,
    kind: str,
    method: str,
    amount: int,
    reference: str | None,
    actor: Actor,
) -> Unit[int | None]:
    """The new row's id; None when ``reference`` already has a row of this kind (nothing
    was written: the caller must not move the money)."""
    args = (hospital_id, patient_id, booking_id, kind, method, amount, reference, actor.label)
    if reference is None:
        return (
            yield val(
                f"INSERT INTO ledger ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                *args,
                tx.epoch,
            )
        )
    return (
        yield val(
            f"INSERT INTO ledger ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING id",
            *args,
            tx.epoch,
        )
    )
