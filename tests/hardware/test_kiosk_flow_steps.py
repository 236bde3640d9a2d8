"""What the kiosk offers after a swipe (hardware/agent/flow.py): a step per booking status,
and a checked-in booking only while its ticket has not been printed."""

from __future__ import annotations

from hardware.agent.flow import STEPS, actionable, describe
from hardware.protocol import Reply


def _offered(*bookings: dict) -> list[str]:
    reply = Reply("r1", True, {"bookings": list(bookings)})
    return [f"{b['booking_no']}:{STEPS[b['status']].request}" for b in actionable(reply)]


def test_each_status_has_its_step_and_a_printed_ticket_is_not_offered_again():
    assert _offered(
        {"booking_no": "1", "status": "confirmed"},
        {"booking_no": "2", "status": "held"},
        {"booking_no": "3", "status": "checked_in", "ticket_printed": False},
        {"booking_no": "4", "status": "checked_in", "ticket_printed": True},
        {"booking_no": "5", "status": "checked_in"},  # an engine that does not say: not offered
        {"booking_no": "6", "status": "cancelled"},
    ) == ["1:check_in", "2:pay", "3:reprint"]


def test_a_reprint_is_worded_for_the_patient():
    booking = {"booking_no": "3", "status": "checked_in", "time": "08:30-09:00",
               "department": "心内科", "doctor": "张建国"}  # fmt: skip
    assert describe(booking) == "08:30-09:00 心内科 张建国（补打凭条）"
