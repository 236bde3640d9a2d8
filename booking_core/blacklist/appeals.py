"""Appeals against a ban (申诉): filed by the patient's text or an agent at the desk,
decided by an administrator (granted: the ban is lifted; rejected: it stands, with the
answer). Each step has its event (the patient is texted the decision) and audit row."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..events.audit import AuditAction
from ..events.model import AppealDecided, AppealFiled
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import (
    AppealPending,
    InvalidInput,
    InvalidState,
    NoBanToAppeal,
    NotFound,
)
from ..kernel.unit import Row, Tx, UniqueViolation, Unit, execute, from_epoch, one, val
from ..patients.repo import patient_by_id
from .bans import lift_entry
from .commands import DecideAppeal, FileAppeal
from .model import Appeal, AppealStatus
from .repo import active_ban

MAX_APPEAL_WORDS = 200  # what a text or a desk note holds; the admin reads it at a glance


def appeal_from(row: Row) -> Appeal:
    return Appeal(
        id=row["id"],
        hospital_id=row["hospital_id"],
        ban_id=row["ban_id"],
        patient_id=row["patient_id"],
        reason=row["reason"],
        channel=row["channel"],
        filed_by=row["filed_by"],
        filed_at=from_epoch(row["filed_at"]),
        status=AppealStatus(row["status"]),
        decided_at=from_epoch(row["decided_at"]),
        decided_by=row["decided_by"],
        answer=row["answer"],
    )


def _words(text: str, field: str, *, required: bool) -> str:
    words = " ".join(text.split())
    if required and not words:
        raise InvalidInput(field, "say why")
    if len(words) > MAX_APPEAL_WORDS:
        raise InvalidInput(field, f"at most {MAX_APPEAL_WORDS} characters")
    return words


def _zone_of(hospital_id: int) -> Unit[str]:
    tz: str = yield val("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
    return tz


def file_appeal(tx: Tx, cmd: FileAppeal, deps: Deps) -> Unit[Appeal]:
    patient = yield from patient_by_id(cmd.patient_id, lock=True)  # one appeal at a time
    tenancy.check(cmd.actor, patient["hospital_id"], "patient", cmd.patient_id)
    reason = _words(cmd.reason, "reason", required=True)
    ban = yield from active_ban(cmd.patient_id, patient["hospital_id"], tx.epoch)
    if ban is None:
        raise NoBanToAppeal(patient_id=cmd.patient_id)
    yield from _no_open_appeal(ban.id, patient["hospital_id"])
    tz = yield from _zone_of(patient["hospital_id"])
    try:
        appeal_id = yield val(
            "INSERT INTO appeals (hospital_id, ban_id, patient_id, reason, channel, filed_by, "
            "filed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            patient["hospital_id"],
            ban.id,
            cmd.patient_id,
            reason,
            str(cmd.actor.channel),
            cmd.actor.label,
            tx.epoch,
            str(AppealStatus.OPEN),
        )
    except UniqueViolation as err:  # PostgreSQL: the same ban appealed at this instant
        raise AppealPending(appeal_id=0, filed_at=tx.now.astimezone(ZoneInfo(tz))) from err
    filed = AppealFiled(
        hospital_id=patient["hospital_id"],
        appeal_id=appeal_id,
        entry_id=ban.id,
        patient_id=cmd.patient_id,
        channel=str(cmd.actor.channel),
    )
    tx.emit(filed)
    tx.audit(
        cmd.actor,
        AuditAction.APPEAL_FILED,
        "patient",
        cmd.patient_id,
        hospital_id=patient["hospital_id"],
        after=filed.payload() | {"reason": reason},
    )
    row = yield one("SELECT * FROM appeals WHERE id = ?", appeal_id)
    return appeal_from(row)


def _no_open_appeal(ban_id: int, hospital_id: int) -> Unit[None]:
    open_one = yield one(
        "SELECT id, filed_at FROM appeals WHERE ban_id = ? AND status = ?",
        ban_id,
        str(AppealStatus.OPEN),
    )
    if open_one is not None:
        tz = yield from _zone_of(hospital_id)
        raise AppealPending(
            appeal_id=open_one["id"],
            filed_at=from_epoch(open_one["filed_at"]).astimezone(ZoneInfo(tz)),
        )


def decide_appeal(tx: Tx, cmd: DecideAppeal, deps: Deps) -> Unit[Appeal]:
    row = yield one("SELECT * FROM appeals WHERE id = ?", cmd.appeal_id, lock=True)
    if row is None:
        raise NotFound("appeal", cmd.appeal_id)
    tenancy.check(cmd.actor, row["hospital_id"], "appeal", cmd.appeal_id)
    ban = yield one("SELECT * FROM blacklist WHERE id = ?", row["ban_id"])
    if ban["hospital_id"] is None:  # a platform-wide ban is the platform's to lift
        tenancy.check(cmd.actor, None, "appeal", cmd.appeal_id, forbidden="decide_platform_appeal")
    if row["status"] != AppealStatus.OPEN:
        raise InvalidState(status=row["status"], action="decide")
    answer = _words(cmd.answer, "answer", required=not cmd.grant)
    status = AppealStatus.GRANTED if cmd.grant else AppealStatus.REJECTED
    if cmd.grant:
        yield from lift_entry(tx, ban, row["hospital_id"], cmd.actor)
    yield execute(
        "UPDATE appeals SET status = ?, decided_at = ?, decided_by = ?, answer = ? WHERE id = ?",
        str(status),
        tx.epoch,
        cmd.actor.label,
        answer,
        cmd.appeal_id,
    )
    tz = yield from _zone_of(row["hospital_id"])
    decided = AppealDecided(
        hospital_id=row["hospital_id"],
        appeal_id=cmd.appeal_id,
        entry_id=ban["id"],
        patient_id=row["patient_id"],
        granted=cmd.grant,
        answer=answer,
        until=from_epoch(ban["ends_at"]).astimezone(ZoneInfo(tz)),
    )
    tx.emit(decided)
    tx.audit(
        cmd.actor,
        AuditAction.APPEAL_DECIDED,
        "patient",
        row["patient_id"],
        hospital_id=row["hospital_id"],
        before={"status": row["status"]},
        after=decided.payload(),
    )
    row = yield one("SELECT * FROM appeals WHERE id = ?", cmd.appeal_id)
    return appeal_from(row)
