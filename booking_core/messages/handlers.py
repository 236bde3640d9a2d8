"""Handlers for text messages (短信): the message log, opt-outs, reminders, surveys."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..bookings.admission import booking_fields
from ..bookings.repo import view_by_id
from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..events.model import BookingReminderDue
from ..events.outbox import mark_done
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, LimitReached, NotFound, StoreUnavailable
from ..kernel.identity import mask_phone, normalize_phone
from ..kernel.redaction import redact_id_numbers
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, execute, from_epoch, one, rows, val
from ..rules.model import RuleKey
from ..rules.repo import cached_rules
from .commands import (
    AnswerMessage,
    AnswerSurvey,
    ClaimOutgoing,
    CountRegistration,
    KeepUndecodable,
    MarkFailed,
    MarkSent,
    QueueMessages,
    QueueReminders,
    ReceiveMessage,
    SetOptOut,
    UpdateDelivery,
)
from .model import Claimed, InboundClaim, MessageKind, MessageStatus

MAX_BODY_CHARS = 1600  # ten concatenated parts: anything longer is not a text a person wrote

SURVEY_ANSWER_DAYS = 7  # a "3" a week after the survey is not an answer to it

STALE_CLAIM_SECONDS = 60  # far longer than any answer takes (the door gives up after 5 s)

# a delivery report moves a message forward only (Twilio's callbacks may arrive out of order)
_RANK: dict[str, int] = {
    MessageStatus.QUEUED: 0,
    MessageStatus.ACCEPTED: 1,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
}


def canonical_phone(raw: str) -> str:
    """A mainland mobile as 11 digits; anything else (a foreign or short number) as sent."""
    try:
        return normalize_phone(raw)
    except InvalidInput:
        return raw.strip()[:32]


def redact(body: str) -> str:
    """Message bodies are kept for the log: resident ID numbers in them lose all but
    their last 4 characters (``ZC 身份证号 姓名`` carries one), also when typed in
    full-width digits or in groups (see :mod:`booking_core.kernel.redaction`)."""
    return redact_id_numbers(body[:MAX_BODY_CHARS])


def _body_columns(deps: Deps, body: str) -> tuple[str, str | None]:
    """(the log's copy, the text to send encrypted or None): an outgoing text is sent as
    written — a reply may quote what the texter sent — while the log keeps it redacted.
    The encrypted copy is only kept when redaction changed something."""
    logged = redact(body)
    if logged == body:
        return logged, None
    return logged, deps.cipher.encrypt(body[:MAX_BODY_CHARS], context="sms_body")


def _phone_columns(deps: Deps, phone: str) -> tuple[str, str, str]:
    c = deps.cipher
    return (
        c.encrypt(phone, context="phone"),
        c.blind_index(phone, context="phone"),
        mask_phone(phone),
    )


def receive_message(tx: Tx, cmd: ReceiveMessage, deps: Deps) -> Unit[InboundClaim]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    key = f"{cmd.gateway}:{cmd.provider_id}"
    known = yield from _known_inbound(tx, key)
    if known is not None:
        return known
    phone = canonical_phone(cmd.phone)
    enc, index, masked = _phone_columns(deps, phone)
    message_id = yield val(
        "INSERT INTO messages (direction, gateway, hospital_id, idem_key, provider_id, "
        "phone_enc, phone_index, phone_masked, body, kind, status, created_at, updated_at) "
        "VALUES ('in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (direction, idem_key) DO NOTHING RETURNING id",
        cmd.gateway,
        hospital.id,
        key,
        cmd.provider_id,
        enc,
        index,
        masked,
        redact(cmd.body),
        MessageKind.COMMAND,
        MessageStatus.RECEIVED,
        tx.epoch,
        tx.epoch,
    )
    if message_id is None:  # a parallel delivery stored it first (PostgreSQL)
        known = yield from _known_inbound(tx, key)
        if known is None:  # …and was rolled back meanwhile: the gateway delivers it again
            raise StoreUnavailable(reason="a parallel delivery of this text was rolled back")
        return known
    return InboundClaim(won=True, message_id=message_id)


def _known_inbound(tx: Tx, key: str) -> Unit[InboundClaim | None]:
    """A text stored before: its reply; or, when the delivery that stored it has been
    silent for ``STALE_CLAIM_SECONDS`` (its engine died before answering), the claim."""
    known = yield one(
        "SELECT id, reply, updated_at FROM messages WHERE direction = 'in' AND idem_key = ?",
        key,
        lock=True,
    )
    if known is None:
        return None
    if known["reply"] is None and known["updated_at"] <= tx.epoch - STALE_CLAIM_SECONDS:
        yield execute(
            "UPDATE messages SET updated_at = ?, attempts = attempts + 1 WHERE id = ?",
            tx.epoch,
            known["id"],
        )
        return InboundClaim(won=True, message_id=known["id"])
    return InboundClaim(won=False, message_id=known["id"], reply=known["reply"])


def answer_message(tx: Tx, cmd: AnswerMessage, deps: Deps) -> Unit[str]:
    inbound = yield one(
        "SELECT * FROM messages WHERE id = ? AND direction = 'in'", cmd.message_id, lock=True
    )
    if inbound is None:
        raise NotFound("message", cmd.message_id)
    tenancy.check(cmd.actor, inbound["hospital_id"], "message", cmd.message_id)
    if inbound["reply"] is not None:
        return inbound["reply"]
    yield execute(
        "UPDATE messages SET reply = ?, status = ?, booking_no = coalesce(?, booking_no), "
        "updated_at = ? WHERE id = ?",
        cmd.reply,
        MessageStatus.ANSWERED,
        cmd.booking_no,
        tx.epoch,
        cmd.message_id,
    )
    logged, to_send = _body_columns(deps, cmd.reply)
    yield execute(
        "INSERT INTO messages (direction, gateway, hospital_id, idem_key, phone_enc, "
        "phone_index, phone_masked, body, body_enc, kind, status, booking_no, reply_to, "
        "created_at, updated_at) VALUES ('out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        inbound["gateway"],
        inbound["hospital_id"],
        f"reply:{cmd.message_id}",
        inbound["phone_enc"],
        inbound["phone_index"],
        inbound["phone_masked"],
        logged,
        to_send if cmd.send else None,
        MessageKind.REPLY,
        MessageStatus.QUEUED if cmd.send else MessageStatus.SENT,
        cmd.booking_no,
        cmd.message_id,
        tx.epoch,
        tx.epoch,
    )
    return cmd.reply


def queue_messages(tx: Tx, cmd: QueueMessages, deps: Deps) -> Unit[int]:
    queued = 0
    for m in cmd.messages:
        phone = canonical_phone(m.phone)
        enc, index, masked = _phone_columns(deps, phone)
        status = MessageStatus.SKIPPED if m.skip else MessageStatus.QUEUED
        logged, to_send = _body_columns(deps, m.body)
        inserted = yield execute(
            "INSERT INTO messages (direction, gateway, hospital_id, idem_key, phone_enc, "
            "phone_index, phone_masked, body, body_enc, kind, status, booking_no, event_id, "
            "error, created_at, updated_at) "
            "VALUES ('out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (direction, idem_key) DO NOTHING",
            m.gateway,
            m.hospital_id,
            m.key,
            enc,
            index,
            masked,
            logged,
            None if m.skip else to_send,
            m.kind,
            status,
            m.booking_no,
            m.event_id,
            m.skip,
            tx.epoch,
            tx.epoch,
        )
        queued += inserted if not m.skip else 0
        if inserted and m.kind == MessageKind.SURVEY and m.booking_no and not m.skip:
            booking_id = yield val("SELECT id FROM bookings WHERE booking_no = ?", m.booking_no)
            yield execute(
                "INSERT INTO surveys (booking_id, hospital_id, phone_index, sent_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (booking_id) DO NOTHING",
                booking_id,
                m.hospital_id,
                index,
                tx.epoch,
            )
    yield from mark_done(tx, cmd.consumer, cmd.event_ids)
    return queued


def claim_outgoing(tx: Tx, cmd: ClaimOutgoing, deps: Deps) -> Unit[list[Claimed]]:
    found = yield rows(
        "SELECT id, idem_key, phone_enc, body, body_enc, attempts, status, sending_since "
        "FROM messages "
        "WHERE gateway = ? AND status IN ('queued', 'sending') AND available_at <= ? "
        "AND lease_until <= ? ORDER BY id LIMIT ?",
        cmd.gateway,
        tx.epoch,
        tx.epoch,
        cmd.limit,
        lock="skip",
    )
    claimed = []
    for r in found:
        since = r["sending_since"] or tx.epoch
        yield execute(
            "UPDATE messages SET status = ?, attempts = attempts + 1, lease_until = ?, "
            "sending_since = ?, updated_at = ? WHERE id = ?",
            MessageStatus.SENDING,
            tx.epoch + cmd.lease_seconds,
            since,
            tx.epoch,
            r["id"],
        )
        claimed.append(
            Claimed(
                id=r["id"],
                key=r["idem_key"],
                phone=deps.cipher.decrypt(r["phone_enc"], context="phone"),
                body=(
                    deps.cipher.decrypt(r["body_enc"], context="sms_body")
                    if r["body_enc"]
                    else r["body"]
                ),
                attempts=r["attempts"] + 1,
                resumed=r["sending_since"] is not None,
                sending_since=from_epoch(since) if r["sending_since"] else None,
            )
        )
    return claimed


def mark_sent(tx: Tx, cmd: MarkSent, deps: Deps) -> Unit[int]:
    # the gateway took it: "sent" at least (Twilio says "queued" for that)
    further = _RANK.get(cmd.status, 0) > _RANK[MessageStatus.SENT]
    return (
        yield execute(
            "UPDATE messages SET status = ?, provider_id = ?, parts = ?, lease_until = 0, "
            "error = NULL, body_enc = NULL, updated_at = ? WHERE id = ? AND status = 'sending'",
            cmd.status if further else MessageStatus.SENT,
            cmd.provider_id,
            cmd.parts,
            tx.epoch,
            cmd.message_id,
        )
    )


def mark_failed(tx: Tx, cmd: MarkFailed, deps: Deps) -> Unit[int]:
    if cmd.retry_in_seconds is None:
        return (
            yield execute(
                "UPDATE messages SET status = ?, error = ?, lease_until = 0, body_enc = NULL, "
                "updated_at = ? WHERE id = ? AND status = 'sending'",
                MessageStatus.FAILED,
                cmd.error[:500],
                tx.epoch,
                cmd.message_id,
            )
        )
    return (
        yield execute(
            "UPDATE messages SET status = ?, error = ?, lease_until = 0, "
            "available_at = ?, updated_at = ? WHERE id = ? AND status = 'sending'",
            MessageStatus.QUEUED,
            cmd.error[:500],
            tx.epoch + cmd.retry_in_seconds,
            tx.epoch,
            cmd.message_id,
        )
    )


def update_delivery(tx: Tx, cmd: UpdateDelivery, deps: Deps) -> Unit[int]:
    rank = _RANK.get(cmd.status)
    if rank is None:
        return 0
    behind = [s for s, r in _RANK.items() if r < rank]
    if not behind:
        return 0
    marks = ", ".join("?" * len(behind))
    return (
        yield execute(
            "UPDATE messages SET status = ?, error = coalesce(?, error), updated_at = ? "
            f"WHERE gateway = ? AND provider_id = ? AND direction = 'out' AND status IN ({marks})",
            cmd.status,
            cmd.error,
            tx.epoch,
            cmd.gateway,
            cmd.provider_id,
            *behind,
        )
    )


def set_opt_out(tx: Tx, cmd: SetOptOut, deps: Deps) -> Unit[bool]:
    phone = canonical_phone(cmd.phone)
    index = deps.cipher.blind_index(phone, context="phone")
    if cmd.opted_out:
        yield execute(
            "INSERT INTO sms_opt_outs (phone_index, opted_out_at) VALUES (?, ?) "
            "ON CONFLICT (phone_index) DO NOTHING",
            index,
            tx.epoch,
        )
    else:
        yield execute("DELETE FROM sms_opt_outs WHERE phone_index = ?", index)
    yield execute(
        "UPDATE patients SET sms_opt_out = ?, updated_at = ? WHERE phone_index = ?",
        1 if cmd.opted_out else 0,
        tx.epoch,
        index,
    )
    tx.audit(
        cmd.actor,
        AuditAction.SMS_OPT_OUT if cmd.opted_out else AuditAction.SMS_OPT_IN,
        "phone",
        mask_phone(phone),
        hospital_id=cmd.actor.hospital_id,
    )
    return cmd.opted_out


MAX_PDU_CHARS = 700  # a PDU is at most 176 octets (352 hex digits) after the SMSC field


def keep_undecodable(tx: Tx, cmd: KeepUndecodable, deps: Deps) -> Unit[int]:
    pdu = cmd.pdu.strip()[:MAX_PDU_CHARS]
    return (
        yield execute(
            "INSERT INTO sms_undecodable (gateway, pdu_index, pdu_enc, error, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (gateway, pdu_index) DO NOTHING",
            cmd.gateway,
            deps.cipher.blind_index(pdu, context="sms_pdu"),
            deps.cipher.encrypt(pdu, context="sms_pdu"),
            cmd.error[:500],
            tx.epoch,
        )
    )


def count_registration(tx: Tx, cmd: CountRegistration, deps: Deps) -> Unit[int]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    rules = yield from cached_rules(deps.cache, hospital.id)
    limit = rules.limit(RuleKey.SMS_REGISTRATIONS_PER_DAY)
    if limit is None:
        return 0
    index = deps.cipher.blind_index(canonical_phone(cmd.phone), context="phone")
    day = datetime.fromtimestamp(tx.epoch, ZoneInfo(hospital.timezone)).date().isoformat()
    attempts = yield val(  # one statement: two texts at once cannot both be the 3rd
        "INSERT INTO sms_registrations (hospital_id, phone_index, day, attempts) "
        "VALUES (?, ?, ?, 1) ON CONFLICT (hospital_id, phone_index, day) "
        "DO UPDATE SET attempts = sms_registrations.attempts + 1 RETURNING attempts",
        hospital.id,
        index,
        day,
    )
    if attempts > limit:  # raising rolls the count back: it stays at the limit
        raise LimitReached(RuleKey.SMS_REGISTRATIONS_PER_DAY.value, limit)
    return attempts


def answer_survey(tx: Tx, cmd: AnswerSurvey, deps: Deps) -> Unit[str]:
    if not 1 <= cmd.score <= 5:
        raise InvalidInput("score", "1 to 5")
    index = deps.cipher.blind_index(canonical_phone(cmd.phone), context="phone")
    where, args = tenancy.scope(cmd.actor, "b.hospital_id")  # a hospital's number: its own
    mine = "".join(" AND " + clause for clause in where)
    survey = yield one(
        "SELECT s.booking_id, b.booking_no FROM surveys s JOIN bookings b ON b.id = s.booking_id "
        f"WHERE s.phone_index = ? AND s.score IS NULL AND s.sent_at >= ?{mine} "
        "ORDER BY s.sent_at DESC LIMIT 1",
        index,
        tx.epoch - SURVEY_ANSWER_DAYS * 86400,
        *args,
        lock=True,
    )
    if survey is None:
        raise NotFound("survey", "")
    yield execute(
        "UPDATE surveys SET score = ?, answered_at = ? WHERE booking_id = ?",
        cmd.score,
        tx.epoch,
        survey["booking_id"],
    )
    return survey["booking_no"]


def queue_reminders(tx: Tx, cmd: QueueReminders, deps: Deps) -> Unit[int]:
    """Per hospital, in its own zone: once it is ``hour`` o'clock or later, tomorrow's
    active bookings each get one ``booking.reminder`` event."""
    now = datetime.fromtimestamp(tx.epoch, ZoneInfo("UTC"))
    hospitals = yield rows("SELECT id, timezone FROM hospitals")
    queued = 0
    for h in hospitals:
        local = now.astimezone(ZoneInfo(h["timezone"]))
        if local.hour < cmd.hour:
            continue
        tomorrow = (local.date() + timedelta(days=1)).isoformat()
        due = yield rows(
            "SELECT b.id FROM bookings b LEFT JOIN reminders r ON r.booking_id = b.id "
            "WHERE b.hospital_id = ? AND b.day = ? AND b.status IN ('confirmed', 'held') "
            "AND r.booking_id IS NULL ORDER BY b.id",
            h["id"],
            tomorrow,
        )
        for r in due:
            inserted = yield execute(
                "INSERT INTO reminders (booking_id, created_at) VALUES (?, ?) "
                "ON CONFLICT (booking_id) DO NOTHING",
                r["id"],
                tx.epoch,
            )
            if not inserted:  # another engine's sweep took it
                continue
            view = yield from view_by_id(r["id"])
            tx.emit(BookingReminderDue(**booking_fields(view)))
            queued += 1
    return queued


HANDLERS = handler_table(
    on(ReceiveMessage, receive_message),
    on(AnswerMessage, answer_message),
    on(QueueMessages, queue_messages),
    on(ClaimOutgoing, claim_outgoing),
    on(MarkSent, mark_sent),
    on(MarkFailed, mark_failed),
    on(UpdateDelivery, update_delivery),
    on(SetOptOut, set_opt_out),
    on(CountRegistration, count_registration),
    on(KeepUndecodable, keep_undecodable),
    on(AnswerSurvey, answer_survey),
    on(QueueReminders, queue_reminders),
)
