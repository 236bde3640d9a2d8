"""My bookings: found by the caller's number (or a card), read one by one, cancelled."""

from __future__ import annotations

from ..state import CallState, Cancel, FindCallerPatients, ListBookings, Outcome, Prompt, Step
from .common import back, enter, error_prompt, home, repeat, wrong


def settle_caller(s: CallState, action: FindCallerPatients, outcome: Outcome) -> Step:
    found = [p for p in (outcome.value or []) if not p.get("banned_until")] or []
    if not outcome.value:
        return enter(s, "mine_patient")
    if not found:
        return home(s, [Prompt("patient_banned", outcome.value[0])])
    s.patient_ids = [p["id"] for p in found]
    if len(found) == 1:
        s.patient = {"id": found[0]["id"], "name": found[0]["name"]}
    return Step(s, [], ListBookings(tuple(s.patient_ids)))


def settle_bookings(s: CallState, action: ListBookings, outcome: Outcome) -> Step:
    s.bookings = list(outcome.value or [])
    s.index = 0
    if not s.bookings:
        return home(s, [Prompt("no_bookings")])
    s.back = []
    s.node = "main"
    return enter(s, "mine_item", [Prompt("bookings_found", {"total": len(s.bookings)})])


def mine_item(s: CallState, d: str) -> Step:
    if d == "1":
        return enter(s, "mine_cancel")
    if d == "2":
        if s.index + 1 < len(s.bookings):
            s.index += 1
            s.fails = 0
            return repeat(s)
        return home(s, [Prompt("list.last")])
    return wrong(s)


def mine_cancel(s: CallState, d: str) -> Step:
    if d == "1":
        return Step(s, [], Cancel(s.bookings[s.index]["booking_no"]))
    if d == "2":
        return back(s)
    return wrong(s)


def settle_cancel(s: CallState, action: Cancel, outcome: Outcome) -> Step:
    if s.back and s.back[-1] == "mine_item":
        s.back.pop()
    s.node = "mine_item"
    s.fails = 0
    if outcome.error is not None:
        return repeat(s, [error_prompt(outcome.error)])
    cancelled = s.bookings.pop(s.index)
    say = [Prompt("cancelled", cancelled)]
    if not s.bookings:
        return home(s, say)
    s.index = min(s.index, len(s.bookings) - 1)
    return repeat(s, say)
