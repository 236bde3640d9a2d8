"""The main menu and who is calling: a card or ID number typed in, or the caller's number."""

from __future__ import annotations

import re

from booking_core.rules import RuleKey

from ..state import CallState, FindCallerPatients, FindPatient, Outcome, Prompt, SendCode, Step
from .common import BACK, enter, error_prompt, home, repeat, to_agent, wrong

CARD = re.compile(r"\d{4,20}")


ID_NUMBER = re.compile(r"\d{17}[\dX]")


# --- main menu -------------------------------------------------------------------------------


def main_menu(s: CallState, d: str) -> Step:
    if d == "1":
        s.purpose = "book"
        if s.patient:
            return enter(s, "book_dept", [Prompt("patient_found", s.patient)])
        return enter(s, "book_patient")
    if d == "2":
        s.purpose = "mine"
        return Step(s, [], FindCallerPatients())
    if d == "3":
        return enter(s, "sched_dept")
    if d == "4":
        return enter(s, "complaint_menu")
    if d == "5":  # 退出候补: the caller ID's own patients, as "my bookings" finds them
        s.purpose = "leave_waitlist"
        return Step(s, [], FindCallerPatients())
    if d == "9":
        s.lang = "en" if s.lang == "zh" else "zh"
        s.fails = 0
        return repeat(s)
    return wrong(s)


# --- who is calling --------------------------------------------------------------------------


def patient_entry(s: CallState, d: str) -> Step:
    value = d.replace(BACK, "X").upper()
    if ID_NUMBER.fullmatch(value):
        return Step(s, [], FindPatient(id_number=value))
    if CARD.fullmatch(value):
        return Step(s, [], FindPatient(card_no=value))
    return wrong(s, "patient_invalid")


def settle_patient(s: CallState, action: FindPatient, outcome: Outcome) -> Step:
    if outcome.error is not None:
        if outcome.error.params.get("rule") == RuleKey.IVR_LOOKUPS_PER_HOUR:
            return to_agent(s, "lookup_limit", [Prompt("lookup_limit")])  # kindly, a person
        return wrong(s, error_prompt(outcome.error).key, **outcome.error.params)
    found = outcome.value or []
    if not found:
        return enter(s, "unknown_patient")
    patient = found[0]
    if patient.get("banned_until"):
        return home(s, [Prompt("patient_banned", patient)])
    s.patient = {k: patient[k] for k in ("id", "name", "family", "sex")}
    if s.purpose == "mine":  # a card or ID number proves nothing: the patient's phone does
        s.patient_ids = []
        return Step(s, [], SendCode(patient["id"]))
    return enter(s, "book_dept", [Prompt("patient_found", s.patient)])


def unknown_patient(s: CallState, d: str) -> Step:
    if d == "1":
        s.node = s.back.pop() if s.back else "book_patient"
        s.fails = 0
        return repeat(s)
    return wrong(s)
