"""What every node shares: the constants, what each node says, and the moves (enter a
node, repeat it, go back, give up to an agent, open a list) the handlers are built from."""

from __future__ import annotations

from collections.abc import Callable

from ..state import NODES, CallState, Outcome, Prompt, Step, Transfer

MAX_FAILS = 3  # then an agent, from every node (the main menu too): a caller is never dropped


PAGE_SIZE = 8  # items 1-8 on a page, 9 = more


MORE = "9"


AGENT = "0"


BACK = "*"


TRACKING_NO_LENGTH = 7

Handler = Callable[[CallState, str], Step]
Chooser = Callable[[CallState, dict], Step]


# --- what each node says ---------------------------------------------------------------------


def node_prompts(s: CallState) -> list[Prompt]:
    if s.listing:
        return page_prompts(s)
    if s.node == "book_confirm" and s.slot:
        return [Prompt("book_confirm", readback(s))]
    if s.node in ("mine_item", "mine_cancel") and s.bookings:
        booking = s.bookings[s.index]
        return [Prompt(s.node, {**booking, "n": s.index + 1, "total": len(s.bookings)})]
    if s.node == "sched_read":
        doctor = s.doctor or {}
        days = s.window_days
        out = [
            Prompt(
                "sched_read_head",
                {"doctor": doctor.get("name", ""), "title": doctor.get("title", ""), "days": days},
            )
        ]
        out += [Prompt("item.sched_day", item) for item in s.items]
        if not s.items:
            out.append(Prompt("sched_none", {"days": days}))
        out += [Prompt("item.later_day", item) for item in s.later]
        return [*out, Prompt("sched_read")]
    if s.node == "complaint_record":
        return [Prompt("complaint_record", {"tracking_no": s.tracking_no or ""})]
    return [Prompt(s.node)]


def readback(s: CallState) -> dict:
    slot, doctor, dept = s.slot or {}, s.doctor or {}, s.dept or {}
    return {
        "day": slot.get("day"),
        "start": slot.get("start"),
        "dept": dept.get("name", ""),
        "doctor": doctor.get("name", ""),
        "title": doctor.get("title", ""),
        "fee": slot.get("fee", doctor.get("fee", 0)),
        # the caller is addressed by family name and title (ivr/names.py), never by the
        # masked name the agent's screen shows
        "family": (s.patient or {}).get("family", ""),
        "sex": (s.patient or {}).get("sex", ""),
    }


ITEM_PROMPT = {
    "book_dept": "item.department",
    "sched_dept": "item.department",
    "book_doctor": "item.doctor",
    "sched_doctor": "item.doctor",
    "book_date": "item.day",
    "book_time": "item.time",
}


def page_prompts(s: CallState) -> list[Prompt]:
    first = s.page * PAGE_SIZE
    page = s.items[first : first + PAGE_SIZE]
    out = [Prompt(ITEM_PROMPT[s.node], {**item, "n": i + 1}) for i, item in enumerate(page)]
    more = first + PAGE_SIZE < len(s.items)
    if s.node == "book_date" and not more:  # then when the next day opens (放号)
        out += [Prompt("item.later_day", item) for item in s.later]
    out.append(Prompt("list.more" if more else "list.last"))
    return out


# --- moves shared by every node --------------------------------------------------------------


def enter(s: CallState, node: str, say: list[Prompt] | None = None) -> Step:
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


def home(s: CallState, say: list[Prompt] | None = None) -> Step:
    s.back = []
    s.node = "main"
    return enter(s, "main", say)


def repeat(s: CallState, say: list[Prompt] | None = None) -> Step:
    return Step(s, [*(say or []), *node_prompts(s)])


def no_input(s: CallState) -> Step:
    s.fails += 1
    if s.fails >= MAX_FAILS:
        return to_agent(s, "no_input", [Prompt("no_input_final")])
    return repeat(s, [Prompt("no_input")])


def wrong(s: CallState, key: str = "wrong_input", **params) -> Step:
    s.fails += 1
    if s.fails >= MAX_FAILS:
        return to_agent(s, "wrong_input", [Prompt(key, params)])
    return repeat(s, [Prompt(key, params)])


def back(s: CallState) -> Step:
    if s.listing:
        s.listing = False
        s.fails = 0
        return repeat(s)
    if not s.back:
        return repeat(s)
    s.node = s.back.pop()
    s.fails = 0
    return repeat(s)


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


def error_prompt(err) -> Prompt:
    return Prompt(f"error.{err.code}", dict(err.params))


def open_list(s: CallState, items: list[dict], empty_key: str) -> Step:
    if not items:
        return wrong(s, empty_key)
    s.items = items
    s.listing = True
    s.page = 0
    s.fails = 0
    return repeat(s)


def settle_transfer(s: CallState, action: Transfer, outcome: Outcome) -> Step:
    s.node = "transferred"
    s.listing = False
    return Step(s, [Prompt("transferred")])


def ignore(s: CallState, d: str) -> Step:
    return repeat(s)
