"""The booking path: department, doctor, day and time (the first two shared with the
schedule), the read-back and the booking."""

from __future__ import annotations

import re
from datetime import date

from ..state import (
    Book,
    CallState,
    JoinWaitlist,
    ListDays,
    ListDepartments,
    ListDoctors,
    ListTimes,
    Outcome,
    Prompt,
    Step,
)
from .common import MORE, Chooser, enter, error_prompt, home, open_list, repeat, wrong

# --- department, doctor, day, time -----------------------------------------------------------


def dept_entry(s: CallState, d: str) -> Step:
    if d == MORE:
        return Step(s, [], ListDepartments())
    if re.fullmatch(r"\d{3}", d):
        return Step(s, [], ListDepartments(pick=d))
    return wrong(s, "dept_invalid")


def _pick_or_list(s: CallState, pick: str | None, items: list, key: str, missing: str) -> Step:
    """The list read out when nothing was typed, else the typed item chosen, else why not."""
    if pick is None:
        return open_list(s, items, "list.empty")
    for item in items:
        if item[key] == pick:
            return CHOOSERS[s.node](s, item)
    return wrong(s, missing, **{key: pick})


def settle_depts(s: CallState, action: ListDepartments, outcome: Outcome) -> Step:
    return _pick_or_list(s, action.pick, outcome.value or [], "code", "dept_not_found")


def choose_dept(s: CallState, item: dict) -> Step:
    s.dept = item
    s.doctor = s.day = s.slot = None
    nxt = "sched_doctor" if s.node == "sched_dept" else "book_doctor"
    return enter(s, nxt, [Prompt("chosen.department", item)])


def doctor_entry(s: CallState, d: str) -> Step:
    dept = (s.dept or {}).get("code", "")
    if d == MORE:
        return Step(s, [], ListDoctors(dept))
    if re.fullmatch(r"\d{5}", d):
        return Step(s, [], ListDoctors(dept, pick=d))
    return wrong(s, "doctor_invalid")


def settle_doctors(s: CallState, action: ListDoctors, outcome: Outcome) -> Step:
    return _pick_or_list(s, action.pick, outcome.value or [], "work_no", "doctor_not_found")


def choose_doctor(s: CallState, item: dict) -> Step:
    s.doctor = item
    s.day = s.slot = None
    s.later = []
    if s.node == "sched_doctor":
        return Step(s, [Prompt("chosen.doctor", item)], ListDays(item["work_no"]))
    return enter(s, "book_date", [Prompt("chosen.doctor", item)])


def _valid_mmdd(d: str) -> bool:
    if not re.fullmatch(r"\d{4}", d):
        return False
    try:
        date(2028, int(d[:2]), int(d[2:]))  # a leap year: 0229 is a date
    except ValueError:
        return False
    return True


def day_entry(s: CallState, d: str) -> Step:
    doctor = (s.doctor or {}).get("work_no", "")
    wait_day, s.wait_day = s.wait_day, None
    if d == WAIT and wait_day and s.patient:  # 候补: the full day just named
        return Step(s, [], JoinWaitlist(doctor, wait_day, s.patient["id"]))
    if d == MORE:
        return Step(s, [], ListDays(doctor))
    if _valid_mmdd(d):
        return Step(s, [], ListDays(doctor, pick=d))
    return wrong(s, "day_invalid")


WAIT = "1"  # after "that day is full": join its waitlist (候补)


def _mmdd(item: dict) -> str:
    return item["day"][5:7] + item["day"][8:10]


