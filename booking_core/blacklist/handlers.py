"""Bans (黑名单): entered by an admin or the HIS, imported from a file in one unit, put on
by the no-show rule (爽约), lifted; the HIS's whole list replaced (:mod:`.his_sync`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.deps import Deps
from ..kernel.errors import BookingError, InvalidInput, NotFound
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, one, rows, val
from ..patients.queries import patient_by_card
from ..patients.repo import patient_by_id
from ..rules.checks import ban_end
from ..rules.model import RuleKey
from ..rules.repo import cached_rules
from .appeals import decide_appeal, file_appeal
from .bans import PlannedBan, check_ban, insert_ban, lift_entry, same_ban_exists
from .commands import (
    AddToBlacklist,
    DecideAppeal,
    FileAppeal,
    ImportBlacklist,
    LiftBan,
    ReplaceHisBlacklist,
)
from .his_sync import replace_his_blacklist
from .model import BanSource, BlacklistEntry, BlacklistImport, LineRefused
from .repo import active_ban, blacklist_from


def add_to_blacklist(tx: Tx, cmd: AddToBlacklist, deps: Deps) -> Unit[BlacklistEntry]:
    ban = yield from check_ban(tx, cmd)
    entry_id = yield from insert_ban(tx, ban, cmd.actor)
    row = yield one("SELECT * FROM blacklist WHERE id = ?", entry_id)
    return blacklist_from(row)


def lift_ban(tx: Tx, cmd: LiftBan, deps: Deps) -> Unit[BlacklistEntry]:
    row = yield one(
        "SELECT bl.*, p.hospital_id AS patient_hospital FROM blacklist bl "
        "JOIN patients p ON p.id = bl.patient_id WHERE bl.id = ?",
        cmd.entry_id,
    )
    if row is None:
        raise NotFound("blacklist_entry", cmd.entry_id)
    tenancy.check(cmd.actor, row["patient_hospital"], "blacklist_entry", cmd.entry_id)
    if row["hospital_id"] is None:  # a platform-wide ban is the platform's row
        tenancy.check(cmd.actor, None, "ban", cmd.entry_id, forbidden="lift_platform_ban")
    yield from lift_entry(tx, row, row["patient_hospital"], cmd.actor)
    row = yield one("SELECT * FROM blacklist WHERE id = ?", cmd.entry_id)
    return blacklist_from(row)


MAX_BAN_LINES = 5_000  # a file a person checks by eye; one unit of work still quick


def _ban_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("until", "a date like 2026-07-10") from None


def import_blacklist(tx: Tx, cmd: ImportBlacklist, deps: Deps) -> Unit[BlacklistImport]:
    if len(cmd.lines) > MAX_BAN_LINES:
        raise InvalidInput("file", f"at most {MAX_BAN_LINES} lines")
    checked = []
    refused: list[LineRefused] = []
    for line in cmd.lines:
        try:
            until = _ban_day(line.until)
            patient_id = yield from patient_by_card(tx, cmd.actor, cmd.hospital_code, line.card_no)
            ban = yield from check_ban(
                tx,
                AddToBlacklist(
                    patient_id=patient_id, until=until, reason=line.reason, actor=cmd.actor
                ),
            )
        except BookingError as err:  # checks only: nothing of this line was written
            params = {k: str(v) for k, v in err.params.items()}
            refused.append(LineRefused(line.line, err.code, params))
            continue
        checked.append((line.line, ban))
    if checked and not refused and not cmd.check_only:
        # the patients' rows locked in id order (PostgreSQL; SQLite's writes are serial):
        # the same file imported twice at once adds each ban once, and cannot deadlock
        ids = sorted({ban.patient_id for _, ban in checked})
        marks = ", ".join("?" * len(ids))
        yield rows(f"SELECT id FROM patients WHERE id IN ({marks}) ORDER BY id", *ids, lock=True)
    planned = []
    skipped: list[int] = []
    seen: set[tuple[int, int | None, datetime]] = set()
    for number, ban in checked:
        key = (ban.patient_id, ban.hospital_id, ban.ends_at)
        if key in seen or (yield from same_ban_exists(tx, ban)):
            skipped.append(number)
            continue
        seen.add(key)
        planned.append(ban)
    if refused or cmd.check_only:
        return BlacklistImport(added=(), skipped=tuple(skipped), refused=tuple(refused))
    added = []
    for ban in planned:
        added.append((yield from insert_ban(tx, ban, cmd.actor)))
    return BlacklistImport(added=tuple(added), skipped=tuple(skipped), refused=())


def apply_no_show_rule(
    tx: Tx, patient_id: int, hospital_id: int, actor: Actor, deps: Deps
) -> Unit[bool]:
    """N no-shows within the period put the patient on this hospital's blacklist.

    The period is counted back from the end of the latest missed session, not from
    the sweep, so a sweep that runs late (or after an outage) bans exactly as an
    on-time one would have."""
    rules = yield from cached_rules(deps.cache, hospital_id)
    threshold = rules.limit(RuleKey.NO_SHOW_BLACKLIST)
    if not threshold:
        return False
    period = rules.rule(RuleKey.NO_SHOW_BLACKLIST).period or timedelta(days=90)
    missed = (
        "FROM bookings b JOIN sessions se ON se.id = b.session_id "
        "WHERE b.patient_id = ? AND b.hospital_id = ? AND b.status = 'no_show'"
    )
    latest = yield val(f"SELECT max(se.ends_at) {missed}", patient_id, hospital_id)
    count = yield val(
        f"SELECT count(*) {missed} AND se.ends_at >= ?",
        patient_id,
        hospital_id,
        latest - int(period.total_seconds()),
    )
    if count < threshold:
        return False
    yield from patient_by_id(patient_id, lock=True)  # two engines' sweeps: one ban, not two
    if (yield from active_ban(patient_id, hospital_id, tx.epoch)) is not None:
        return False
    tz_name = yield val("SELECT timezone FROM hospitals WHERE id = ?", hospital_id)
    ends_at = ban_end(tx.now, rules, ZoneInfo(tz_name))
    reason = f"{count} no-shows within {period.days} days"
    ban = PlannedBan(patient_id, hospital_id, hospital_id, reason, BanSource.NO_SHOW, ends_at)
    yield from insert_ban(tx, ban, actor)
    return True


HANDLERS = handler_table(
    on(AddToBlacklist, add_to_blacklist),
    on(LiftBan, lift_ban),
    on(ImportBlacklist, import_blacklist),
    on(ReplaceHisBlacklist, replace_his_blacklist),
    on(FileAppeal, file_appeal),
    on(DecideAppeal, decide_appeal),
)
