"""Kiosk rows, device rows and job rows, and the one way a job is made (:func:`queue_job`:
the row and its ``kiosk.job_queued`` event, in the caller's transaction)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from ..events.model import KioskJobQueued
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import Forbidden, NotFound
from ..kernel.unit import Row, Tx, Unit, dumps, from_epoch, one, rows, to_epoch, val
from .model import OPEN_SQL, DeviceStatus, JobKind, JobStatus, Kiosk, KioskJob

ID_ATTEMPTS = 5  # a clash in 4e9 kiosk ids (or 1.8e19 job ids) is rare; five in a row is a bug

KIOSK_SQL = (
    "SELECT k.id, k.hospital_id, h.code AS hospital_code, k.name, k.location, k.disabled_at, "
    "k.online, k.status_since, k.status_reason, k.created_at "
    "FROM kiosks k JOIN hospitals h ON h.id = k.hospital_id"
)


def new_kiosk_id() -> str:
    """``k`` and 8 lower-case hex digits: a user name safe in a topic and a broker ACL."""
    return "k" + secrets.token_hex(4)


def new_job_id() -> str:
    """``J`` and 16 hex digits: unguessable, and within the protocol's job id characters."""
    return "J" + secrets.token_hex(8)


def kiosk_from(row: Row) -> Kiosk:
    online = row["online"]
    return Kiosk(
        kiosk_id=row["id"],
        hospital_id=row["hospital_id"],
        hospital_code=row["hospital_code"],
        name=row["name"],
        location=row["location"],
        disabled=row["disabled_at"] is not None,
        online=None if online is None else bool(online),
        since=from_epoch(row["status_since"]),
        reason=row["status_reason"],
        created_at=from_epoch(row["created_at"]),
    )


def kiosk_by_id(kiosk_id: str, *, lock: bool = False) -> Unit[Kiosk]:
    if lock:  # the kiosk's row alone (a join would lock the hospital too)
        yield one("SELECT id FROM kiosks WHERE id = ?", kiosk_id, lock=True)
    row = yield one(KIOSK_SQL + " WHERE k.id = ?", kiosk_id)
    if row is None:
        raise NotFound("kiosk", kiosk_id)
    return kiosk_from(row)


def seen_kiosk(actor: Actor, kiosk_id: str, *, lock: bool = False) -> Unit[Kiosk]:
    """Kiosk ``kiosk_id`` if ``actor`` may see it (another hospital's is not found)."""
    kiosk = yield from kiosk_by_id(kiosk_id, lock=lock)
    tenancy.check(actor, kiosk.hospital_id, "kiosk", kiosk_id)
    return kiosk


def usable_kiosk(actor: Actor, kiosk_id: str) -> Unit[Kiosk]:
    """:func:`seen_kiosk`, refused (``forbidden``, ``kiosk_disabled``) when disabled."""
    kiosk = yield from seen_kiosk(actor, kiosk_id)
    if kiosk.disabled:
        raise Forbidden(action="kiosk_disabled")
    return kiosk


def device_from(row: Row) -> DeviceStatus:
    return DeviceStatus(
        device=row["device"],
        state=row["state"],
        reason=row["reason"],
        since=from_epoch(row["since"]),
        pending_reversals=row["pending_reversals"],
    )


def devices_of(kiosk_id: str) -> Unit[tuple[DeviceStatus, ...]]:
    found = yield rows("SELECT * FROM kiosk_devices WHERE kiosk_id = ? ORDER BY device", kiosk_id)
    return tuple(device_from(r) for r in found)


# --- jobs -----------------------------------------------------------------------------------

JOB_SQL = "SELECT j.*, b.booking_no FROM kiosk_jobs j LEFT JOIN bookings b ON b.id = j.booking_id"


