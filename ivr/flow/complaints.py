"""Complaints: leave a recorded message (and hear its tracking number), or ask where one is."""

from __future__ import annotations

from booking_core.kernel.identity import is_valid_serial

from ..state import CallState, LookupComplaint, OpenComplaint, Outcome, Prompt, SaveRecording, Step
from .common import TRACKING_NO_LENGTH, enter, home, wrong


def complaint_menu(s: CallState, d: str) -> Step:
    if d == "1":
        return Step(s, [], OpenComplaint())
    if d == "2":
        return enter(s, "complaint_lookup")
    return wrong(s)


def settle_open_complaint(s: CallState, action: OpenComplaint, outcome: Outcome) -> Step:
    s.tracking_no = outcome.value
    return enter(s, "complaint_record")


def settle_recording(s: CallState, action: SaveRecording, outcome: Outcome) -> Step:
    no = s.tracking_no or outcome.value or ""
    s.tracking_no = None
    return home(
        s,
        [
            Prompt("complaint_saved", {"tracking_no": no}),
            Prompt("complaint_saved_again", {"tracking_no": no}),
        ],
    )


def complaint_lookup(s: CallState, d: str) -> Step:
    if is_valid_serial(d, TRACKING_NO_LENGTH):
        return Step(s, [], LookupComplaint(d))
    return wrong(s, "tracking_invalid")


def settle_lookup(s: CallState, action: LookupComplaint, outcome: Outcome) -> Step:
    if outcome.error is not None:
        return wrong(s, "tracking_not_found", tracking_no=action.tracking_no)
    status = outcome.value
    return home(s, [Prompt(f"complaint_status.{status}", {"tracking_no": action.tracking_no})])
