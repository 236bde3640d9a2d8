"""The call flow as a pure state machine: no HTTP, no database."""

from __future__ import annotations

from datetime import datetime

import pytest

from booking_core.kernel.errors import CancelDeadlinePassed, LimitReached, SlotFull
from ivr import flow
from ivr.state import (
    Book,
    CallState,
    Digits,
    FindPatient,
    ListDays,
    ListDepartments,
    NoInput,
    Outcome,
    Transfer,
)


def keys(step) -> list[str]:
    return [p.key for p in step.say]


def press(state: CallState, digits: str):
    return flow.advance(state, Digits(digits))


def at(node: str, **fields) -> CallState:
    return CallState(node=node, **fields)


def test_a_call_starts_at_the_main_menu():
    step = flow.start()
    assert step.state.node == "main"
    assert keys(step) == ["welcome", "main"]


@pytest.mark.parametrize(
    ("digits", "node"),
    [("1", "book_patient"), ("3", "sched_dept"), ("4", "complaint_menu")],
)
def test_main_menu_choices(digits, node):
    step = press(at("main"), digits)
    assert step.state.node == node
    assert step.action is None
    assert keys(step) == [node]


def test_nine_switches_language_both_ways():
    english = press(at("main"), "9").state
    assert english.lang == "en"
    assert press(english, "9").state.lang == "zh"


def test_no_input_repeats_then_an_agent_from_the_main_menu_too():
    """#9 item 9: a silent caller at the main menu is put through, never hung up on."""
    state = at("main")
    for _ in range(2):
        step = flow.advance(state, NoInput())
        assert keys(step) == ["no_input", "main"]
        state = step.state
    step = flow.advance(state, NoInput())
    assert step.state.node != "goodbye"
    assert keys(step) == ["no_input_final"]
    assert isinstance(step.action, Transfer)
    assert step.action.context["reason"] == "no_input"
    assert step.action.context["step"] == "main"
    done = flow.settle(step.state, step.action, Outcome(value={}))
    assert done.state.node == "transferred"
    assert keys(done) == ["transferred"]


def test_no_input_three_times_elsewhere_goes_to_an_agent():
    state = at("book_dept", patient={"id": 7, "name": "张*"})
    for _ in range(2):
        state = flow.advance(state, NoInput()).state
    step = flow.advance(state, NoInput())
    assert isinstance(step.action, Transfer)
    assert step.action.context["reason"] == "no_input"
    assert step.action.context["patient_id"] == 7
    done = flow.settle(step.state, step.action, Outcome(value={}))
    assert done.state.node == "transferred"


def test_wrong_input_says_what_was_wrong_and_repeats():
    step = press(at("book_dept"), "12")
    assert keys(step) == ["dept_invalid", "book_dept"]
    assert step.state.fails == 1


def test_zero_from_anywhere_is_an_agent_with_the_context():
    state = at(
        "book_time",
        dept={"code": "101"},
        doctor={"work_no": "00868"},
        day={"day": "2026-07-11"},
        last_digits="",
    )
    step = press(state, "0")
    assert isinstance(step.action, Transfer)
    assert step.action.context == {
        "reason": "asked",
        "step": "book_time",
        "digits": "0",
        "lang": "zh",
        "department": "101",
        "doctor": "00868",
        "day": "2026-07-11",
    }


def test_zero_after_no_record_found_is_an_agent_to_register_the_caller():
    step = press(at("unknown_patient", back=["book_patient"]), "0")
    assert isinstance(step.action, Transfer)
    assert step.action.context["reason"] == "not_registered"
    assert step.action.context["step"] == "unknown_patient"
    again = press(at("unknown_patient", back=["book_patient"]), "1")  # or try again
    assert again.state.node == "book_patient"


def test_star_goes_back_one_step_and_out_of_a_list_first():
    state = press(at("main"), "3").state
    assert state.node == "sched_dept"
    listing = flow.settle(
        state, ListDepartments(), Outcome(value=[{"code": "101", "name": "心内科"}])
    ).state
    assert listing.listing
    out = press(listing, "*").state
    assert (out.node, out.listing) == ("sched_dept", False)
    assert press(out, "*").state.node == "main"


def test_star_in_an_id_number_is_the_letter_x():
    step = press(at("book_patient"), "11010519800101001*")
    assert step.action == FindPatient(id_number="11010519800101001X")
    assert press(at("book_patient"), "*").state.node == "book_patient"  # no history: stay


