"""Fair admission at release (公平放号): the draw.

:class:`~.commands.RunDraws` (the engine's draw worker, every second) takes a draw whose
window has closed and serves its queued requests (:mod:`.draws`) in one unit:

1. the requests that arrived inside the window, in a random order (``deps.rng``: the
   system's entropy in production, seeded in tests), each patient holding one ticket, so
   the winners are a uniform draw among the patients who asked; then those that arrived
   after the window closed but before this draw ran, in their order of arrival;
2. each request in turn is booked through the same rules as any booking
   (:func:`.admission.book_now`: the session still open, the blacklist, the limits …);
3. the slot asked for is full but its session still has places: the request gets the
   free slot of the same session nearest in time to the one asked for (the earlier of
   two as near) — a patient asks for a doctor's half day, the quarter hour matters less;
4. the session is full: every request left is refused ``slot_full`` without trying.

Each outcome is recorded on the request and told: a booking (``booking.created`` with
``drawn`` true) or a refusal with its reason (``draw.refused``); the SMS notifier texts
the booker either way. A request whose booking fails is rolled back to its own savepoint,
so a refusal never leaves half a booking behind.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from ..events.audit import AuditAction
from ..events.model import DrawRequestRefused
from ..kernel.actor import Actor, Channel
from ..kernel.deps import Deps
from ..kernel.errors import BookingError, SlotFull
from ..kernel.unit import Row, Tx, Unit, dumps, execute, one, rows, val
from .admission import book_now
from .commands import BookSlot, RunDraws
from .model import BookingView, DrawOutcome


def run_draws(tx: Tx, cmd: RunDraws, deps: Deps) -> Unit[DrawOutcome]:
    due = yield rows(
        "SELECT * FROM release_draws WHERE drawn_at IS NULL AND draw_at <= ? "
        "ORDER BY draw_at, id LIMIT ?",
        tx.epoch,
        cmd.limit,
    )
    booked = refused = draws = 0
    for found in due:
        # another engine's worker may have drawn it meanwhile (PostgreSQL: wait, re-read)
        draw = yield one(
            "SELECT * FROM release_draws WHERE id = ? AND drawn_at IS NULL",
            found["id"],
            lock=True,
        )
        if draw is None:
            continue
        won, lost = yield from _draw(tx, draw, cmd.actor, deps)
        booked, refused, draws = booked + won, refused + lost, draws + 1
    return DrawOutcome(draws, booked, refused)


def lot_order(requests: list[Row], draw_at: int, deps: Deps) -> list[Row]:
    """The order a draw serves its requests: the window's in random order, then the late."""
    in_window = [r for r in requests if r["arrived_at"] < draw_at]
    late = [r for r in requests if r["arrived_at"] >= draw_at]
    deps.rng.shuffle(in_window)
    return in_window + sorted(late, key=lambda r: (r["arrived_at"], r["id"]))


def _draw(tx: Tx, draw: Row, actor: Actor, deps: Deps) -> Unit[tuple[int, int]]:
    queued = yield rows(
        "SELECT * FROM release_requests WHERE draw_id = ? AND status = 'queued' ORDER BY id",
        draw["id"],
    )
    booked = refused = 0
    full = False
    for rank, request in enumerate(lot_order(list(queued), draw["draw_at"], deps), start=1):
        view: BookingView | None = None
        err: BookingError
        if full:
            err = SlotFull(slot_id=request["slot_id"])
        else:
            try:
                view = yield from _serve(tx, request, deps)
            except SlotFull as no_place:
                full, err = True, no_place
            except BookingError as refusal:
                err = refusal
        if view is not None:
            booked += 1
            yield execute(
                "UPDATE release_requests SET status = 'booked', draw_rank = ?, booking_no = ?, "
                "decided_at = ? WHERE id = ?",
                rank,
                view.booking.booking_no,
                tx.epoch,
                request["id"],
            )
            continue
        refused += 1
        yield from _refuse(tx, request, rank, err)
    yield execute(
        "UPDATE release_draws SET drawn_at = ?, requests = ?, booked = ? WHERE id = ?",
        tx.epoch,
        len(queued),
        booked,
        draw["id"],
    )
    tx.audit(
        actor,
        AuditAction.DRAW_RUN,
        "session",
        draw["session_id"],
        hospital_id=draw["hospital_id"],
        after={"wave": draw["wave"], "requests": len(queued), "booked": booked},
    )
    return booked, refused


