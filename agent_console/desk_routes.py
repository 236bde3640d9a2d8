"""Routes of the agent's desk: incoming calls (SSE), the softphone's access token,
patient search and record, booking for the caller (book, change, cancel)."""

from __future__ import annotations

from .permissions import Permission
from .routing import Route
from .views.desk import (
    agent_states,
    bookings,
    calls,
    patients,
    registration,
    softphone,
    waitlist,
)

P = Permission
SID = r"{sid:[A-Za-z0-9_\-]{1,64}}"
NO = r"{no:\d{1,20}}"
ID = r"{id:\d{1,18}}"

ROUTES: list[Route] = [
    Route("GET", "/desk", calls.desk, P.CALLS_TAKE, "desk/desk.html", "desk"),
    Route("GET", "/desk/calls/stream", calls.call_stream, P.CALLS_TAKE, "desk/call_rows.html"),
    Route("GET", f"/desk/calls/{SID}", calls.call_page, P.CALLS_TAKE, "desk/call.html"),
    Route("POST", f"/desk/calls/{SID}/take", calls.take, P.CALLS_TAKE, "desk/call.html"),
    Route("POST", "/voice/token", softphone.voice_token, P.CALLS_TAKE),  # JSON, no-store
    Route("POST", f"/desk/calls/{SID}/hold", softphone.hold, P.CALLS_TAKE),  # JSON
    Route("POST", f"/desk/calls/{SID}/resume", softphone.resume, P.CALLS_TAKE),  # JSON
    Route("POST", f"/desk/calls/{SID}/transfer", softphone.transfer, P.CALLS_TAKE),  # JSON
    Route("GET", "/desk/agents", softphone.agents, P.CALLS_TAKE, "desk/agents.html"),
    Route("GET", "/desk/state", agent_states.state_page, P.CALLS_TAKE, "desk/state.html"),
    Route("POST", "/desk/state", agent_states.set_state, P.CALLS_TAKE, "desk/state.html"),
    Route("POST", f"/desk/calls/{SID}/finish", agent_states.finish, P.CALLS_TAKE,
          "desk/state.html"),
    Route("GET", f"/desk/calls/{SID}/wrap-up", agent_states.wrap_up_form, P.CALLS_TAKE,
          "desk/wrap_up.html"),
    Route("POST", f"/desk/calls/{SID}/wrap-up", agent_states.wrap_up, P.CALLS_TAKE,
          "desk/wrap_up.html"),
    Route("GET", "/desk/patients", patients.search, P.PATIENTS_VIEW, "desk/search.html"),
    Route("POST", "/desk/patients", patients.search_post, P.PATIENTS_VIEW, "desk/search.html"),
    Route("GET", "/desk/patients/new", registration.new_form, P.PATIENTS_MANAGE,
          "desk/patient_new.html"),
    Route("POST", "/desk/patients/new", registration.register, P.PATIENTS_MANAGE,
          "desk/patient_new.html"),
    Route("GET", f"/desk/patients/{ID}/phone", registration.phone_form, P.PATIENTS_MANAGE,
          "desk/phone.html"),
    Route("POST", f"/desk/patients/{ID}/phone", registration.change_phone, P.PATIENTS_MANAGE,
          "desk/phone.html"),
    Route("GET", f"/desk/patients/{ID}", patients.record, P.PATIENTS_VIEW, "desk/patient.html"),
    Route("POST", f"/desk/patients/{ID}/reveal", patients.reveal, P.PATIENTS_REVEAL,
          "desk/patient.html"),
    Route("POST", f"/desk/patients/{ID}/appeal", patients.appeal, P.PATIENTS_MANAGE,
          "desk/patient.html"),
    Route("GET", f"/desk/patients/{ID}/slots", bookings.slots, P.BOOKINGS_MANAGE,
          "desk/slots.html"),
    Route("POST", f"/desk/patients/{ID}/book", bookings.book, P.BOOKINGS_MANAGE,
          "desk/slots.html"),
    # 候补: join a full session for the caller, leave it (#15)
    Route("POST", f"/desk/patients/{ID}/waitlist", waitlist.join, P.BOOKINGS_MANAGE,
          "desk/patient.html"),
    Route("POST", f"/desk/patients/{ID}/waitlist/leave", waitlist.leave, P.BOOKINGS_MANAGE,
          "desk/patient.html"),
    Route("GET", f"/desk/bookings/{NO}", bookings.booking, P.BOOKINGS_VIEW, "desk/booking.html"),
    Route("GET", f"/desk/bookings/{NO}/slots", bookings.reschedule_slots, P.BOOKINGS_MANAGE,
          "desk/reschedule.html"),
    Route("POST", f"/desk/bookings/{NO}/reschedule", bookings.reschedule, P.BOOKINGS_MANAGE,
          "desk/reschedule.html"),
    Route("POST", f"/desk/bookings/{NO}/cancel", bookings.cancel, P.BOOKINGS_MANAGE,
          "desk/booking.html"),
    # the desk's booking aids (#14): resend the confirmation text, print the slip
    Route("POST", f"/desk/bookings/{NO}/resend", bookings.resend, P.BOOKINGS_MANAGE,
          "desk/booking.html"),
    Route("GET", f"/desk/bookings/{NO}/slip", bookings.slip, P.BOOKINGS_VIEW, "desk/slip.html"),
]  # fmt: skip
