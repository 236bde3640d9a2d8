"""The flow's actions run against the booking core: reads through the query functions,
writes through commands. The answers are plain dicts, so the pure flow can keep them
in the call's state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from booking_core import blacklist, bookings, calls, complaints, rules, schedule
from booking_core.bookings import BookingStatus, BookingView
from booking_core.bus import BookingServices
from booking_core.calls import StepAnswer
from booking_core.catalogue import departments, doctors
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import BookingError, InvalidInput, NotFound
from booking_core.kernel.identity import mask_name, sex_of
from booking_core.rules import SlotWindow
from booking_core.schedule import SlotSearch

from .names import family_name
from .state import (
    Action,
    Book,
    Cancel,
    CheckCode,
    FindCallerPatients,
    FindPatient,
    JoinWaitlist,
    LeaveWaitlists,
    ListBookings,
    ListDays,
    ListDepartments,
    ListDoctors,
    ListTimes,
    LookupComplaint,
    OpenComplaint,
    Outcome,
    SaveRecording,
    SendCode,
    Transfer,
)
from .twiml import QUEUE_PREFIX


@dataclass(frozen=True, slots=True)
class Call:
    """Who the actions act for: the call, its hospital, the caller's number."""

    call_sid: str
    hospital_code: str
    hospital_id: int
    timezone: str
    caller: str
    lang: str = "zh"

    @property
    def actor(self) -> Actor:
        return Actor("patient", f"ivr:{self.call_sid}", self.hospital_id, Channel.IVR)

    @property
    def line(self) -> Actor:
        """The hospital's phone line: what it reads is the same for every caller (the
        department and doctor lists), so it is read as the line's and kept once for all."""
        return Actor("system", f"ivr:{self.hospital_code}", self.hospital_id, Channel.IVR)


