"""Who does something (an operator, a token, a patient on a channel, the engine) and
the channels bookings come through."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    IVR = "ivr"
    SMS = "sms"
    AGENT = "agent"
    API = "api"
    KIOSK = "kiosk"
    HIS = "his"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something: written into every audit record.

    ``hospital_id`` set means the actor may only see and change that hospital (the rule
    is :mod:`booking_core.kernel.tenancy`'s).
    """

    kind: str  # "operator" | "token" | "patient" | "system"
    name: str
    hospital_id: int | None = None
    channel: Channel = Channel.API

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


SYSTEM = Actor("system", "engine", None, Channel.SYSTEM)
