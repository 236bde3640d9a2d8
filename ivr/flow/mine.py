"""My bookings: found by the caller's number, or by a card or ID number and then a code
texted to the patient's phone; read one by one, cancelled."""

from __future__ import annotations

import re

from ..state import (
    CallState,
    Cancel,
    CheckCode,
    FindCallerPatients,
    LeaveWaitlists,
    ListBookings,
    Outcome,
    Prompt,
    SendCode,
    Step,
)
from .common import back, enter, error_prompt, home, repeat, to_agent, wrong

CODE = re.compile(r"\d{6}")


def settle_caller(s: CallState, action: FindCallerPatients, outcome: Outcome) -> Step:
    if s.purpose == "leave_waitlist":  # 候补: only the caller's own patients leave by phone
        mine = tuple(p["id"] for p in (outcome.value or []))
        if not mine:
            return home(s, [Prompt("waitlist_leave_unknown")])
        return Step(s, [], LeaveWaitlists(mine))
    found = [p for p in (outcome.value or []) if not p.get("banned_until")] or []
    if not outcome.value:
        return enter(s, "mine_patient")
    if not found:
        return home(s, [Prompt("patient_banned", outcome.value[0])])
    s.patient_ids = [p["id"] for p in found]
    if len(found) == 1:
        s.patient = {k: found[0][k] for k in ("id", "name", "family", "sex")}
    return Step(s, [], ListBookings(tuple(s.patient_ids)))


def settle_leave(s: CallState, action: LeaveWaitlists, outcome: Outcome) -> Step:
    s.purpose = "book"
    if outcome.error is not None:
        return home(s, [error_prompt(outcome.error)])
    return home(s, [Prompt("waitlist_left", {"count": outcome.value or 0})])


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


# --- a code texted to the patient's phone ---------------------------------------------------


def _bookings_of(s: CallState, patient_id: int) -> Step:
    s.patient_ids = [patient_id]
    return Step(s, [], ListBookings((patient_id,)))


def settle_send_code(s: CallState, action: SendCode, outcome: Outcome) -> Step:
    if outcome.error is not None:
        return home(s, [error_prompt(outcome.error)])
    sent = outcome.value or {}
    status = sent.get("status")
    if status == "caller":  # the patient's own phone after all
        return _bookings_of(s, action.patient_id)
    if status == "no_phone":
        return to_agent(s, "no_phone", [Prompt("code_no_phone")])
    key = "code_sent" if status == "sent" else "code_recent"
    return enter(s, "mine_code", [Prompt(key, {"last4": sent.get("last4", "")})])


def mine_code(s: CallState, d: str) -> Step:
    patient_id = (s.patient or {}).get("id")
    if patient_id is not None and CODE.fullmatch(d):
        return Step(s, [], CheckCode(patient_id, d))
    return wrong(s, "code_invalid")


def settle_check_code(s: CallState, action: CheckCode, outcome: Outcome) -> Step:
    if outcome.error is not None:
        return home(s, [error_prompt(outcome.error)])
    if outcome.value == "ok":
        return _bookings_of(s, action.patient_id)
    if outcome.value == "wrong":
        return wrong(s, "code_wrong")
    return to_agent(s, "code_spent", [Prompt("code_spent")])