def _serve(tx: Tx, request: Row, deps: Deps) -> Unit[BookingView]:
    """Book ``request``: the slot it asked for, else the nearest free one of its session
    (:class:`SlotFull` only when the whole session is full)."""
    try:
        return (yield from _try(tx, request, request["slot_id"], deps))
    except SlotFull:
        pass
    others = yield rows(
        "SELECT o.id FROM slots o JOIN slots w ON w.id = ? "
        "WHERE o.session_id = ? AND o.id <> w.id AND o.booked < o.capacity "
        "ORDER BY abs(o.starts_at - w.starts_at), o.starts_at",
        request["slot_id"],
        request["session_id"],
    )
    for other in others:
        try:
            return (yield from _try(tx, request, other["id"], deps))
        except SlotFull:
            continue
    raise SlotFull(slot_id=request["slot_id"])


def _try(tx: Tx, request: Row, slot_id: int, deps: Deps) -> Unit[BookingView]:
    """One booking attempt in its own savepoint: a refusal leaves nothing of it."""
    kind, _, name = request["actor"].partition(":")
    channel = Channel(request["channel"])
    cmd = BookSlot(
        actor=Actor(kind, name, request["hospital_id"], channel),
        slot_id=slot_id,
        patient_id=request["patient_id"],
        channel=channel,
        booker_phone=_booker_phone(request, deps),
        hold=bool(request["hold"]),
    )
    events, audits = len(tx.events), len(tx.audits)
    yield execute("SAVEPOINT draw_request")
    try:
        view = yield from book_now(tx, cmd, deps, drawn=True)
    except BookingError:
        yield execute("ROLLBACK TO SAVEPOINT draw_request")
        yield execute("RELEASE SAVEPOINT draw_request")
        del tx.events[events:], tx.audits[audits:]
        raise
    yield execute("RELEASE SAVEPOINT draw_request")
    return view


def _booker_phone(request: Row, deps: Deps) -> str | None:
    enc = request["booker_phone_enc"]
    return deps.cipher.decrypt(enc, context="phone") if enc else None


def _refuse(tx: Tx, request: Row, rank: int, err: BookingError) -> Unit[None]:
    params = {k: _plain(v) for k, v in err.params.items()}
    yield execute(
        "UPDATE release_requests SET status = 'refused', draw_rank = ?, refusal = ?, "
        "refusal_params = ?, decided_at = ? WHERE id = ?",
        rank,
        err.code,
        dumps(params),
        tx.epoch,
        request["id"],
    )
    ctx = yield one(
        "SELECT sl.start_time, se.day, dep.code AS department, doc.work_no AS doctor, "
        "dep.name AS department_name, doc.name AS doctor_name "
        "FROM slots sl JOIN sessions se ON se.id = sl.session_id "
        "JOIN departments dep ON dep.id = se.department_id "
        "JOIN doctors doc ON doc.id = se.doctor_id WHERE sl.id = ?",
        request["slot_id"],
    )
    tx.emit(
        DrawRequestRefused(
            hospital_id=request["hospital_id"],
            request_id=request["id"],
            patient_id=request["patient_id"],
            session_id=request["session_id"],
            slot_id=request["slot_id"],
            department=ctx["department"],
            doctor=ctx["doctor"],
            department_name=ctx["department_name"],
            doctor_name=ctx["doctor_name"],
            day=date.fromisoformat(ctx["day"]),
            start=time.fromisoformat(ctx["start_time"]).strftime("%H:%M"),
            refusal=err.code,
            params=params,
            phone_enc=request["booker_phone_enc"],
        )
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def queued_count(session_id: int) -> Unit[int]:
    """Requests still waiting for a draw of ``session_id`` (for screens and tests)."""
    return (
        yield val(
            "SELECT count(*) FROM release_requests WHERE session_id = ? AND status = 'queued'",
            session_id,
        )
    )
