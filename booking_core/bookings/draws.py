"""Fair admission at release (公平放号): the queue side.

At a release instant (放号, :func:`~booking_core.rules.checks.release_instant`) thousands of
requests arrive for a few places, and grab scripts poll many times a second. With the
hospital's rule ``fair_admission_seconds`` = N (0 or disabled: off), a request to book a
place of a session

* whose day was released less than N seconds ago (the *release* wave), or
* that has a draw opened and not yet run (the *freed* wave: the hold sweep freed places of
  it on its release day and opened an N-second window; or a request arriving after a
  window closed but before the draw worker ran its draw)

is not booked at once. It passes every rule a booking must pass (:func:`admit`: what
would be refused is refused now, not texted later), then one cheap row is written
(:data:`release_requests`: patient, slot, channel, booker phone) and the unit raises
:class:`~booking_core.kernel.errors.Queued` with the instant of the draw: the bus keeps
what the unit wrote (a :class:`~booking_core.kernel.errors.Accepted`) and every door says
"queued, we will text you the result". The draw (:mod:`.lottery`) then books or refuses
each request and the booker is texted (``booking.created`` with ``drawn``, or
``draw.refused``).

Rate limits at release (rule records): one request per patient per draw (a repeat is
answered :class:`~booking_core.kernel.errors.AlreadyQueued`, no second ticket), at most
``draw_requests_per_patient`` draws a patient waits in at once, at most
``draw_requests_per_phone_per_minute`` requests queued from one phone in a minute.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..kernel.deps import Deps
from ..kernel.errors import AlreadyQueued, InvalidInput, Queued
from ..kernel.identity import normalize_phone
from ..kernel.unit import Row, Tx, Unit, from_epoch, one, to_epoch, val
from ..rules.checks import check_limit, release_instant
from ..rules.model import RuleKey, RuleSet
from .commands import BookSlot

PHONE_PERIOD = timedelta(minutes=1)  # the per-phone limit counts requests in the last minute

RELEASE, FREED = "release", "freed"  # the two waves a draw is opened for


def fair_seconds(rules: RuleSet) -> int:
    """The fair-admission window in seconds; 0 when the hospital has it off."""
    return rules.limit(RuleKey.FAIR_ADMISSION_SECONDS) or 0


def release_window(
    now: datetime, day: date, rules: RuleSet, tz: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """The release wave's window ``[opens, closes)`` when ``now`` is in it, else None:
    from the release instant of ``day`` (inclusive) for N seconds (exclusive)."""
    seconds = fair_seconds(rules)
    if not seconds:
        return None
    opens = release_instant(day, rules, tz)
    closes = opens + timedelta(seconds=seconds)
    return (opens, closes) if opens <= now < closes else None


def _draw_for(tx: Tx, ctx: Row, rules: RuleSet, tz: ZoneInfo) -> Unit[Row | None]:
    """The draw a request for ``ctx``'s session joins now, or None (book at once)."""
    window = release_window(tx.now, date.fromisoformat(ctx["day"]), rules, tz)
    if window is not None:
        opens, closes = (to_epoch(t) for t in window)
        sql = "SELECT id, draw_at FROM release_draws WHERE session_id = ? AND draw_at = ?"
        found = yield one(sql, ctx["session_id"], closes)
        if found is None:  # the window's first request opens its draw
            yield from _open_draw(ctx["hospital_id"], ctx["session_id"], RELEASE, opens, closes)
            found = yield one(sql, ctx["session_id"], closes)
        return found
    # a freed wave's window, or a window closed and not drawn yet: served after its lots
    return (
        yield one(
            "SELECT id, draw_at FROM release_draws WHERE session_id = ? AND drawn_at IS NULL "
            "AND opens_at <= ? ORDER BY draw_at LIMIT 1",
            ctx["session_id"],
            tx.epoch,
        )
    )


def _open_draw(hospital_id: int, session_id: int, wave: str, opens: int, closes: int) -> Unit[int]:
    """A draw of ``session_id`` closing at ``closes`` (once: the same window is one draw)."""
    return (
        yield val(
            "INSERT INTO release_draws (hospital_id, session_id, wave, opens_at, draw_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            hospital_id,
            session_id,
            wave,
            opens,
            closes,
        )
    )