class CoreActions:
    def __init__(self, services: BookingServices, queue: str) -> None:
        self.services = services
        self.queue = queue

    async def perform(self, action: Action, call: Call) -> Outcome:
        """The action's outcome; the core's refusals come back as ``Outcome.error``
        (with instants in hospital-local time), our own faults propagate."""
        method = PERFORMERS[type(action)]
        try:
            value = await method(self, action, call)
        except BookingError as err:
            return _refused(err, call)
        return Outcome(value=value)

    async def claim_and_book(
        self,
        action: Book,
        call: Call,
        step: int,
        digits: str,
        finish: Callable[[Outcome], calls.StepRecord | None] | None = None,
    ) -> tuple[StepAnswer | None, Outcome | None, bool]:
        """Claim the step, book and (when ``finish`` gives a record for the booking's
        outcome) store the step's answer, all in one transaction. Returns the claim (None:
        a refusal kept nothing, claim the step on its own), the booking's outcome (None
        when the claim was lost: nothing was tried) and whether the answer was stored."""

        def hook(view: BookingView) -> calls.StepRecord | None:
            return finish(Outcome(value=_booking(view))) if finish is not None else None

        try:
            done = await self.services.handle(
                calls.ClaimStepAndBook(
                    actor=call.actor,
                    call_sid=call.call_sid,
                    step=step,
                    digits=digits,
                    slot_id=action.slot_id,
                    patient_id=action.patient_id,
                    lang=call.lang,
                    finish=hook,
                )
            )
        except BookingError as err:
            return None, _refused(err, call), False
        if done.queued is not None:  # queued for the release draw, with the claim: say so
            return done.claim, _refused(done.queued, call), False
        if done.booked is None:
            return done.claim, None, False
        return done.claim, Outcome(value=_booking(done.booked)), done.finished

    def _today(self, call: Call):
        return self.services.clock.now().astimezone(ZoneInfo(call.timezone))

    # --- reads ---------------------------------------------------------------------------

    async def _patients(self, call: Call, **by: str) -> list[dict[str, Any]]:
        found = await self.services.read(
            blacklist.patients_with_bans,
            call.actor,
            self.services.cipher,
            hospital_code=call.hospital_code,
            **by,
        )
        out = []
        for p, ban in found:
            out.append(
                {
                    "id": p.id,
                    "name": mask_name(p.name),  # shown to an agent; never spoken
                    "family": family_name(p.name),  # what the voice says (ivr/names.py)
                    "sex": sex_of(p.id_last4),
                    "banned_until": None
                    if ban is None
                    else ban.ends_at.astimezone(ZoneInfo(call.timezone)).date().isoformat(),
                    "banned_by": None if ban is None else str(ban.source),
                }
            )
        return out

    async def _find_patient(self, action: FindPatient, call: Call):
        # counted per caller ID and hour first: numbers cannot be tried at will
        await self.services.handle(calls.CountCallLookup(actor=call.actor, call_sid=call.call_sid))
        if action.id_number:
            return await self._patients(call, id_number=action.id_number)
        return await self._patients(call, card_no=action.card_no or "")

    async def _find_caller_patients(self, action: FindCallerPatients, call: Call):
        if not call.caller:
            return []
        try:
            return await self._patients(call, phone=call.caller)
        except InvalidInput:  # a caller ID that is no mainland mobile registers nobody
            return []

    async def _list_departments(self, action: ListDepartments, call: Call):
        # kept in the core's cache: a caller walking the menu reads them on every pick
        found = await self.services.cached(departments, call.hospital_code, call.line)
        return [{"code": d.code, "name": d.name} for d in found]

    async def _list_doctors(self, action: ListDoctors, call: Call):
        found = await self.services.cached(
            doctors, call.hospital_code, action.department, call.line
        )
        return [
            {"work_no": d.work_no, "name": d.name, "title": d.title, "fee": d.fee} for d in found
        ]

    async def _list_days(self, action: ListDays, call: Call):
        """The doctor's days open for booking now, with free places (the core's rule:
        released, before the cut-off), the next day to be released if the doctor has free
        places on it (said with its opening time), and the window's N days."""
        window = await self.services.read_small(
            rules.booking_window_of, call.hospital_code, call.actor
        )
        search = SlotSearch(
            hospital_code=call.hospital_code,
            doctor_work_no=action.doctor,
            day=window.today,
            day_to=window.next_day,
            only_free=True,
        )
        found = await self.services.read_small(schedule.search_slots, search, call.actor)
        tz = ZoneInfo(call.timezone)
        days: dict[str, dict[str, Any]] = {}
        later: dict[str, dict[str, Any]] = {}
        # channel pools (号源池): a session's slots together hold no more for this line than
        # its pools allow (each slot's own count is at most that)
        room: dict[int, int] = {}
        for s in found:
            if s.bookable:
                into = days
            elif s.window == SlotWindow.NOT_YET_OPEN and s.opens_at is not None:
                into = later
            else:
                continue  # past the cut-off (today's started sessions)
            day = into.setdefault(
                s.day.isoformat(), {"day": s.day.isoformat(), "periods": [], "free": 0}
            )
            if str(s.period) not in day["periods"]:
                day["periods"].append(str(s.period))
            left = room.setdefault(s.session_id, s.free if s.pool_free is None else s.pool_free)
            counted = min(s.free, left) if s.pool_free is not None else s.free
            room[s.session_id] = left - counted
            day["free"] += counted
            if into is later:
                day["opens_at"] = s.opens_at.astimezone(tz).isoformat()
        return {"days": list(days.values()), "later": list(later.values()), "window": window.days}

    async def _list_times(self, action: ListTimes, call: Call):
        """The doctor's slots on a day that can be booked now, full ones too (so "full"
        can be told from "none")."""
        day = datetime.fromisoformat(action.day).date()
        search = SlotSearch(
            hospital_code=call.hospital_code,
            doctor_work_no=action.doctor,
            day=day,
            only_free=False,
            bookable_only=True,
        )
        found = await self.services.read_small(schedule.search_slots, search, call.actor)
        return [
            {
                "id": s.slot_id,
                "day": s.day.isoformat(),
                "period": str(s.period),
                "start": s.start.strftime("%H:%M"),
                "end": s.end.strftime("%H:%M"),
                "free": s.free,
                "fee": s.fee,
            }
            for s in found
        ]

    async def _list_bookings(self, action: ListBookings, call: Call):
        """Only of patients the call proved it may act for (the core says which)."""
        today = self._today(call).date()
        allowed = await self.services.read(
            calls.call_may_act_for, call.call_sid, tuple(action.patient_ids)
        )
        out = []
        for patient_id in (p for p in action.patient_ids if p in allowed):
            views = await self.services.read(
                bookings.list_bookings, call.actor, patient_id=patient_id
            )
            out += [
                _booking(v)
                for v in views
                if v.booking.status in (BookingStatus.HELD, BookingStatus.CONFIRMED)
                and v.booking.day >= today
            ]
        return sorted(out, key=lambda b: (b["day"], b["start"]))

    async def _lookup_complaint(self, action: LookupComplaint, call: Call):
        found = await self.services.read(complaints.complaint, action.tracking_no, call.actor)
        return found.status

    # --- writes --------------------------------------------------------------------------

    async def _book(self, action: Book, call: Call):
        view = await self.services.handle(
            calls.BookForCall(
                actor=call.actor,
                call_sid=call.call_sid,
                slot_id=action.slot_id,
                patient_id=action.patient_id,
                lang=call.lang,
            )
        )
        return _booking(view)

    async def _join_waitlist(self, action: JoinWaitlist, call: Call):
        """候补: the doctor's earliest full session on that day (MMDD, the next such date)."""
        today = self._today(call).date()
        month, day_of_month = int(action.day[:2]), int(action.day[2:])
        day = next(
            d
            for year in range(today.year, today.year + 9)
            if (d := _date_or_none(year, month, day_of_month)) is not None and d >= today
        )
        search = SlotSearch(
            hospital_code=call.hospital_code, doctor_work_no=action.doctor, day=day, only_free=False
        )
        found = await self.services.read(schedule.search_slots, search, call.actor)
        free: dict[int, int] = {}
        for slot in found:
            free[slot.session_id] = free.get(slot.session_id, 0) + slot.free
        if not free:
            raise NotFound("session", f"{action.doctor}:{day.isoformat()}")
        session_id = next((sid for sid, n in free.items() if n == 0), next(iter(free)))
        entry = await self.services.handle(
            bookings.JoinWaitlist(
                actor=call.actor,
                session_id=session_id,
                patient_id=action.patient_id,
                channel=Channel.IVR,
            )
        )
        return {"position": entry.position, "day": day.isoformat()}

    async def _leave_waitlists(self, action: LeaveWaitlists, call: Call):
        """退出候补: every line of the caller's own patients; how many were left."""
        left = 0
        for patient_id in action.patient_ids:
            entries = await self.services.read(bookings.waitlist_of_patient, patient_id, call.actor)
            for entry in entries:
                await self.services.handle(
                    bookings.LeaveWaitlist(
                        actor=call.actor, session_id=entry.session_id, patient_id=patient_id
                    )
                )
                left += 1
        return left

    async def _cancel(self, action: Cancel, call: Call):
        view = await self.services.handle(
            calls.CancelForCall(
                actor=call.actor, call_sid=call.call_sid, booking_no=action.booking_no
            )
        )
        return _booking(view)

    async def _send_code(self, action: SendCode, call: Call):
        sent = await self.services.handle(
            calls.SendCallCode(
                actor=call.actor,
                call_sid=call.call_sid,
                patient_id=action.patient_id,
                lang=call.lang,
            )
        )
        return {"status": sent.status, "last4": sent.phone_masked[-4:]}

    async def _check_code(self, action: CheckCode, call: Call):
        return await self.services.handle(
            calls.CheckCallCode(
                actor=call.actor,
                call_sid=call.call_sid,
                patient_id=action.patient_id,
                code=action.code,
            )
        )

    async def _open_complaint(self, action: OpenComplaint, call: Call):
        return await self.services.handle(
            complaints.OpenComplaint(actor=call.actor, call_sid=call.call_sid)
        )

    async def _save_recording(self, action: SaveRecording, call: Call):
        return await self.services.handle(
            complaints.AttachRecording(
                actor=call.actor,
                call_sid=call.call_sid,
                recording_sid=action.recording_sid,
                recording_url=action.recording_url,
                duration_seconds=action.duration_seconds,
            )
        )

    async def _transfer(self, action: Transfer, call: Call):
        return await self.services.handle(
            calls.TransferCall(  # the caller's own queue (ivr.twiml.Voice.queue_name)
                actor=call.actor,
                call_sid=call.call_sid,
                queue=QUEUE_PREFIX + call.call_sid,
                context=action.context,
            )
        )