def job_from(row: Row) -> KioskJob:
    return KioskJob(
        job_id=row["job_id"],
        kiosk_id=row["kiosk_id"],
        hospital_id=row["hospital_id"],
        kind=JobKind(row["kind"]),
        payload=json.loads(row["payload"]),
        status=JobStatus(row["status"]),
        created_at=from_epoch(row["created_at"]),
        expires_at=from_epoch(row["expires_at"]),
        booking_no=row["booking_no"],
        amount=row["amount"],
        purpose=row["purpose"],
        terminal_ref=row["terminal_ref"],
        of_job=row["of_job"],
        reason=row["reason"],
        message=row["message"],
        detail=json.loads(row["detail"]) if row["detail"] else {},
        result=row["result"],
        attempts=row["attempts"],
        sent_at=from_epoch(row["sent_at"]),
        acked_at=from_epoch(row["acked_at"]),
    )


def job_by_id(job_id: str) -> Unit[KioskJob]:
    row = yield one(JOB_SQL + " WHERE j.job_id = ?", job_id)
    if row is None:
        raise NotFound("kiosk_job", job_id)
    return job_from(row)


def locked_job(job_id: str) -> Unit[Row | None]:
    """The job's row, locked: two engines recording acks of one job take turns (PostgreSQL;
    SQLite's one writer is serial anyway), so the second sees the first's outcome."""
    return (yield one("SELECT * FROM kiosk_jobs WHERE job_id = ?", job_id, lock=True))


def open_job(where: str, *args: Any) -> Unit[KioskJob | None]:
    """The newest unacknowledged job matching ``where`` (on ``j.``), or None."""
    row = yield one(
        JOB_SQL + f" WHERE j.status IN {OPEN_SQL} AND {where} ORDER BY j.id DESC LIMIT 1",
        *args,
    )
    return None if row is None else job_from(row)


def queue_job(
    tx: Tx,
    kiosk: Kiosk,
    kind: JobKind,
    payload: dict[str, Any],
    *,
    booking: tuple[int, str] | None = None,
    patient_id: int | None = None,
    purpose: str | None = None,
    amount: int | None = None,
    terminal_ref: str | None = None,
    of_job: str | None = None,
    expires_at: datetime | None = None,
) -> Unit[KioskJob]:
    """A new job for ``kiosk`` (``booking``: its id and number), and its
    :class:`~booking_core.events.KioskJobQueued` for the engine's publisher: both in the
    caller's transaction, so a job exists exactly when the change it belongs to does."""
    booking_id, booking_no = booking if booking is not None else (None, None)
    for _ in range(ID_ATTEMPTS):
        job_id = new_job_id()
        made = yield val(
            "INSERT INTO kiosk_jobs (job_id, kiosk_id, hospital_id, kind, payload, booking_id, "
            "patient_id, purpose, amount, terminal_ref, of_job, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            job_id,
            kiosk.kiosk_id,
            kiosk.hospital_id,
            str(kind),
            dumps(payload),
            booking_id,
            patient_id,
            purpose,
            amount,
            terminal_ref,
            of_job,
            tx.epoch,
            None if expires_at is None else to_epoch(expires_at),
        )
        if made is not None:
            break
    else:
        raise RuntimeError("could not draw an unused job id")
    created_at = from_epoch(tx.epoch)
    expires = None if expires_at is None else from_epoch(to_epoch(expires_at))
    tx.emit(
        KioskJobQueued(
            hospital_id=kiosk.hospital_id,
            kiosk_id=kiosk.kiosk_id,
            job_id=job_id,
            kind=str(kind),
            job_payload=payload,
            created_at=created_at,
            expires_at=expires,
        )
    )
    return KioskJob(
        job_id=job_id,
        kiosk_id=kiosk.kiosk_id,
        hospital_id=kiosk.hospital_id,
        kind=kind,
        payload=payload,
        status=JobStatus.QUEUED,
        created_at=created_at,
        expires_at=expires,
        booking_no=booking_no,
        amount=amount,
        purpose=purpose,
        terminal_ref=terminal_ref,
        of_job=of_job,
    )
