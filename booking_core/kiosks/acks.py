"""A job's life after it is made: published (sent, and sent again), and its one
acknowledgement, recorded and acted on in one transaction (docs/kiosk-protocol.md)."""

from __future__ import annotations

from typing import Any

from ..bookings.admission import booking_fields
from ..bookings.repo import view_by_id
from ..events.model import KioskJobAcked, TicketPrinted
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, NotFound
from ..kernel.unit import Row, Tx, Unit, dumps, execute
from .commands import MarkJobSent, RecordJobAck
from .model import AckOutcome, JobAcked, JobKind, JobResult, JobStatus, Kiosk, KioskJob
from .money import settle_charge
from .repo import job_by_id, locked_job, seen_kiosk

REASON_MAX = 64
MESSAGE_MAX = 300  # the protocol's: a technician's line, the bank's words for a decline
DETAIL_MAX = 2000  # characters of JSON; a kiosk's detail is a handful of fields
TERMINAL_REF_MAX = 64

SENT_AGAIN = (JobKind.REVERSAL, JobKind.REFUND)
"""Kinds whose failure with an unknown outcome is sent again under the same id (the kiosk
asks the terminal again with the same request id: money goes back once)."""


def mark_job_sent(tx: Tx, cmd: MarkJobSent, deps: Deps) -> Unit[KioskJob]:
    row = yield from locked_job(cmd.job_id)
    if row is None:
        raise NotFound("kiosk_job", cmd.job_id)
    tenancy.check(cmd.actor, row["hospital_id"], "kiosk_job", cmd.job_id)
    if JobStatus(row["status"]).open:
        yield execute(
            "UPDATE kiosk_jobs SET status = 'sent', sent_at = ?, attempts = attempts + 1 "
            "WHERE id = ?",
            tx.epoch,
            row["id"],
        )
    return (yield from job_by_id(cmd.job_id))


def _detail(detail: Any) -> dict[str, Any]:
    problem = InvalidInput("detail", f"an object of at most {DETAIL_MAX} characters of JSON")
    if not isinstance(detail, dict):
        raise problem
    try:
        size = len(dumps(detail))
    except TypeError:  # what JSON cannot store: an integer beyond 64 bits, …
        raise problem from None
    if size > DETAIL_MAX:
        raise problem
    return detail


MAX_CHARGE_FEN = 100_000_000
"""A million yuan: more than any fee or top-up a kiosk asks for (a sum the terminal took
other than the job's is reversed), and far inside the store's 64-bit integers; a bigger
one is no terminal's answer."""


def _charged(row: Row, detail: dict[str, Any]) -> tuple[str, int]:
    """A done charge's terminal reference and the amount it took (the job's, if unsaid)."""
    reference, amount = detail.get("terminal_ref"), detail.get("amount", row["amount"])
    if not isinstance(reference, str) or not 1 <= len(reference.strip()) <= TERMINAL_REF_MAX:
        raise InvalidInput("detail", "a charge acked done names its terminal_ref")
    if type(amount) is not int or not 0 < amount <= MAX_CHARGE_FEN:
        raise InvalidInput("detail", f"a charge's amount is 1 to {MAX_CHARGE_FEN} fen")
    return reference.strip(), amount


def record_job_ack(tx: Tx, cmd: RecordJobAck, deps: Deps) -> Unit[JobAcked]:
    """Record the first ack of the job and act on it; a repeat changes nothing. A disabled
    kiosk's ack is still recorded: money its terminal took is applied or reversed."""
    kiosk = yield from seen_kiosk(cmd.actor, cmd.kiosk_id)
    row = yield from locked_job(cmd.job_id)
    if row is None or row["kiosk_id"] != kiosk.kiosk_id:  # another kiosk's is not its to ack
        raise NotFound("kiosk_job", cmd.job_id)
    if cmd.outcome not in AckOutcome._value2member_map_:
        raise InvalidInput("outcome", "done or failed")
    outcome = AckOutcome(cmd.outcome)
    if not JobStatus(row["status"]).open:  # acked before: the first ack stands
        return JobAcked((yield from job_by_id(cmd.job_id)), first=False)
    kind = JobKind(row["kind"])
    detail = _detail(cmd.detail)
    reason = "" if outcome is AckOutcome.DONE else " ".join(cmd.reason.split())[:REASON_MAX]
    message = " ".join(cmd.message.split())[:MESSAGE_MAX]
    again = (
        outcome is AckOutcome.FAILED
        and kind in SENT_AGAIN
        and detail.get("outcome_unknown") is True
    )
    charged = (
        _charged(row, detail) if (kind, outcome) == (JobKind.CHARGE, AckOutcome.DONE) else None
    )
    if again:  # back in the queue under its id; the re-send sweep publishes it again
        status, acked_at = JobStatus.QUEUED, None
    else:
        status = JobStatus.DONE if outcome is AckOutcome.DONE else JobStatus.FAILED
        acked_at = tx.epoch
    yield execute(
        "UPDATE kiosk_jobs SET status = ?, reason = ?, message = ?, detail = ?, acked_at = ?, "
        "terminal_ref = coalesce(?, terminal_ref) WHERE id = ?",
        str(status),
        reason,
        message,
        dumps(detail),
        acked_at,
        charged[0] if charged else None,
        row["id"],
    )
    queued: tuple[KioskJob, ...] = ()
    if status is JobStatus.DONE:
        if charged is not None:
            queued = yield from settle_charge(tx, kiosk, row, *charged, deps)
        elif kind is JobKind.PRINT_TICKET and row["booking_id"] is not None:
            yield from _ticket_printed(tx, kiosk, row)
        elif kind in SENT_AGAIN:
            result = JobResult.REVERSED if kind is JobKind.REVERSAL else JobResult.REFUNDED
            yield execute("UPDATE kiosk_jobs SET result = ? WHERE id = ?", str(result), row["id"])
    job = yield from job_by_id(cmd.job_id)
    tx.emit(
        KioskJobAcked(
            hospital_id=kiosk.hospital_id,
            kiosk_id=kiosk.kiosk_id,
            job_id=cmd.job_id,
            kind=str(kind),
            outcome=str(outcome),
            reason=reason,
            booking_no=job.booking_no,
            requeued=again,
        )
    )
    return JobAcked(job, first=True, queued=queued)


def _ticket_printed(tx: Tx, kiosk: Kiosk, row: Row) -> Unit[None]:
    """The ticket is in the patient's hand: the booking says when (a reprint moves it on)."""
    yield execute(
        "UPDATE bookings SET ticket_printed_at = ?, updated_at = ? WHERE id = ?",
        tx.epoch,
        tx.epoch,
        row["booking_id"],
    )
    view = yield from view_by_id(row["booking_id"])
    tx.emit(TicketPrinted(**booking_fields(view), kiosk_id=kiosk.kiosk_id, job_id=row["job_id"]))
