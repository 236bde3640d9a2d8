"""The call flow as a pure state machine (语音导航).

``start()`` gives a new call's first answer. ``advance(state, event)`` maps the caller's
input to a :class:`~ivr.state.Step`: the next state, what to say, and maybe an action
on the booking core; when there is one, the adapter runs it and hands the outcome to
``settle(state, action, outcome)``, which may ask for another action, until a step
has none. Nothing here does I/O, so every path is tested without HTTP or a database.

Every node: no input → say so and repeat (three times, then an agent: from the main menu
too, a silent caller is never hung up on); wrong input → say what was wrong and repeat;
``*`` → back one step; ``0`` → an agent, with the context of the call (reason
``not_registered`` from "no record found": the agent registers the caller, 无卡病人, with
the number that called).

The package: this module holds the entry points and the tables that route each node's
input (``HANDLERS``), each list's choice (``CHOOSERS``) and each action's outcome
(``SETTLERS``); ``common`` the shared prompts and moves; ``menu`` the main menu and who is
calling; ``booking`` department, doctor, day, time and the booking; ``mine`` my bookings
(read and cancelled only for the caller ID's own patients, or after a code texted to the
patient's phone is typed); ``schedule`` a doctor's schedule; ``complaints`` complaints.
"""

from __future__ import annotations

from collections.abc import Callable

from booking_core.kernel.identity import mask_long_digits

from ..state import (
    NODES,
    Action,
    Book,
    CallState,
    Cancel,
    CheckCode,
    Digits,
    Event,
    FindCallerPatients,
    FindPatient,
    JoinWaitlist,
    LeaveWaitlists,
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
    SendCode,
    Step,
    Transfer,
)
from .booking import (
    CHOOSERS,
    confirm,
    day_entry,
    dept_entry,
    doctor_entry,
    settle_book,
    settle_days,
    settle_depts,
    settle_doctors,
    settle_times,
    settle_wait,
    time_entry,
)
from .common import (
    AGENT,
    BACK,
    MAX_FAILS,
    MORE,
    PAGE_SIZE,
    Handler,
    back,
    ignore,
    no_input,
    node_prompts,
    repeat,
    settle_transfer,
    to_agent,
    wrong,
)
from .complaints import (
    complaint_lookup,
    complaint_menu,
    settle_lookup,
    settle_open_complaint,
    settle_recording,
)
from .menu import main_menu, patient_entry, settle_patient, unknown_patient
from .mine import (
    mine_cancel,
    mine_code,
    mine_item,
    settle_bookings,
    settle_caller,
    settle_cancel,
    settle_check_code,
    settle_leave,
    settle_send_code,
)
from .schedule import sched_read

__all__ = ["MAX_FAILS", "PAGE_SIZE", "advance", "node_prompts", "settle", "start", "to_agent"]


# --- entry points ----------------------------------------------------------------------------


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
        return repeat(s)
    if node.kind in ("enqueue", "hangup"):
        return repeat(s)
    if isinstance(event, NoInput) or not isinstance(event, Digits) or not event.value:
        return no_input(s)
    digits = event.value.strip()
    s.last_digits = mask_long_digits(digits)  # an ID number is kept to its last 4
    if digits == AGENT and s.node == "unknown_patient":  # an agent registers them (无卡病人)
        return to_agent(s, "not_registered")
    if digits == AGENT:
        return to_agent(s, "asked")
    if digits == BACK:
        return back(s)
    if s.listing:
        return _listing(s, digits)
    return HANDLERS[s.node](s, digits)


def settle(state: CallState, action: Action, outcome: Outcome) -> Step:
    s = state.copy()
    return SETTLERS[type(action)](s, action, outcome)


def _listing(s: CallState, digits: str) -> Step:
    if digits == MORE:
        if (s.page + 1) * PAGE_SIZE < len(s.items):
            s.page += 1
        else:
            s.page = 0
        s.fails = 0
        return repeat(s)
    if len(digits) == 1 and digits.isdigit():
        index = s.page * PAGE_SIZE + int(digits) - 1
        if int(digits) >= 1 and index < len(s.items):
            return CHOOSERS[s.node](s, s.items[index])
    return wrong(s, "wrong_choice")


HANDLERS: dict[str, Handler] = {
    "main": main_menu,
    "book_patient": patient_entry,
    "mine_patient": patient_entry,
    "mine_code": mine_code,
    "unknown_patient": unknown_patient,
    "book_dept": dept_entry,
    "sched_dept": dept_entry,
    "book_doctor": doctor_entry,
    "sched_doctor": doctor_entry,
    "book_date": day_entry,
    "book_time": time_entry,
    "book_confirm": confirm,
    "mine_item": mine_item,
    "mine_cancel": mine_cancel,
    "sched_read": sched_read,
    "complaint_menu": complaint_menu,
    "complaint_record": ignore,
    "complaint_lookup": complaint_lookup,
    "transferred": ignore,
    "goodbye": ignore,
}


SETTLERS: dict[type, Callable[[CallState, Action, Outcome], Step]] = {
    FindPatient: settle_patient,
    FindCallerPatients: settle_caller,
    ListDepartments: settle_depts,
    ListDoctors: settle_doctors,
    ListDays: settle_days,
    ListTimes: settle_times,
    Book: settle_book,
    JoinWaitlist: settle_wait,
    LeaveWaitlists: settle_leave,
    ListBookings: settle_bookings,
    Cancel: settle_cancel,
    SendCode: settle_send_code,
    CheckCode: settle_check_code,
    OpenComplaint: settle_open_complaint,
    SaveRecording: settle_recording,
    LookupComplaint: settle_lookup,
    Transfer: settle_transfer,
}
