"""The SMS door's brain (短信指令处理): one text in → the command run against the core → one
worded reply.

:func:`respond` never raises for the texter's mistakes or the core's refusals: a
:class:`~sms.commands.ParseError` is answered with what was wrong and the right format, every
:class:`~booking_core.kernel.errors.BookingError` with its wording from :mod:`sms.replies`. Our own
faults (:class:`~booking_core.kernel.errors.SystemFault`) propagate: the gateway's door answers
"system busy".

Who is who: the texter's patients are the patients registered at this hospital with the
sender's phone. A booking is only shown, cancelled or moved when it belongs to one of them;
anyone else's booking is "not found", exactly like a booking that does not exist.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from booking_core import blacklist, bookings, catalogue, messages, schedule
from booking_core.bookings import BookingView
from booking_core.bus import BookingServices
from booking_core.catalogue import Department, Doctor
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import (
    AppealPending,
    BookingError,
    InvalidInput,
    InvalidState,
    NoBanToAppeal,
    NotFound,
    PatientExists,
    SlotFull,
)
from booking_core.kernel.identity import mask_name, mask_phone, normalize_phone
from booking_core.patients import Patient, RegisterPatient, clean_name, find_patients
from booking_core.schedule import SlotSearch

from . import commands as cmds
from .commands import FORMATS, Command, MonthDayTime, ParseError
from .grammar import parse
from .replies import Replies

MAX_FREE_TIMES = 4  # free times suggested when the one asked for has no place
_YEARS_AHEAD = 8  # 29 February comes back within this many years


@dataclass(frozen=True, slots=True)
class Texter:
    """Who texts, where."""

    hospital_code: str
    hospital_id: int
    timezone: str  # the hospital's zone; MMDD resolves to the next such date on or after today
    phone: str  # the sender's number as the gateway gave it (+8613912345678 or 13912345678)
    lang: str = "zh"

    @property
    def actor(self) -> Actor:
        return Actor("patient", f"sms:{_masked(self.phone)}", self.hospital_id, Channel.SMS)


@dataclass(frozen=True, slots=True)
class Answer:
    reply: str
    booking_no: str | None = None  # the booking the exchange was about (stored on the log)
    booking_result: str | None = None
    """When the text asked for a booking that reached the core: "created" or the core's
    refusal code (the engine's bookings metric counts them by channel and result)."""


def _masked(phone: str) -> str:
    try:
        return mask_phone(normalize_phone(phone))
    except InvalidInput:
        return mask_phone("".join(ch for ch in phone if ch.isdigit()))


def resolve_day(when: MonthDayTime, today: date) -> date:
    """The next date with this month and day on or after ``today``."""
    for year in range(today.year, today.year + _YEARS_AHEAD + 1):
        try:
            day = date(year, when.month, when.day)
        except ValueError:  # 29 February of a common year
            continue
        if day >= today:
            return day
    raise ValueError(f"no {when.month}/{when.day} ahead of {today}")  # unreachable


class _Refused(Exception):
    """A refusal worded by the door itself (``key`` in the catalogue, with ``params``)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


async def respond(services: BookingServices, replies: Replies, texter: Texter, text: str) -> Answer:
    """Answer one inbound text (see the module docstring for what is never raised)."""
    command = parse(text)
    lang = replies.lang(texter.lang)
    if isinstance(command, ParseError):
        return Answer(replies.parse_error(command, lang=lang))
    door = _Door(services, replies, texter, lang)
    try:
        reply = await door.run(command)
    except _Refused as refused:
        reply = door.say(refused.key, **refused.params)
    except BookingError as err:
        reply = replies.error(err, lang=lang, timezone=texter.timezone, this_year=door.now.year)
    return Answer(reply, door.about, door.booking_result)


class _Door:
    """One exchange: the texter, the core, and the booking it turned out to be about."""

    def __init__(
        self, services: BookingServices, replies: Replies, texter: Texter, lang: str
    ) -> None:
        self.services = services
        self.replies = replies
        self.texter = texter
        self.lang = lang
        self.actor = texter.actor
        self.tz = ZoneInfo(texter.timezone)
        self.now: datetime = services.clock.now().astimezone(self.tz)
        self.about: str | None = None
        self.booking_result: str | None = None

    def say(self, key: str, **params: Any) -> str:
        return self.replies.render(key, lang=self.lang, this_year=self.now.year, **params)

    def booking(self, view: BookingView) -> dict[str, Any]:
        return self.replies.booking_params(view, lang=self.lang, timezone=self.texter.timezone)

    def listing(self, head: str, item: str, entries: list[dict], **kw: Any) -> str:
        return self.replies.listing(
            head, item, entries, lang=self.lang, this_year=self.now.year, **kw
        )

    async def run(self, command: Command) -> str:
        match command:
            case cmds.Book():
                return await self.book(command)
            case cmds.Register():
                return await self.register(command)
            case cmds.MyBookings(page):
                return await self.my_bookings(page)
            case cmds.BookingStatus(booking_no):
                return self.say("reply.status", **self.booking(await self.own(booking_no)))
            case cmds.Cancel(booking_no):
                return await self.cancel(booking_no)
            case cmds.Reschedule():
                return await self.reschedule(command)
            case cmds.Departments():
                return await self.departments()
            case cmds.DepartmentDoctors(query):
                return await self.department_doctors(query, command.is_code)
            case cmds.FindDoctors(keyword):
                return await self.find_doctors(keyword)
            case cmds.Help():
                return self.say("reply.help")
            case cmds.OptOut() | cmds.OptIn():
                out = isinstance(command, cmds.OptOut)
                await self.services.handle(
                    messages.SetOptOut(actor=self.actor, phone=self.texter.phone, opted_out=out)
                )
                return self.say("reply.opted_out" if out else "reply.opted_in")
            case cmds.SurveyScore(score):
                return await self.survey(score)
            case cmds.AppealBan(reason):
                return await self.appeal(reason)
            case cmds.JoinWaitlist():
                return await self.join_waitlist(command)
            case cmds.LeaveWaitlist():
                return await self.leave_waitlist(command)
            case cmds.ConfirmOffer(booking_no):
                return await self.confirm_offer(booking_no)
        raise TypeError(f"not an SMS command: {command!r}")  # pragma: no cover

    # --- who is texting ----------------------------------------------------------------

    async def patients(self) -> list[Patient]:
        try:
            return await self.services.read(
                find_patients,
                self.actor,
                self.services.cipher,
                hospital_code=self.texter.hospital_code,
                phone=self.texter.phone,
            )
        except InvalidInput:  # a sender that is no mainland mobile registers nobody
            return []

    async def own(self, booking_no: str) -> BookingView:
        """The booking, if one of this phone's patients holds it; else "not found"."""
        mine = {p.id for p in await self.patients()}
        try:
            view = await self.services.read(bookings.get_booking, booking_no, self.actor)
        except NotFound:
            view = None
        if view is None or view.booking.patient_id not in mine:
            raise NotFound("booking", booking_no)
        self.about = booking_no
        return view

    # --- slots ----------------------------------------------------------------------------

    def day_of(self, when: MonthDayTime) -> date:
        return resolve_day(when, self.now.date())

    async def slot_at(self, work_no: str, day: date, when: MonthDayTime):
        """The doctor's slot containing that clock time that day, or a refusal that says
        which times are free instead."""
        at = time(when.hour, when.minute)
        search = SlotSearch(
            hospital_code=self.texter.hospital_code,
            doctor_work_no=work_no,
            day=day,
            at=at,
            only_free=False,
        )
        found = await self.services.read(schedule.search_slots, search, self.actor)
        if not found:
            free = await self.free_times(work_no, day)
            raise _Refused("reply.no_session", day=day, at=at, free=free, work_no=work_no)
        return found[0]

    async def free_times(self, work_no: str, day: date) -> list[time]:
        """The times that day a text could book now: released (放号), before the cut-off,
        free — the core's rule, as every door lists them."""
        search = SlotSearch(
            hospital_code=self.texter.hospital_code,
            doctor_work_no=work_no,
            day=day,
            bookable_only=True,
        )
        found = await self.services.read(schedule.search_slots, search, self.actor)
        return sorted({s.start for s in found})[:MAX_FREE_TIMES]

    async def full(self, work_no: str, day: date, when: MonthDayTime) -> _Refused:
        at = time(when.hour, when.minute)
        return _Refused("reply.slot_full", day=day, at=at, free=await self.free_times(work_no, day))

    # --- commands -----------------------------------------------------------------------

    async def book(self, cmd: cmds.Book) -> str:
        patients = await self.patients()
        if not patients:
            raise _Refused("reply.unregistered", example=FORMATS["ZC"])
        name = clean_name(cmd.name)  # as registered: 張三 is 张三
        patient = next((p for p in patients if clean_name(p.name) == name), None)
        if patient is None:
            labels = family_labels(patients)  # told apart, as the bookings list does
            names = "、".join(labels[p.id] for p in patients)
            raise _Refused(
                "reply.name_mismatch", name=cmd.name, registered=names, example=FORMATS["GHDH"]
            )
        try:
            await self.services.read(
                catalogue.doctor, self.texter.hospital_code, cmd.doctor_code, self.actor
            )
        except NotFound:
            raise _Refused(
                "reply.unknown_doctor", work_no=cmd.doctor_code, example=FORMATS["GHDH"]
            ) from None
        day = self.day_of(cmd.when)
        slot = await self.slot_at(cmd.doctor_code, day, cmd.when)
        try:
            view = await self.services.handle(
                bookings.BookSlot(
                    actor=self.actor,
                    slot_id=slot.slot_id,
                    patient_id=patient.id,
                    channel=Channel.SMS,
                    booker_phone=self.texter.phone,
                    patient_name=cmd.name,
                )
            )
        except SlotFull:
            self.booking_result = SlotFull.code
            raise await self.full(cmd.doctor_code, day, cmd.when) from None
        except BookingError as err:
            self.booking_result = err.code
            raise
        self.booking_result = "created"
        self.about = view.booking.booking_no
        return self.say("reply.booked", **self.booking(view))

    async def register(self, cmd: cmds.Register) -> str:
        """实名注册. A number that cannot be registered with this phone (registered with
        another phone, or the hospital knows it under another name) gets one neutral
        reply that says neither; only this phone's own patient is named back. Each try
        counts against ``sms_registrations_per_day`` first, so numbers cannot be tried
        (or squatted under made-up names) at will."""
        if cmd.id_number == cmds.EXAMPLE_ID_NUMBER:  # copied from a reply or the poster
            raise _Refused("reply.example_id", example=FORMATS["ZC"])
        await self.services.handle(
            messages.CountRegistration(
                actor=self.actor, hospital_code=self.texter.hospital_code, phone=self.texter.phone
            )
        )
        try:
            patient = await self.services.handle(
                RegisterPatient(
                    actor=self.actor,
                    hospital_code=self.texter.hospital_code,
                    name=cmd.name,
                    id_number=cmd.id_number,
                    phone=self.texter.phone,
                )
            )
        except PatientExists as err:
            mine = {p.id: p for p in await self.patients()}
            existing = mine.get(err.params["patient_id"])
            if existing is None or clean_name(existing.name) != clean_name(cmd.name):
                raise _Refused("reply.register_refused") from None
            return self.say(
                "reply.registered_already", name=existing.name, card_no=existing.card_no
            )
        return self.say("reply.registered", name=patient.name, card_no=patient.card_no)

    async def my_bookings(self, page: int = 1) -> str:
        patients = await self.patients()
        if not patients:
            raise _Refused("reply.unregistered", example=FORMATS["ZC"])
        today = self.now.date()
        views: list[BookingView] = []
        for patient in patients:
            views += await self.services.read(
                bookings.list_bookings, self.actor, patient_id=patient.id
            )
        active = sorted(
            (v for v in views if v.booking.status.active and v.booking.day >= today),
            key=lambda v: (v.booking.day, v.start, v.booking.booking_no),
        )
        if not active:
            return self.say("reply.bookings_none")
        labels = family_labels(patients)
        several = len(patients) > 1
        entries = [
            self.booking(v) | {"several": several, "patient": labels[v.booking.patient_id]}
            for v in active
        ]
        text = self.replies.page(
            "reply.bookings_head",
            "reply.bookings_item",
            entries,
            page,
            lang=self.lang,
            more="reply.bookings_more",
            tail="reply.bookings_tail",
            this_year=self.now.year,
        )
        if text is None:
            return self.say("reply.bookings_past_end", total=len(entries), page=page)
        return text

    async def cancel(self, booking_no: str) -> str:
        await self.own(booking_no)
        view = await self.services.handle(
            bookings.CancelBooking(actor=self.actor, booking_no=booking_no)
        )
        return self.say("reply.cancelled", **self.booking(view))

    async def reschedule(self, cmd: cmds.Reschedule) -> str:
        old = await self.own(cmd.booking_no)
        day = self.day_of(cmd.when)
        slot = await self.slot_at(old.doctor_work_no, day, cmd.when)
        try:
            view = await self.services.handle(
                bookings.RescheduleBooking(
                    actor=self.actor, booking_no=cmd.booking_no, slot_id=slot.slot_id
                )
            )
        except SlotFull:
            raise await self.full(old.doctor_work_no, day, cmd.when) from None
        return self.say(
            "reply.rescheduled",
            from_day=old.booking.day,
            from_start=old.start,
            **self.booking(view),
        )

    # --- the waitlist (候补) ---------------------------------------------------------------

    def on_day(self, day: cmds.MonthDay) -> date:
        return resolve_day(MonthDayTime(day.month, day.day, 0, 0), self.now.date())

    async def sessions_of(self, work_no: str, day: date) -> list[tuple[int, Any, int]]:
        """The doctor's sessions that day: (session id, period, free places), in time order."""
        search = SlotSearch(
            hospital_code=self.texter.hospital_code,
            doctor_work_no=work_no,
            day=day,
            only_free=False,
        )
        found = await self.services.read(schedule.search_slots, search, self.actor)
        free: dict[int, int] = {}
        periods: dict[int, Any] = {}
        for slot in found:
            free[slot.session_id] = free.get(slot.session_id, 0) + slot.free
            periods[slot.session_id] = slot.period
        return [(sid, periods[sid], free[sid]) for sid in free]

    async def join_waitlist(self, cmd: cmds.JoinWaitlist) -> str:
        """HB: this phone's patient (the only one, or the one named) waits for the doctor's
        earliest full session that day; a day with places is "book one instead"."""
        patients = await self.patients()
        if not patients:
            raise _Refused("reply.unregistered", example=FORMATS["ZC"])
        if cmd.name is None and len(patients) > 1:
            names = "、".join(family_labels(patients).values())
            raise _Refused(
                "reply.name_mismatch", name="", registered=names, example="HB 00868 0715 张三"
            )
        patient = patients[0]
        if cmd.name is not None:
            name = clean_name(cmd.name)
            found = next((p for p in patients if clean_name(p.name) == name), None)
            if found is None:
                names = "、".join(family_labels(patients).values())
                raise _Refused(
                    "reply.name_mismatch", name=cmd.name, registered=names, example=FORMATS["HB"]
                )
            patient = found
        day = self.on_day(cmd.day)
        sessions = await self.sessions_of(cmd.doctor_code, day)
        if not sessions:
            raise _Refused("reply.waitlist_no_session", day=day, work_no=cmd.doctor_code)
        full = [s for s in sessions if s[2] == 0]
        session_id, period, _free = full[0] if full else sessions[0]
        entry = await self.services.handle(
            bookings.JoinWaitlist(
                actor=self.actor, session_id=session_id, patient_id=patient.id, channel=Channel.SMS
            )
        )
        card = await self.services.read(
            catalogue.doctor, self.texter.hospital_code, cmd.doctor_code, self.actor
        )
        return self.say(
            "reply.waitlist_joined",
            day=day,
            period=str(period),
            doctor=card.doctor.name,
            patient=mask_name(patient.name),
            position=entry.position,
        )

    async def leave_waitlist(self, cmd: cmds.LeaveWaitlist) -> str:
        """QH: every line this phone's patients wait in (or that doctor's that day)."""
        patients = await self.patients()
        sessions: set[int] | None = None
        if cmd.doctor_code is not None and cmd.day is not None:
            day = self.on_day(cmd.day)
            sessions = {s[0] for s in await self.sessions_of(cmd.doctor_code, day)}
        left = 0
        for patient in patients:
            entries = await self.services.read(bookings.waitlist_of_patient, patient.id, self.actor)
            for e in entries:
                if sessions is None or e.session_id in sessions:
                    await self.services.handle(
                        bookings.LeaveWaitlist(
                            actor=self.actor, session_id=e.session_id, patient_id=patient.id
                        )
                    )
                    left += 1
        if not left:
            return self.say("reply.waitlist_none")
        return self.say("reply.waitlist_left", count=left)

    async def confirm_offer(self, booking_no: str) -> str:
        """QR: the place offered is taken: confirmed, or paid from the card's balance where
        the fee is due first (预付)."""
        view = await self.own(booking_no)
        b = view.booking
        if b.status is bookings.BookingStatus.HELD and b.paid < b.fee:
            try:
                view = await self.services.handle(
                    bookings.ConfirmBooking(actor=self.actor, booking_no=booking_no)
                )
            except InvalidState as err:
                if err.params.get("status") != "unpaid":
                    raise
                view = await self.services.handle(
                    bookings.PayBooking(actor=self.actor, booking_no=booking_no, method="balance")
                )
        else:
            view = await self.services.handle(
                bookings.ConfirmBooking(actor=self.actor, booking_no=booking_no)
            )
        return self.say("reply.offer_confirmed", **self.booking(view))

    async def survey(self, score: int) -> str:
        try:
            booking_no = await self.services.handle(
                messages.AnswerSurvey(actor=self.actor, phone=self.texter.phone, score=score)
            )
        except NotFound:
            raise _Refused("reply.survey_none") from None
        self.about = booking_no
        return self.say("reply.survey_thanks", score=score)

    async def appeal(self, reason: str) -> str:
        """申诉: an appeal for each of this phone's patients with a ban in force; the refusal
        of the first when none could be filed (no ban, or one already waiting)."""
        found = await self.patients()
        if not found:
            raise _Refused("reply.unregistered", example=FORMATS["ZC"])
        filed: list[Patient] = []
        refusals: list[BookingError] = []
        for patient in found:
            try:
                await self.services.handle(
                    blacklist.FileAppeal(actor=self.actor, patient_id=patient.id, reason=reason)
                )
            except (NoBanToAppeal, AppealPending) as err:
                refusals.append(err)
                continue
            filed.append(patient)
        if not filed:
            pending = [r for r in refusals if isinstance(r, AppealPending)]
            raise (pending or refusals)[0]
        names = "、".join(mask_name(p.name) for p in filed)
        return self.say("reply.appealed", patients=names)

    # --- departments and doctors --------------------------------------------------------

    async def all_departments(self) -> list[Department]:
        return await self.services.read(
            catalogue.departments, self.texter.hospital_code, self.actor
        )

    async def departments(self) -> str:
        found = await self.all_departments()
        if not found:
            return self.say("reply.departments_none")
        entries = [{"code": d.code, "name": d.name} for d in found]
        return self.listing(
            "reply.departments_head",
            "reply.department_item",
            entries,
            tail="reply.departments_tail",
        )

    async def department_doctors(self, query: str, is_code: bool) -> str:
        matches = match_departments(await self.all_departments(), query, is_code)
        if not matches:
            raise _Refused("reply.department_not_found", query=query)
        if len(matches) > 1:
            entries = [{"code": d.code, "name": d.name} for d in matches]
            return self.listing(
                "reply.departments_ambiguous",
                "reply.department_item",
                entries,
                tail="reply.departments_pick",
                query=query,
            )
        (dept,) = matches
        found = await self.services.read(
            catalogue.doctors, self.texter.hospital_code, dept.code, self.actor
        )
        if not found:
            return self.say("reply.doctors_none", dept=dept.name)
        entries = [_doctor_entry(d) for d in found]
        return self.listing(
            "reply.doctors_head",
            "reply.doctor_item",
            entries,
            tail="reply.doctors_tail",
            dept=dept.name,
        )

    async def find_doctors(self, keyword: str) -> str:
        found = await self.services.read(
            catalogue.find_doctors, self.texter.hospital_code, keyword, self.actor
        )
        if not found:
            raise _Refused("reply.doctors_not_found", query=keyword)
        entries = [_doctor_entry(card.doctor) for card in found]
        return self.listing(
            "reply.doctors_found",
            "reply.doctor_item",
            entries,
            tail="reply.doctors_tail",
            query=keyword,
        )


def family_labels(patients: list[Patient]) -> dict[int, str]:
    """How a list names each of one phone's patients: the masked name (``冯*``), unless two
    of them would read the same.

    Then, for names of three or more characters, the given name's last character is shown
    too (``冯*国``, ``冯*明``): in a family people call each other by their given names, so
    that is the character they recognise at a glance, and it says no more than the phone's
    holder already knows (they registered each of them by full name). For two-character
    names that character would complete the name on a lock screen, so those (and anyone
    still alike) get their birth year (``冯*(1962)``, kept beside the record since #14, as
    the desk shows it) where that tells them apart — parents and children, brothers and
    sisters of different years — and else (twins, or a record without a birth year) the last
    4 of the ID number (``冯*(002X)``), as the console and the log show it and as it is
    printed on the patient's ID card.
    """
    masked = {p.id: mask_name(p.name) for p in patients}
    counts = Counter(masked.values())
    labels: dict[int, str] = {}
    for p in patients:
        label = masked[p.id]
        if counts[label] > 1 and len(p.name) >= 3:
            label = p.name[0] + "*" * (len(p.name) - 2) + p.name[-1]
        labels[p.id] = label
    alike = Counter(labels.values())
    years: dict[str, Counter[int | None]] = {}
    for p in patients:
        years.setdefault(labels[p.id], Counter())[p.birth_year] += 1
    for p in patients:
        label = labels[p.id]
        if alike[label] > 1:
            year_tells = p.birth_year is not None and years[label][p.birth_year] == 1
            labels[p.id] = f"{masked[p.id]}({p.birth_year if year_tells else p.id_last4})"
    return labels


def _doctor_entry(doctor: Doctor) -> dict[str, Any]:
    return {
        "work_no": doctor.work_no,
        "name": doctor.name,
        "title": doctor.title,
        "fee": doctor.fee,
    }


def match_departments(departments: list[Department], query: str, is_code: bool) -> list[Department]:
    """Departments by code (exact), else by name or alias: an exact name or alias wins,
    otherwise every one whose name or an alias contains the query."""
    if is_code:
        by_code = [d for d in departments if d.code == query]
        if by_code:
            return by_code
    needle = query.casefold().replace(" ", "")

    def names(d: Department) -> list[str]:
        return [n.casefold().replace(" ", "") for n in (d.name, *d.aliases) if n]

    exact = [d for d in departments if needle in names(d)]
    if exact:
        return exact
    return [d for d in departments if any(needle in n for n in names(d))]


__all__ = ["Answer", "Texter", "family_labels", "match_departments", "resolve_day", "respond"]