def queue_if_fair(
    tx: Tx,
    cmd: BookSlot,
    ctx: Row,
    patient: Row,
    rules: RuleSet,
    phone_index: str | None,
    deps: Deps,
) -> Unit[None]:
    """Return when the request is to be booked at once; raise :class:`Queued` once it is
    recorded for a draw (or a refusal of the release rate limits)."""
    if not fair_seconds(rules):
        return
    tz = ZoneInfo(ctx["timezone"])
    draw = yield from _draw_for(tx, ctx, rules, tz)
    if draw is None:
        return
    draw_at = from_epoch(draw["draw_at"]).astimezone(tz)
    mine = yield val(
        "SELECT 1 FROM release_requests WHERE draw_id = ? AND patient_id = ?",
        draw["id"],
        patient["id"],
    )
    if mine:
        raise AlreadyQueued(draw_at=draw_at)
    waiting = yield val(
        "SELECT count(*) FROM release_requests WHERE patient_id = ? AND status = 'queued'",
        patient["id"],
    )
    check_limit(RuleKey.DRAW_REQUESTS_PER_PATIENT, waiting, rules)
    if phone_index and rules.limit(RuleKey.DRAW_REQUESTS_PER_PHONE_PER_MINUTE) is not None:
        if tx.dialect == "postgres":  # one phone's requests at once: counted in turn
            yield val("SELECT pg_advisory_xact_lock(hashtext(?))", "draw:" + phone_index)
        recent = yield val(
            "SELECT count(*) FROM release_requests WHERE booker_phone_index = ? AND arrived_at > ?",
            phone_index,
            to_epoch(tx.now - PHONE_PERIOD),
        )
        check_limit(RuleKey.DRAW_REQUESTS_PER_PHONE_PER_MINUTE, recent, rules)
    new_id = yield val(
        "INSERT INTO release_requests (draw_id, hospital_id, session_id, slot_id, patient_id, "
        "channel, actor, hold, booker_phone_index, booker_phone_enc, arrived_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        draw["id"],
        ctx["hospital_id"],
        ctx["session_id"],
        ctx["slot_id"],
        patient["id"],
        str(cmd.channel),
        cmd.actor.label,
        1 if cmd.hold else 0,
        phone_index,
        _phone_enc(deps, cmd.booker_phone),
        tx.epoch,
    )
    if new_id is None:  # PostgreSQL: the same patient's other request won the race
        raise AlreadyQueued(draw_at=draw_at)
    raise Queued(draw_at=draw_at)


def _phone_enc(deps: Deps, raw: str | None) -> str | None:
    """The booker's phone, encrypted for the notifier (the draw's text goes to it)."""
    if not raw:
        return None
    try:
        phone = normalize_phone(raw)
    except InvalidInput:
        return None  # no mobile to text: the patient's own phone is told
    return deps.cipher.encrypt(phone, context="phone")


def open_freed_wave(
    tx: Tx, hospital_id: int, session_id: int, day: date, rules: RuleSet, tz: ZoneInfo
) -> Unit[bool]:
    """The hold sweep freed places of ``session_id`` (the second wave, 15 minutes after a
    release): in fair mode, on the day of the session's release, they are released the
    same way, by a draw N seconds from now. Not when a draw of the session is still to
    run (it serves the freed places too). True when a window was opened."""
    seconds = fair_seconds(rules)
    if not seconds:
        return False
    released = release_instant(day, rules, tz)
    if tx.now.astimezone(tz).date() != released.date() or tx.now < released:
        return False
    pending = yield val(
        "SELECT 1 FROM release_draws WHERE session_id = ? AND drawn_at IS NULL", session_id
    )
    if pending:
        return False
    closes = tx.now + timedelta(seconds=seconds)
    opened = yield from _open_draw(hospital_id, session_id, FREED, tx.epoch, to_epoch(closes))
    return opened is not None