PERFORMERS: dict[type[Action], Callable[[CoreActions, Any, Call], Awaitable[Any]]] = {
    FindPatient: CoreActions._find_patient,
    FindCallerPatients: CoreActions._find_caller_patients,
    ListDepartments: CoreActions._list_departments,
    ListDoctors: CoreActions._list_doctors,
    ListDays: CoreActions._list_days,
    ListTimes: CoreActions._list_times,
    ListBookings: CoreActions._list_bookings,
    LookupComplaint: CoreActions._lookup_complaint,
    Book: CoreActions._book,
    JoinWaitlist: CoreActions._join_waitlist,
    LeaveWaitlists: CoreActions._leave_waitlists,
    Cancel: CoreActions._cancel,
    SendCode: CoreActions._send_code,
    CheckCode: CoreActions._check_code,
    OpenComplaint: CoreActions._open_complaint,
    SaveRecording: CoreActions._save_recording,
    Transfer: CoreActions._transfer,
}
"""Each action the flow can ask for → the method that performs it against the core (an
explicit table, as the flow's ``SETTLERS``: a renamed action or method fails at import and in
the tests, not in a call)."""


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 29 February of a common year
        return None


def _refused(err: BookingError, call: Call) -> Outcome:
    """The core's refusal, its instants in hospital-local time."""
    tz = ZoneInfo(call.timezone)
    err.params = {
        k: v.astimezone(tz) if isinstance(v, datetime) and v.tzinfo else v
        for k, v in err.params.items()
    }
    return Outcome(error=err)


def _booking(view: BookingView) -> dict[str, Any]:
    b = view.booking
    return {
        "booking_no": b.booking_no,
        "day": b.day.isoformat(),
        "start": view.start.strftime("%H:%M"),
        "period": str(view.period),
        "dept": view.department_name,
        "doctor": view.doctor_name,
        "title": view.doctor_title,
        "status": str(b.status),
    }
