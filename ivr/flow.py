"""The call flow as a pure state machine (语音导航).

``start()`` gives a new call's first answer. ``advance(state, event)`` maps the caller's
input to a :class:`~ivr.state.Step`: the next state, what to say, and maybe an action
on the booking core; when there is one, the adapter runs it and hands the outcome to
``settle(state, action, outcome)``, which may ask for another action, until a step
has none. Nothing here does I/O, so every path is tested without HTTP or a database.

Every node: no input → say so and repeat (three times, then goodbye from the main menu
or an agent elsewhere); wrong input → say what was wrong and repeat; ``*`` → back one
step; ``0`` → an agent, with the context of the call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from booking_core.identity import is_valid_serial

from .state import (
    NODES,
    Action,
    Book,
    CallState,
    Cancel,
    Digits,
    Event,
    FindCallerPatients,
    FindPatient,
    ListBookings,
    ListDays,
    ListDepartments,
    ListDoctors,
    ListTimes,
    LookupComplaint,
    NoInput,
    OpenComplaint,
    Outcome,
    Prompt,
    Recorded,
    SaveRecording,
    Step,
    Transfer,
)

MAX_FAILS = 3  # then goodbye (main menu) or an agent (anywhere else): never stuck
PAGE_SIZE = 8  # items 1-8 on a page, 9 = more
MORE = "9"
AGENT = "0"
BACK = "*"
TRACKING_NO_LENGTH = 7

_CARD = re.compile(r"\d{4,20}")
_ID = re.compile(r"\d{17}[\dX]")

Handler = Callable[[CallState, str], Step]
Chooser = Callable[[CallState, dict], Step]


# --- entry points ---------------------------------------------------------------------------


def start(lang: str = "zh") -> Step:
    state = CallState(lang="en" if lang == "en" else "zh")
    return Step(state, [Prompt("welcome"), *node_prompts(state)])


def advance(state: CallState, event: Event) -> Step:
    s = state.copy()
    node = NODES[s.node]
    if isinstance(event, Recorded):
        if s.node == "complaint_record":
            return Step(
                s,
                [],
                SaveRecording(event.recording_sid, event.recording_url, event.duration_seconds),
            )
        return _repeat(s)
    if node.kind in ("enqueue", "hangup"):
        return _repeat(s)
    if isinstance(event, NoInput) or not isinstance(event, Digits) or not event.value:
        return _no_input(s)
    digits = event.value.strip()
    s.last_digits = digits
    if digits == AGENT:
        return to_agent(s, "asked")
    if digits == BACK:
        return _back(s)
    if s.listing:
        return _listing(s, digits)
    return HANDLERS[s.node](s, digits)


def settle(state: CallState, action: Action, outcome: Outcome) -> Step:
    s = state.copy()
    return SETTLERS[type(action)](s, action, outcome)


# --- what each node says --------------------------------------------------------------------


def node_prompts(s: CallState) -> list[Prompt]:
    if s.listing:
        return _page_prompts(s)
    if s.node == "book_confirm" and s.slot:
        return [Prompt("book_confirm", _readback(s))]
    if s.node in ("mine_item", "mine_cancel") and s.bookings:
        booking = s.bookings[s.index]
        return [Prompt(s.node, {**booking, "n": s.index + 1, "total": len(s.bookings)})]
    if s.node == "sched_read":
        doctor = s.doctor or {}
        out = [
            Prompt(
                "sched_read_head",
                {"doctor": doctor.get("name", ""), "title": doctor.get("title", "")},
            )
        ]
        out += [Prompt("item.sched_day", item) for item in s.items]
        if not s.items:
            out.append(Prompt("sched_none"))
        return [*out, Prompt("sched_read")]
    if s.node == "complaint_record":
        return [Prompt("complaint_record", {"tracking_no": s.tracking_no or ""})]
    return [Prompt(s.node)]


def _readback(s: CallState) -> dict:
    slot, doctor, dept = s.slot or {}, s.doctor or {}, s.dept or {}
    return {
        "day": slot.get("day"),
        "start": slot.get("start"),
        "dept": dept.get("name", ""),
        "doctor": doctor.get("name", ""),
        "title": doctor.get("title", ""),
        "fee": slot.get("fee", doctor.get("fee", 0)),
        "patient": (s.patient or {}).get("name", ""),
    }


_ITEM_PROMPT = {
    "book_dept": "item.department",
    "sched_dept": "item.department",
    "book_doctor": "item.doctor",
    "sched_doctor": "item.doctor",
    "book_date": "item.day",
    "book_time": "item.time",
}


def _page_prompts(s: CallState) -> list[Prompt]:
    first = s.page * PAGE_SIZE
    page = s.items[first : first + PAGE_SIZE]
    out = [Prompt(_ITEM_PROMPT[s.node], {**item, "n": i + 1}) for i, item in enumerate(page)]
    more = first + PAGE_SIZE < len(s.items)
    out.append(Prompt("list.more" if more else "list.last"))
    return out


# --- moves shared by every node --------------------------------------------------------------


def _enter(s: CallState, node: str, say: list[Prompt] | None = None) -> Step:
    if node != s.node and NODES[s.node].kind in ("menu", "code"):
        if node == "main":
            s.back = []
        else:
            s.back.append(s.node)
    s.node = node
    s.fails = 0
    s.listing = False
    s.page = 0
    if NODES[node].listable:
        s.items = []
    return Step(s, [*(say or []), *node_prompts(s)])


def _home(s: CallState, say: list[Prompt] | None = None) -> Step:
    s.back = []
    s.node = "main"
    return _enter(s, "main", say)


def _repeat(s: CallState, say: list[Prompt] | None = None) -> Step:
    return Step(s, [*(say or []), *node_prompts(s)])


def _no_input(s: CallState) -> Step:
    s.fails += 1
    if s.fails >= MAX_FAILS:
        if s.node == "main":
            return _enter(s, "goodbye", [Prompt("no_input_final")])
        return to_agent(s, "no_input")
    return _repeat(s, [Prompt("no_input")])


def _wrong(s: CallState, key: str = "wrong_input", **params) -> Step:
    s.fails += 1
    if s.fails >= MAX_FAILS:
        return to_agent(s, "wrong_input", [Prompt(key, params)])
    return _repeat(s, [Prompt(key, params)])


def _back(s: CallState) -> Step:
    if s.listing:
        s.listing = False
        s.fails = 0
        return _repeat(s)
    if not s.back:
        return _repeat(s)
    s.node = s.back.pop()
    s.fails = 0
    return _repeat(s)


def to_agent(s: CallState, reason: str, say: list[Prompt] | None = None) -> Step:
    context = {
        "reason": reason,
        "step": s.node,
        "digits": s.last_digits,
        "lang": s.lang,
        "patient_id": (s.patient or {}).get("id"),
        "patient_name": (s.patient or {}).get("name"),
        "department": (s.dept or {}).get("code"),
        "doctor": (s.doctor or {}).get("work_no"),
        "day": (s.day or {}).get("day"),
        "slot_id": (s.slot or {}).get("id"),
    }
    return Step(s, list(say or []), Transfer({k: v for k, v in context.items() if v is not None}))


def _error(err) -> Prompt:
    return Prompt(f"error.{err.code}", dict(err.params))


def _listing(s: CallState, digits: str) -> Step:
    if digits == MORE:
        if (s.page + 1) * PAGE_SIZE < len(s.items):
            s.page += 1
        else:
            s.page = 0
        s.fails = 0
        return _repeat(s)
    if len(digits) == 1 and digits.isdigit():
        index = s.page * PAGE_SIZE + int(digits) - 1
        if int(digits) >= 1 and index < len(s.items):
            return CHOOSERS[s.node](s, s.items[index])
    return _wrong(s, "wrong_choice")


def _open_list(s: CallState, items: list[dict], empty_key: str) -> Step:
    if not items:
        return _wrong(s, empty_key)
    s.items = items
    s.listing = True
    s.page = 0
    s.fails = 0
    return _repeat(s)


# --- main menu ------------------------------------------------------------------------------


def _main(s: CallState, d: str) -> Step:
    if d == "1":
        s.purpose = "book"
        if s.patient:
            return _enter(s, "book_dept", [Prompt("patient_found", s.patient)])
        return _enter(s, "book_patient")
    if d == "2":
        s.purpose = "mine"
        return Step(s, [], FindCallerPatients())
    if d == "3":
        return _enter(s, "sched_dept")
    if d == "4":
        return _enter(s, "complaint_menu")
    if d == "9":
        s.lang = "en" if s.lang == "zh" else "zh"
        s.fails = 0
        return _repeat(s)
    return _wrong(s)


# --- who is calling ---------------------------------------------------------------------------


def _patient_entry(s: CallState, d: str) -> Step:
    value = d.replace(BACK, "X").upper()
    if _ID.fullmatch(value):
        return Step(s, [], FindPatient(id_number=value))
    if _CARD.fullmatch(value):
        return Step(s, [], FindPatient(card_no=value))
    return _wrong(s, "patient_invalid")


def _settle_patient(s: CallState, action: FindPatient, outcome: Outcome) -> Step:
    if outcome.error is not None:
        return _wrong(s, _error(outcome.error).key, **outcome.error.params)
    found = outcome.value or []
    if not found:
        return _enter(s, "unknown_patient")
    patient = found[0]
    if patient.get("banned_until"):
        return _home(s, [Prompt("patient_banned", patient)])
    s.patient = {"id": patient["id"], "name": patient["name"]}
    if s.purpose == "mine":
        s.patient_ids = [patient["id"]]
        return Step(s, [], ListBookings((patient["id"],)))
    return _enter(s, "book_dept", [Prompt("patient_found", s.patient)])


def _unknown(s: CallState, d: str) -> Step:
    if d == "1":
        s.node = s.back.pop() if s.back else "book_patient"
        s.fails = 0
        return _repeat(s)
    return _wrong(s)


def _settle_caller(s: CallState, action: FindCallerPatients, outcome: Outcome) -> Step:
    found = [p for p in (outcome.value or []) if not p.get("banned_until")] or []
    if not outcome.value:
        return _enter(s, "mine_patient")
    if not found:
        return _home(s, [Prompt("patient_banned", outcome.value[0])])
    s.patient_ids = [p["id"] for p in found]
    if len(found) == 1:
        s.patient = {"id": found[0]["id"], "name": found[0]["name"]}
    return Step(s, [], ListBookings(tuple(s.patient_ids)))


# --- department, doctor, day, time -----------------------------------------------------------


def _dept(s: CallState, d: str) -> Step:
    if d == MORE:
        return Step(s, [], ListDepartments())
    if re.fullmatch(r"\d{3}", d):
        return Step(s, [], ListDepartments(pick=d))
    return _wrong(s, "dept_invalid")


def _settle_depts(s: CallState, action: ListDepartments, outcome: Outcome) -> Step:
    items = outcome.value or []
    if action.pick is None:
        return _open_list(s, items, "list.empty")
    for item in items:
        if item["code"] == action.pick:
            return CHOOSERS[s.node](s, item)
    return _wrong(s, "dept_not_found", code=action.pick)


def _choose_dept(s: CallState, item: dict) -> Step:
    s.dept = item
    s.doctor = s.day = s.slot = None
    nxt = "sched_doctor" if s.node == "sched_dept" else "book_doctor"
    return _enter(s, nxt, [Prompt("chosen.department", item)])


def _doctor(s: CallState, d: str) -> Step:
    dept = (s.dept or {}).get("code", "")
    if d == MORE:
        return Step(s, [], ListDoctors(dept))
    if re.fullmatch(r"\d{5}", d):
        return Step(s, [], ListDoctors(dept, pick=d))
    return _wrong(s, "doctor_invalid")


def _settle_doctors(s: CallState, action: ListDoctors, outcome: Outcome) -> Step:
    items = outcome.value or []
    if action.pick is None:
        return _open_list(s, items, "list.empty")
    for item in items:
        if item["work_no"] == action.pick:
            return CHOOSERS[s.node](s, item)
    return _wrong(s, "doctor_not_found", work_no=action.pick)


def _choose_doctor(s: CallState, item: dict) -> Step:
    s.doctor = item
    s.day = s.slot = None
    if s.node == "sched_doctor":
        return Step(s, [Prompt("chosen.doctor", item)], ListDays(item["work_no"]))
    return _enter(s, "book_date", [Prompt("chosen.doctor", item)])


def _valid_mmdd(d: str) -> bool:
    if not re.fullmatch(r"\d{4}", d):
        return False
    try:
        date(2028, int(d[:2]), int(d[2:]))  # a leap year: 0229 is a date
    except ValueError:
        return False
    return True


def _date(s: CallState, d: str) -> Step:
    doctor = (s.doctor or {}).get("work_no", "")
    if d == MORE:
        return Step(s, [], ListDays(doctor))
    if _valid_mmdd(d):
        return Step(s, [], ListDays(doctor, pick=d))
    return _wrong(s, "day_invalid")


def _settle_days(s: CallState, action: ListDays, outcome: Outcome) -> Step:
    items = outcome.value or []
    if s.node in ("sched_doctor", "sched_read"):
        s.items = items
        return _enter(s, "sched_read")
    if action.pick is None:
        return _open_list(s, items, "no_days")
    for item in items:
        if item["day"][5:7] + item["day"][8:10] == action.pick:
            return _choose_day(s, item)
    return _wrong(s, "day_full", mmdd=action.pick)


def _choose_day(s: CallState, item: dict) -> Step:
    s.day = item
    s.slot = None
    return _enter(s, "book_time", [Prompt("chosen.day", item)])


def _time(s: CallState, d: str) -> Step:
    doctor = (s.doctor or {}).get("work_no", "")
    day = (s.day or {}).get("day", "")
    if d == MORE:
        return Step(s, [], ListTimes(doctor, day))
    if re.fullmatch(r"\d{4}", d) and int(d[:2]) < 24 and int(d[2:]) < 60:
        return Step(s, [], ListTimes(doctor, day, pick=d))
    return _wrong(s, "time_invalid")


def _settle_times(s: CallState, action: ListTimes, outcome: Outcome) -> Step:
    items = outcome.value or []
    if action.pick is None:
        return _open_list(s, [i for i in items if i["free"] > 0], "no_times")
    at = f"{action.pick[:2]}:{action.pick[2:]}"
    for item in items:
        if item["start"] <= at < item["end"]:
            if item["free"] <= 0:
                return _wrong(s, "error.slot_full", slot_id=item["id"])
            return _choose_time(s, item)
    return _wrong(s, "time_not_found", hhmm=action.pick)


def _choose_time(s: CallState, item: dict) -> Step:
    s.slot = item
    return _enter(s, "book_confirm")


# --- read back and book ----------------------------------------------------------------------


def _confirm(s: CallState, d: str) -> Step:
    if d == "1" and s.slot and s.patient:
        return Step(s, [], Book(s.slot["id"], s.patient["id"]))
    if d == "2":
        s.back = []
        s.node = "main"
        return _enter(s, "book_dept", [Prompt("change")])
    return _wrong(s)


_AFTER_BOOK_ERROR = {
    "slot_full": "book_time",
    "booking_closed": "book_time",
    "outside_window": "book_date",
    "session_unavailable": "book_date",
}


def _settle_book(s: CallState, action: Book, outcome: Outcome) -> Step:
    if outcome.error is not None:
        say = [_error(outcome.error)]
        nxt = _AFTER_BOOK_ERROR.get(outcome.error.code)
        if nxt is None:
            return _home(s, say)
        s.back = ["main", "book_dept", "book_doctor"] + (
            ["book_date"] if nxt == "book_time" else []
        )
        s.node = nxt
        s.slot = None
        s.fails = 0
        s.listing = False
        return _repeat(s, say)
    booked = outcome.value
    s.slot = None
    return _home(s, [Prompt("booked", booked), Prompt("booked_again", booked), Prompt("sms_sent")])


# --- my bookings ------------------------------------------------------------------------------


def _settle_bookings(s: CallState, action: ListBookings, outcome: Outcome) -> Step:
    s.bookings = list(outcome.value or [])
    s.index = 0
    if not s.bookings:
        return _home(s, [Prompt("no_bookings")])
    s.back = []
    s.node = "main"
    return _enter(s, "mine_item", [Prompt("bookings_found", {"total": len(s.bookings)})])


def _mine_item(s: CallState, d: str) -> Step:
    if d == "1":
        return _enter(s, "mine_cancel")
    if d == "2":
        if s.index + 1 < len(s.bookings):
            s.index += 1
            s.fails = 0
            return _repeat(s)
        return _home(s, [Prompt("list.last")])
    return _wrong(s)


def _mine_cancel(s: CallState, d: str) -> Step:
    if d == "1":
        return Step(s, [], Cancel(s.bookings[s.index]["booking_no"]))
    if d == "2":
        return _back(s)
    return _wrong(s)


def _settle_cancel(s: CallState, action: Cancel, outcome: Outcome) -> Step:
    if s.back and s.back[-1] == "mine_item":
        s.back.pop()
    s.node = "mine_item"
    s.fails = 0
    if outcome.error is not None:
        return _repeat(s, [_error(outcome.error)])
    cancelled = s.bookings.pop(s.index)
    say = [Prompt("cancelled", cancelled)]
    if not s.bookings:
        return _home(s, say)
    s.index = min(s.index, len(s.bookings) - 1)
    return _repeat(s, say)


# --- a doctor's schedule ----------------------------------------------------------------------


def _sched_read(s: CallState, d: str) -> Step:
    if d == "1":
        s.fails = 0
        return _repeat(s)
    if d == "2":
        return _home(s)
    return _wrong(s)


# --- complaints -------------------------------------------------------------------------------


def _complaint_menu(s: CallState, d: str) -> Step:
    if d == "1":
        return Step(s, [], OpenComplaint())
    if d == "2":
        return _enter(s, "complaint_lookup")
    return _wrong(s)


def _settle_open_complaint(s: CallState, action: OpenComplaint, outcome: Outcome) -> Step:
    s.tracking_no = outcome.value
    return _enter(s, "complaint_record")


def _settle_recording(s: CallState, action: SaveRecording, outcome: Outcome) -> Step:
    no = s.tracking_no or outcome.value or ""
    s.tracking_no = None
    return _home(
        s,
        [
            Prompt("complaint_saved", {"tracking_no": no}),
            Prompt("complaint_saved_again", {"tracking_no": no}),
        ],
    )


def _complaint_lookup(s: CallState, d: str) -> Step:
    if is_valid_serial(d, TRACKING_NO_LENGTH):
        return Step(s, [], LookupComplaint(d))
    return _wrong(s, "tracking_invalid")


def _settle_lookup(s: CallState, action: LookupComplaint, outcome: Outcome) -> Step:
    if outcome.error is not None:
        return _wrong(s, "tracking_not_found", tracking_no=action.tracking_no)
    status = outcome.value
    return _home(s, [Prompt(f"complaint_status.{status}", {"tracking_no": action.tracking_no})])


def _settle_transfer(s: CallState, action: Transfer, outcome: Outcome) -> Step:
    s.node = "transferred"
    s.listing = False
    return Step(s, [Prompt("transferred")])


def _none(s: CallState, d: str) -> Step:
    return _repeat(s)


HANDLERS: dict[str, Handler] = {
    "main": _main,
    "book_patient": _patient_entry,
    "mine_patient": _patient_entry,
    "unknown_patient": _unknown,
    "book_dept": _dept,
    "sched_dept": _dept,
    "book_doctor": _doctor,
    "sched_doctor": _doctor,
    "book_date": _date,
    "book_time": _time,
    "book_confirm": _confirm,
    "mine_item": _mine_item,
    "mine_cancel": _mine_cancel,
    "sched_read": _sched_read,
    "complaint_menu": _complaint_menu,
    "complaint_record": _none,
    "complaint_lookup": _complaint_lookup,
    "transferred": _none,
    "goodbye": _none,
}

CHOOSERS: dict[str, Chooser] = {
    "book_dept": _choose_dept,
    "sched_dept": _choose_dept,
    "book_doctor": _choose_doctor,
    "sched_doctor": _choose_doctor,
    "book_date": _choose_day,
    "book_time": _choose_time,
}

SETTLERS: dict[type, Callable[[CallState, Action, Outcome], Step]] = {
    FindPatient: _settle_patient,
    FindCallerPatients: _settle_caller,
    ListDepartments: _settle_depts,
    ListDoctors: _settle_doctors,
    ListDays: _settle_days,
    ListTimes: _settle_times,
    Book: _settle_book,
    ListBookings: _settle_bookings,
    Cancel: _settle_cancel,
    OpenComplaint: _settle_open_complaint,
    SaveRecording: _settle_recording,
    LookupComplaint: _settle_lookup,
    Transfer: _settle_transfer,
}
