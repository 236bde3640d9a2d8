"""Extra places (加号): a doctor's or admin's places beyond the schedule, for a named
patient (booked at once) or for the session's waitlist (offered in order), within the
per-session maximum (rule ``extra_places_per_session``)."""

from __future__ import annotations

from ..events.audit import AuditAction
from ..events.model import ExtraPlacesAdded
from ..kernel.actor import Channel
from ..kernel.deps import Deps
from ..kernel.errors import ExtraPlacesExhausted, InvalidInput, NotFound, SessionUnavailable
from ..kernel.unit import Tx, Unit, execute, one, val
from ..rules.model import RuleKey
from ..rules.repo import cached_rules
from .admission import book_slot, emit_slot_changed
from .commands import AddExtraPlaces, BookSlot
from .model import ExtraPlaces
from .waitlist import offer_places, session_row

MAX_AT_ONCE = 50  # one request adds a few places; a typo of 500 is refused, not obeyed


def add_extra_places(tx: Tx, cmd: AddExtraPlaces, deps: Deps) -> Unit[ExtraPlaces]:
    session = yield from session_row(cmd.session_id, cmd.actor)
    if not 1 <= cmd.places <= MAX_AT_ONCE:
        raise InvalidInput("places", f"1 to {MAX_AT_ONCE}")
    if cmd.patient_id is not None and cmd.places != 1:
        raise InvalidInput("places", "one place for a named patient")
    if session["status"] != "open":
        raise SessionUnavailable(session_id=session["id"], status=session["status"])
    rules = yield from cached_rules(deps.cache, session["hospital_id"])
    limit = rules.limit(RuleKey.EXTRA_PLACES_PER_SESSION)
    limit = 0 if limit is None else limit  # the rule switched off: no 加号 at all
    added = yield val(
        "UPDATE sessions SET extra_places = extra_places + ? WHERE id = ? "
        "AND extra_places + ? <= ? RETURNING extra_places",
        cmd.places,
        session["id"],
        cmd.places,
        limit,
    )
    if added is None:
        raise ExtraPlacesExhausted(
            session_id=session["id"], added=session["extra_places"], limit=limit
        )
    slot_id = cmd.slot_id
    if slot_id is None:
        slot_id = yield val(
            "SELECT id FROM slots WHERE session_id = ? ORDER BY start_time DESC, id DESC LIMIT 1",
            session["id"],
        )
    slot = yield one(
        "SELECT id, capacity, booked FROM slots WHERE id = ? AND session_id = ?",
        slot_id,
        session["id"],
    )
    if slot is None:
        raise NotFound("slot", slot_id)
    yield execute(
        "UPDATE slots SET capacity = capacity + ?, updated_at = ? WHERE id = ?",
        cmd.places,
        tx.epoch,
        slot["id"],
    )
    emit_slot_changed(
        tx, session["hospital_id"], slot["id"], slot["capacity"] + cmd.places, slot["booked"]
    )
    view = None
    offered = 0
    if cmd.patient_id is not None:  # every booking rule but the full slot still applies
        view = yield from book_slot(
            tx,
            BookSlot(
                slot_id=slot["id"],
                patient_id=cmd.patient_id,
                channel=Channel.AGENT,
                actor=cmd.actor,
            ),
            deps,
        )
    else:
        offered = yield from offer_places(tx, session["id"], cmd.actor, deps)
    event = ExtraPlacesAdded(
        hospital_id=session["hospital_id"],
        session_id=session["id"],
        slot_id=slot["id"],
        places=cmd.places,
        added_total=added,
        booking_no=view.booking.booking_no if view else None,
        offered=offered,
    )
    tx.emit(event)
    tx.audit(
        cmd.actor,
        AuditAction.EXTRA_PLACES_ADDED,
        "session",
        session["id"],
        hospital_id=session["hospital_id"],
        before={"extra_places": session["extra_places"], "capacity": slot["capacity"]},
        after=event.payload(),
    )
    return ExtraPlaces(
        session_id=session["id"],
        slot_id=slot["id"],
        places=cmd.places,
        added_total=added,
        booking=view,
        offered=offered,
    )