def test_lists_are_paged_eight_at_a_time_nine_for_more():
    items = [{"code": f"{100 + i}", "name": f"科{i}"} for i in range(11)]
    step = flow.settle(at("book_dept"), ListDepartments(), Outcome(value=items))
    assert [p.params.get("n") for p in step.say[:-1]] == list(range(1, 9))
    assert step.say[-1].key == "list.more"
    page2 = press(step.state, "9")
    assert [p.params["code"] for p in page2.say[:-1]] == ["108", "109", "110"]
    assert page2.say[-1].key == "list.last"
    chosen = press(page2.state, "2")
    assert chosen.state.dept == {"code": "109", "name": "科9"}
    assert chosen.state.node == "book_doctor"


def test_a_typed_code_is_looked_up_in_the_list():
    step = press(at("book_dept"), "101")
    assert step.action == ListDepartments(pick="101")
    missing = flow.settle(step.state, step.action, Outcome(value=[]))
    assert keys(missing) == ["dept_not_found", "book_dept"]


READY = {
    "node": "book_confirm",
    "patient": {"id": 1, "name": "张*"},
    "dept": {"code": "101", "name": "心内科"},
    "doctor": {"work_no": "00868", "name": "王医生", "title": "主任医师", "fee": 5000},
    "day": {"day": "2026-07-11", "periods": ["morning"], "free": 3},
    "slot": {
        "id": 42,
        "day": "2026-07-11",
        "start": "08:30",
        "end": "09:00",
        "free": 1,
        "fee": 5000,
        "period": "morning",
    },
}


def test_confirm_books_and_reads_the_serial_twice():
    step = press(CallState(**READY), "1")
    assert step.action == Book(slot_id=42, patient_id=1)
    booked = {"booking_no": "123456789", "day": "2026-07-11", "start": "08:30"}
    done = flow.settle(step.state, step.action, Outcome(value=booked))
    assert keys(done) == ["booked", "booked_again", "sms_sent", "main"]
    assert done.state.node == "main"


@pytest.mark.parametrize(
    ("error", "node"),
    [
        (SlotFull(slot_id=42), "book_time"),
        (LimitReached(rule="per_department_per_day", limit=1), "main"),
    ],
)
def test_the_cores_refusals_are_said_with_what_next(error, node):
    step = press(CallState(**READY), "1")
    done = flow.settle(step.state, step.action, Outcome(error=error))
    assert done.say[0].key == f"error.{error.code}"
    assert done.state.node == node


def test_cancel_refused_says_until_when():
    booking = {"booking_no": "123456789", "day": "2026-07-10", "start": "08:00"}
    state = at("mine_cancel", bookings=[booking], back=["mine_item"])
    step = press(state, "1")
    deadline = datetime(2026, 7, 10, 8, 0)
    done = flow.settle(step.state, step.action, Outcome(error=CancelDeadlinePassed(deadline)))
    assert done.say[0].key == "error.cancel_deadline_passed"
    assert done.say[0].params == {"deadline": deadline}
    assert done.state.node == "mine_item"


def test_the_state_survives_json():
    state = CallState(**READY)
    state.seq = 9
    again = CallState.from_json(state.to_json(), 9)
    assert again == state


LATER = {
    "day": "2026-07-17",
    "periods": ["morning"],
    "free": 16,
    "opens_at": "2026-07-10T07:30:00+08:00",
}


def test_a_day_not_released_yet_is_not_listed_but_its_opening_is_said():
    """#9 item 10: the list is what can be booked now; the next day's opening follows it."""
    state = at("book_date", doctor={"work_no": "00868"})
    open_day = {"day": "2026-07-16", "periods": ["morning"], "free": 16}
    outcome = Outcome(value={"days": [open_day], "later": [LATER], "window": 7})
    step = flow.settle(state, ListDays("00868"), outcome)
    assert keys(step) == ["item.day", "item.later_day", "list.last"]
    assert step.state.items == [open_day]
    assert step.say[1].params["opens_at"] == LATER["opens_at"]

    typed = flow.settle(state, ListDays("00868", pick="0717"), outcome)
    assert keys(typed) == ["error.outside_window", "book_date"]
    assert typed.state.node == "book_date"
    assert typed.state.day is None


def test_no_day_open_says_the_window_and_when_the_next_opens():
    state = at("book_date", doctor={"work_no": "00868"})
    outcome = Outcome(value={"days": [], "later": [LATER], "window": 7})
    step = flow.settle(state, ListDays("00868"), outcome)
    assert keys(step) == ["no_days", "item.later_day", "book_date"]
    assert step.say[0].params == {"days": 7}


def test_the_schedule_says_the_windows_days():
    state = at("sched_doctor", doctor={"work_no": "00868", "name": "王", "title": "主任医师"})
    outcome = Outcome(value={"days": [], "later": [LATER], "window": 14})
    step = flow.settle(state, ListDays("00868"), outcome)
    assert keys(step) == ["sched_read_head", "sched_none", "item.later_day", "sched_read"]
    assert step.say[0].params["days"] == 14
    assert step.say[1].params == {"days": 14}
