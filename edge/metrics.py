"""The bookings metric as the doors see it (预约量): every door reports each booking
attempt to the ``on_booking(channel, result)`` the engine hands its ``make_app`` (the
engine's Prometheus counter ``guahao_bookings_total``; the engine owns the registry), and
a counter that fails is logged, never the door's answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

BookingCounter = Callable[[str, str], None]
"""``on_booking(channel, result)``: the channel the attempt came through ("ivr", "sms", the
API caller's) and its result: "created", "replayed" (an API retry with the same key) or
the core's refusal code ("slot_full" …)."""


def count_booking(on_booking: BookingCounter | None, channel: str, result: str) -> None:
    """Report one booking attempt to ``on_booking`` (when the door was given one)."""
    if on_booking is None:
        return
    try:
        on_booking(channel, result)
    except Exception:
        log.exception("on_booking(%s, %s) failed", channel, result)
