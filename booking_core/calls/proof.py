"""Who a caller may act for (来电身份核验): "my bookings" on the phone are read and
cancelled only for a patient whose phone is the caller ID, or after a code texted to the
patient's phone was typed on this call; card and ID numbers looked up per caller ID are
capped per hour (rule ``ivr_lookups_per_hour``).

A code is 6 random digits; only a keyed hash of it is stored, with the call that asked for
it (no other call may use it), for ``CODE_MINUTES``; three wrong tries spend it. A phone
gets at most ``sms_codes_per_minute`` codes a minute, whichever call asks.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..events.model import CallCodeIssued
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import LimitReached, NotFound
from ..kernel.identity import mask_phone
from ..kernel.unit import Tx, Unit, execute, one, rows, val
from ..rules.model import RuleKey
from ..rules.repo import cached_rules
from .commands import CheckCallCode, CountCallLookup, SendCallCode
from .model import CodeCheck, CodeSent, CodeStatus

CODE_DIGITS = 6

CODE_MINUTES = 5  # long enough to read a text and type it; short enough to be useless later

CODE_TRIES = 3  # wrong tries before a code is spent (a new one costs a minute and a look-up)

WITHHELD = "withheld"  # the count a call without caller ID shares with every such call


def _call(call_sid: str) -> Unit[Any]:
    row = yield one("SELECT id, hospital_id, caller_index FROM calls WHERE call_sid = ?", call_sid)
    if row is None:
        raise NotFound("call", call_sid)
    return row


def count_call_lookup(tx: Tx, cmd: CountCallLookup, deps: Deps) -> Unit[int]:
    call = yield from _call(cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    rules = yield from cached_rules(deps.cache, call["hospital_id"])
    limit = rules.limit(RuleKey.IVR_LOOKUPS_PER_HOUR)
    if limit is None:
        return 0
    lookups = yield val(  # one statement: two calls at once cannot both be the last one
        "INSERT INTO call_lookups (hospital_id, caller_index, hour, lookups) "
        "VALUES (?, ?, ?, 1) ON CONFLICT (hospital_id, caller_index, hour) "
        "DO UPDATE SET lookups = call_lookups.lookups + 1 RETURNING lookups",
        call["hospital_id"],
        call["caller_index"] or WITHHELD,
        tx.epoch // 3600,
    )
    if lookups > limit:  # raising rolls the count back: it stays at the limit
        raise LimitReached(RuleKey.IVR_LOOKUPS_PER_HOUR.value, limit)
    return lookups


def _code_index(deps: Deps, call_sid: str, patient_id: int, code: str) -> str:
    return deps.cipher.blind_index(f"{call_sid}\x00{patient_id}\x00{code}", context="call_code")


def send_call_code(tx: Tx, cmd: SendCallCode, deps: Deps) -> Unit[CodeSent]:
    call = yield from _call(cmd.call_sid)
    tenancy.check(cmd.actor, call["hospital_id"], "call", cmd.call_sid)
    patient = yield one(
        "SELECT id, hospital_id, phone_enc, phone_index FROM patients WHERE id = ?",
        cmd.patient_id,
    )
    if patient is None:
        raise NotFound("patient", str(cmd.patient_id))
    tenancy.check(cmd.actor, patient["hospital_id"], "patient", str(cmd.patient_id))
    if call["caller_index"] and call["caller_index"] == patient["phone_index"]:
        return CodeSent(CodeStatus.CALLER)
    if not patient["phone_enc"]:
        return CodeSent(CodeStatus.NO_PHONE)
    masked = mask_phone(deps.cipher.decrypt(patient["phone_enc"], context="phone"))
    rules = yield from cached_rules(deps.cache, call["hospital_id"])
    per_minute = rules.limit(RuleKey.SMS_CODES_PER_MINUTE)
    if per_minute is not None:
        recent = yield val(
            "SELECT count(*) FROM call_codes WHERE phone_index = ? AND sent_at > ?",
            patient["phone_index"],
            tx.epoch - 60,
        )
        if recent >= per_minute:
            return CodeSent(CodeStatus.RECENT, masked)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    yield execute(
        "INSERT INTO call_codes (hospital_id, patient_id, phone_index, call_sid, code_index, "
        "sent_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        call["hospital_id"],
        patient["id"],
        patient["phone_index"],
        cmd.call_sid,
        _code_index(deps, cmd.call_sid, patient["id"], code),
        tx.epoch,
        tx.epoch + CODE_MINUTES * 60,
    )
    tx.emit(  # texted by the notifier; the code itself only encrypted, for it alone
        CallCodeIssued(
            hospital_id=call["hospital_id"],
            call_sid=cmd.call_sid,
            phone_enc=patient["phone_enc"],
            code_enc=deps.cipher.encrypt(code, context="call_code"),
            minutes=CODE_MINUTES,
            lang=cmd.lang,
        )
    )
    return CodeSent(CodeStatus.SENT, masked)


def check_call_code(tx: Tx, cmd: CheckCallCode, deps: Deps) -> Unit[CodeCheck]:
    """Wrong tries are counted (never raised: a refusal would roll the count back).
    Another hospital's call has no codes to check, as a call that asked for none."""
    where, args = tenancy.scope(cmd.actor, "hospital_id")
    mine = "".join(" AND " + clause for clause in where)
    found = yield rows(
        "SELECT id, code_index, tries FROM call_codes WHERE call_sid = ? AND patient_id = ? "
        f"AND verified_at IS NULL AND expires_at > ? AND tries < ?{mine} ORDER BY id DESC",
        cmd.call_sid,
        cmd.patient_id,
        tx.epoch,
        CODE_TRIES,
        *args,
    )
    if not found:
        return CodeCheck.SPENT
    typed = _code_index(deps, cmd.call_sid, cmd.patient_id, cmd.code)
    for row in found:
        if secrets.compare_digest(row["code_index"], typed):
            yield execute("UPDATE call_codes SET verified_at = ? WHERE id = ?", tx.epoch, row["id"])
            return CodeCheck.OK
    yield execute(
        "UPDATE call_codes SET tries = tries + 1 WHERE call_sid = ? AND patient_id = ? "
        "AND verified_at IS NULL",
        cmd.call_sid,
        cmd.patient_id,
    )
    if all(row["tries"] + 1 >= CODE_TRIES for row in found):
        return CodeCheck.SPENT
    return CodeCheck.WRONG
