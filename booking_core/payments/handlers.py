"""Top-ups of the prepaid balance (预交金充值): one ledger row per reference."""

from __future__ import annotations

from ..events.audit import AuditAction
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import IdempotencyKeyReused, InvalidInput, NotFound
from ..kernel.registry import handler_table, on
from ..kernel.unit import Row, Tx, Unit, execute, one
from ..patients.model import Patient
from ..patients.repo import PATIENT_COLUMNS, patient_from
from .commands import TopUp
from .repo import movement_by_reference, record_movement


def top_up(tx: Tx, cmd: TopUp, deps: Deps) -> Unit[Patient]:
    """Credit the balance. The same top-up sent again under its ``reference`` (same
    patient, amount and method) credits nothing and answers as the first did: the patient
    as they stand; the reference reused for a different top-up is refused."""
    if cmd.amount <= 0:
        raise InvalidInput("amount", "a positive number of fen")
    row = yield one(
        f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", cmd.patient_id, lock=True
    )
    if row is None:
        raise NotFound("patient", cmd.patient_id)
    tenancy.check(cmd.actor, row["hospital_id"], "patient", cmd.patient_id)
    if cmd.reference is not None:
        # after the patient's lock: a retry that waited for the first sees its row
        prior = yield from movement_by_reference(row["hospital_id"], "top_up", cmd.reference)
        if prior is not None:
            return (yield from _top_up_replayed(cmd, prior))
    recorded = yield from record_movement(
        tx,
        hospital_id=row["hospital_id"],
        patient_id=cmd.patient_id,
        booking_id=None,
        kind="top_up",
        method=cmd.method,
        amount=cmd.amount,
        reference=cmd.reference,
        actor=cmd.actor,
    )
    if recorded is None:  # another top-up under this reference committed meanwhile
        assert cmd.reference is not None
        prior = yield from movement_by_reference(row["hospital_id"], "top_up", cmd.reference)
        return (yield from _top_up_replayed(cmd, prior))
    yield execute(
        "UPDATE patients SET balance = balance + ?, updated_at = ? WHERE id = ?",
        cmd.amount,
        tx.epoch,
        cmd.patient_id,
    )
    tx.audit(
        cmd.actor,
        AuditAction.PATIENT_TOP_UP,
        "patient",
        cmd.patient_id,
        hospital_id=row["hospital_id"],
        before={"balance": row["balance"]},
        after={"balance": row["balance"] + cmd.amount},
    )
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", cmd.patient_id)
    return patient_from(row)


def _top_up_replayed(cmd: TopUp, prior: Row) -> Unit[Patient]:
    """Already applied: the patient as they stand, if ``prior`` is this very top-up."""
    same = (prior["patient_id"], prior["amount"], prior["method"]) == (
        cmd.patient_id,
        cmd.amount,
        cmd.method,
    )
    if not same:
        raise IdempotencyKeyReused(key=cmd.reference or "")
    row = yield one(f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", cmd.patient_id)
    return patient_from(row)


HANDLERS = handler_table(
    on(TopUp, top_up),
)