def settle_days(s: CallState, action: ListDays, outcome: Outcome) -> Step:
    value = outcome.value or {}
    items, s.later, s.window_days = value.get("days", []), value.get("later", []), value["window"]
    if s.node in ("sched_doctor", "sched_read"):
        s.items = items
        return enter(s, "sched_read")
    if action.pick is None:
        if not items:  # none now: say so, then when the next day opens (放号)
            step = wrong(s, "no_days", days=s.window_days)
            later = [Prompt("item.later_day", item) for item in s.later]
            return Step(step.state, [*step.say[:1], *later, *step.say[1:]], step.action)
        return open_list(s, items, "no_days")
    for item in items:
        if _mmdd(item) == action.pick:
            return choose_day(s, item)
    for item in s.later:
        if _mmdd(item) == action.pick:
            return wrong(s, "error.outside_window", opens_at=item["opens_at"])
    if s.patient:  # 候补: a full day may be waited for ("press 1 to join the waitlist")
        s.wait_day = action.pick
        step = wrong(s, "day_full", mmdd=action.pick)
        return Step(step.state, [*step.say[:1], Prompt("wait_offer"), *step.say[1:]], step.action)
    return wrong(s, "day_full", mmdd=action.pick)


def settle_wait(s: CallState, action: JoinWaitlist, outcome: Outcome) -> Step:
    s.wait_day = None
    if outcome.error is not None:
        return home(s, [error_prompt(outcome.error)])
    return home(s, [Prompt("waitlist_joined", outcome.value)])


def choose_day(s: CallState, item: dict) -> Step:
    s.day = item
    s.slot = None
    return enter(s, "book_time", [Prompt("chosen.day", item)])


def time_entry(s: CallState, d: str) -> Step:
    doctor = (s.doctor or {}).get("work_no", "")
    day = (s.day or {}).get("day", "")
    if d == MORE:
        return Step(s, [], ListTimes(doctor, day))
    if re.fullmatch(r"\d{4}", d) and int(d[:2]) < 24 and int(d[2:]) < 60:
        return Step(s, [], ListTimes(doctor, day, pick=d))
    return wrong(s, "time_invalid")


def settle_times(s: CallState, action: ListTimes, outcome: Outcome) -> Step:
    items = outcome.value or []
    if action.pick is None:
        return open_list(s, [i for i in items if i["free"] > 0], "no_times")
    at = f"{action.pick[:2]}:{action.pick[2:]}"
    for item in items:
        if item["start"] <= at < item["end"]:
            if item["free"] <= 0:
                return wrong(s, "error.slot_full", slot_id=item["id"])
            return choose_time(s, item)
    return wrong(s, "time_not_found", hhmm=action.pick)


def choose_time(s: CallState, item: dict) -> Step:
    s.slot = item
    return enter(s, "book_confirm")


# --- read back and book ----------------------------------------------------------------------


def confirm(s: CallState, d: str) -> Step:
    if d == "1" and s.slot and s.patient:
        return Step(s, [], Book(s.slot["id"], s.patient["id"]))
    if d == "2":
        s.back = []
        s.node = "main"
        return enter(s, "book_dept", [Prompt("change")])
    return wrong(s)


_AFTER_BOOK_ERROR = {
    "slot_full": "book_time",
    "channel_full": "book_time",
    "booking_closed": "book_time",
    "outside_window": "book_date",
    "session_unavailable": "book_date",
}


def settle_book(s: CallState, action: Book, outcome: Outcome) -> Step:
    if outcome.error is not None:
        say = [error_prompt(outcome.error)]
        nxt = _AFTER_BOOK_ERROR.get(outcome.error.code)
        if nxt is None:
            return home(s, say)
        s.back = ["main", "book_dept", "book_doctor"] + (
            ["book_date"] if nxt == "book_time" else []
        )
        s.node = nxt
        s.slot = None
        s.fails = 0
        s.listing = False
        return repeat(s, say)
    booked = outcome.value
    s.slot = None
    return home(s, [Prompt("booked", booked), Prompt("booked_again", booked), Prompt("sms_sent")])


CHOOSERS: dict[str, Chooser] = {
    "book_dept": choose_dept,
    "sched_dept": choose_dept,
    "book_doctor": choose_doctor,
    "sched_doctor": choose_doctor,
    "book_date": choose_day,
    "book_time": choose_time,
}
