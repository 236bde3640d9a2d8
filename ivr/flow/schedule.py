"""A doctor's schedule read out (department and doctor are picked as on the booking path)."""

from __future__ import annotations

from ..state import CallState, Step
from .common import home, repeat, wrong


def sched_read(s: CallState, d: str) -> Step:
    if d == "1":
        s.fails = 0
        return repeat(s)
    if d == "2":
        return home(s)
    return wrong(s)
