"""What a job handler is given (:class:`Run`) and what it gives back (:class:`Outcome`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hardware.protocol import Job

from .journal import Entry, Journal
from .kiosk_devices import KioskDevices
from .screen import Screen


@dataclass(frozen=True, slots=True)
class Outcome:
    """A job's ack; ``again`` when its outcome is unknown (the terminal never answered a
    refund or reversal): if the job comes again it runs again, with the same request id."""

    ack: dict[str, Any]
    again: bool = False


@dataclass(frozen=True, slots=True)
class Run:
    """One job being run: ``entry`` its journal row (``request_id`` already written for a
    money job), ``resumed`` when it was running as the agent stopped."""

    job: Job
    entry: Entry
    resumed: bool
    journal: Journal
    devices: KioskDevices
    screen: Screen
    now: Callable[[], datetime]
    new_request_id: Callable[[], str]
    reversal_pending: Callable[[], None]  # a reversal waits for the terminal: tell the settler
