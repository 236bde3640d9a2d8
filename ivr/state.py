"""What the call flow works with: the call's state, the caller's input, the actions
it asks of the booking core and their outcomes, and the prompts it wants said.

All plain data: the state goes to the database as JSON between webhooks (any engine
process can serve a call's next step), and the flow's tests need no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

import orjson

from booking_core.kernel.errors import GuahaoError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
Kind = Literal["menu", "code", "record", "enqueue", "hangup"]


@dataclass(frozen=True, slots=True)
class Node:
    """A state of the call: how the caller answers it. ``menu``: one key; ``code``: digits
    ended by ``#`` (or, when the node offers a list, ``9`` to hear it); ``record``: speak
    after the tone; ``enqueue``: wait for an agent; ``hangup``: goodbye."""

    kind: Kind
    listable: bool = False


NODES: dict[str, Node] = {
    "main": Node("menu"),
    "book_patient": Node("code"),
    "unknown_patient": Node("menu"),
    "book_dept": Node("code", listable=True),
    "book_doctor": Node("code", listable=True),
    "book_date": Node("code", listable=True),
    "book_time": Node("code", listable=True),
    "book_confirm": Node("menu"),
    "mine_patient": Node("code"),
    "mine_code": Node("code"),
    "mine_item": Node("menu"),
    "mine_cancel": Node("menu"),
    "sched_dept": Node("code", listable=True),
    "sched_doctor": Node("code", listable=True),
    "sched_read": Node("menu"),
    "complaint_menu": Node("menu"),
    "complaint_record": Node("record"),
    "complaint_lookup": Node("code"),
    "transferred": Node("enqueue"),
    "goodbye": Node("hangup"),
}
"""Every state the flow can be in; each has a prompt of the same key in every language."""


@dataclass(frozen=True, slots=True)
class Prompt:
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CallState:
    node: str = "main"
    lang: Lang = "zh"
    seq: int = 0  # the step number the next answer is posted with (kept by the store)
    fails: int = 0  # no input or wrong input in a row, at this node
    back: list[str] = field(default_factory=list)  # nodes to return to with *
    purpose: str = "book"  # what a patient look-up is for: "book" | "mine"
    listing: bool = False  # the node is reading its list, page by page
    page: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)  # the list being read
    patient: dict[str, Any] | None = None  # {"id", "name" (masked), "family", "sex"}
    patient_ids: list[int] = field(default_factory=list)  # whose bookings "mine" reads
    dept: dict[str, Any] | None = None
    doctor: dict[str, Any] | None = None
    day: dict[str, Any] | None = None
    later: list[dict[str, Any]] = field(default_factory=list)  # days not released yet (放号)
    window_days: int | None = None  # the booking window's N: "today and the next N days"
    slot: dict[str, Any] | None = None
    wait_day: str | None = None  # 候补: the full day (MMDD) the caller may wait for
    bookings: list[dict[str, Any]] = field(default_factory=list)
    index: int = 0
    tracking_no: str | None = None
    last_digits: str = ""  # what was typed last, a run of 15+ digits (an ID) masked

    def to_json(self) -> str:
        """Plain JSON (the values are JSON already: no deep copy needed to write them)."""
        return orjson.dumps({name: getattr(self, name) for name in _STORED}).decode()

    @classmethod
    def from_json(cls, text: str, seq: int = 0) -> CallState:
        state = cls(**orjson.loads(text))
        state.seq = seq
        return state

    def copy(self) -> CallState:
        return CallState.from_json(self.to_json(), self.seq)


_STORED = tuple(f.name for f in fields(CallState) if f.name != "seq")  # seq: the store's column


# --- what the caller did --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Digits:
    value: str


@dataclass(frozen=True, slots=True)
class NoInput:
    pass


@dataclass(frozen=True, slots=True)
class Recorded:
    recording_sid: str | None = None
    recording_url: str | None = None
    duration_seconds: int | None = None


Event = Digits | NoInput | Recorded


# --- what the flow asks of the booking core ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    writes: ClassVar[bool] = False  # changes the core: only one delivery of a step may do it


@dataclass(frozen=True, slots=True)
class FindPatient(Action):
    card_no: str | None = None
    id_number: str | None = None


@dataclass(frozen=True, slots=True)
class FindCallerPatients(Action):
    """Patients registered with the caller's phone number."""


@dataclass(frozen=True, slots=True)
class ListDepartments(Action):
    pick: str | None = None  # the code typed, to be found in the list


@dataclass(frozen=True, slots=True)
class ListDoctors(Action):
    department: str
    pick: str | None = None


@dataclass(frozen=True, slots=True)
class ListDays(Action):
    """Days of the booking window on which the doctor has free places that can be booked
    now; the outcome is ``{"days": [...], "later": [...], "window": N}``, ``later`` the
    next day to be released (放号) with its ``opens_at``, when the doctor has places on it."""

    doctor: str
    pick: str | None = None  # MMDD


@dataclass(frozen=True, slots=True)
class ListTimes(Action):
    """The doctor's slots on a day, full ones too (so "full" can be told from "none")."""

    doctor: str
    day: str
    pick: str | None = None  # hhmm


@dataclass(frozen=True, slots=True)
class ListBookings(Action):
    patient_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SendCode(Action):
    """Before "my bookings" of a patient whose phone is not the caller ID: a code texted to
    the patient's phone. Outcome: ``{"status": "caller" | "sent" | "recent" | "no_phone",
    "last4": …}`` (``last4``: the patient's phone's last four digits)."""

    writes: ClassVar[bool] = True
    patient_id: int


@dataclass(frozen=True, slots=True)
class CheckCode(Action):
    """The code typed; outcome ``"ok"``, ``"wrong"`` or ``"spent"``."""

    writes: ClassVar[bool] = True
    patient_id: int
    code: str


@dataclass(frozen=True, slots=True)
class LookupComplaint(Action):
    tracking_no: str


@dataclass(frozen=True, slots=True)
class Book(Action):
    writes: ClassVar[bool] = True
    slot_id: int
    patient_id: int


@dataclass(frozen=True, slots=True)
class JoinWaitlist(Action):
    """候补: wait for the doctor's earliest full session that day (MMDD); outcome
    ``{"position": n, "day": ISO date}``."""

    writes: ClassVar[bool] = True
    doctor: str
    day: str  # MMDD
    patient_id: int


@dataclass(frozen=True, slots=True)
class LeaveWaitlists(Action):
    """退出候补: every line the caller's own patients (by caller ID) wait in; outcome the
    number of lines left."""

    writes: ClassVar[bool] = True
    patient_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Cancel(Action):
    writes: ClassVar[bool] = True
    booking_no: str


@dataclass(frozen=True, slots=True)
class OpenComplaint(Action):
    writes: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class SaveRecording(Action):
    writes: ClassVar[bool] = True
    recording_sid: str | None = None
    recording_url: str | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Transfer(Action):
    writes: ClassVar[bool] = True
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action gave: a value, or the core's typed refusal."""

    value: Any = None
    error: GuahaoError | None = None


@dataclass(slots=True)
class Step:
    """The flow's answer: the state to go to, what to say (in order), and an action whose
    outcome the flow must see before it can finish the answer (see ``flow.settle``)."""

    state: CallState
    say: list[Prompt] = field(default_factory=list)
    action: Action | None = None
