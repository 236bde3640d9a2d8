"""What the engine does with what its kiosks say (docs/kiosk-protocol.md): a patient's
requests run against the booking core as the kiosk (:func:`booking_core.kiosks.kiosk_actor`),
job acks and statuses recorded. :class:`KioskDoor` is the :class:`~.inbox.KioskHandlers`
the engine's :class:`~.link.HallLink` is given.

Requests, each one command or query of the core (``kiosks``)::

    swipe     card {type: patient_card, card_no} | {type: id_card, name, id_number}
              → kiosks.swipe: the patient (masked) and today's bookings
    check_in  booking_no          → CheckInAtKiosk: queue_no (a print_ticket job follows)
    pay       booking_no          → PayAtKiosk: the charge job's id and amount
    slots     department, day     → kiosks.kiosk_slots: the free places (today, tomorrow)
    book      slot_id, name, id_number[, phone]
                                  → BookAtKiosk (the request id keeps a repeat to one booking)
    top_up    card_no, amount     → TopUpAtKiosk: the charge job's id and amount
    reprint   booking_no          → ReprintTicket at this kiosk (a checked-in booking whose
                                    ticket was not printed: paper ran out): the job's id

A refusal is ``{"ok": false, "code", "params", "message"}``: the core's typed error (its
code and params) or this door's own (``bad_request``: a field missing or of the wrong
type, checked here before the core is asked; ``unknown_kind``), with the screen's words
from :mod:`.wording`. Our own faults (the store unavailable, a bug) are left to
:mod:`.answers`, which answers them busy or ``internal_error``.

Acks go to ``RecordJobAck`` (the core keeps the first, acts on it and queues what follows:
a ticket after a payment, a reversal); statuses to ``RecordKioskStatus``, and when a
status says the kiosk came back online its unacknowledged jobs are published again
(``on_came_online``). An ack or status the core refuses (an unknown kiosk, another kiosk's
job) is logged and dropped: nothing is recorded for it.

Logs name kiosks, request and job ids and booking numbers, never a patient's name or ID
number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from typing import Any

from booking_core import kiosks
from booking_core.bus import BookingServices
from booking_core.kernel.actor import SYSTEM, Actor
from booking_core.kernel.errors import BookingError, SystemFault
from hardware.protocol import Ack, Request, Status

from .answers import refusal
from .wording import BAD_REQUEST, UNKNOWN_KIND, WORDS, error_message

logger = logging.getLogger("hardware.hall.requests")

TEXT_MAX = 64
"""The longest booking number, card number, name or ID number a request may carry: each is
far shorter (a booking number is 9 digits, an ID number 18 characters)."""
ID_MAX = 2**53
"""The largest slot id taken: any id a store makes is below it, and a huge integer is refused
here rather than overflowing a database column."""
AMOUNT_MAX = 10_000_000
"""Fen: far above any top-up (the core's own limit is lower and worded); a huge integer is
refused here."""
DEPARTMENT = re.compile(r"[0-9]{3}")
OnCameOnline = Callable[[str], Awaitable[object]]


class BadRequest(Exception):
    """A request field is missing or of the wrong type."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _text(fields: Mapping[str, Any], name: str, *, most: int = TEXT_MAX) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise BadRequest(name, f"text of 1 to {most} characters")
    return value.strip()


def _integer(fields: Mapping[str, Any], name: str, most: int) -> int:
    value = fields.get(name)
    if type(value) is not int or not 0 < value <= most:
        raise BadRequest(name, f"a whole number from 1 to {most}")
    return value


def _plain(value: Any) -> Any:
    """A refusal's param as JSON: instants and days as ISO text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class KioskDoor:
    """:class:`~.inbox.KioskHandlers` over the booking core; see the module docstring."""

    def __init__(
        self,
        services: BookingServices,
        *,
        timezone: str = "Asia/Shanghai",
        on_came_online: OnCameOnline | None = None,
    ) -> None:
        self.services = services
        self.timezone = timezone
        self.on_came_online = on_came_online
        self._hospitals: dict[str, int] = {}  # kiosk id → its hospital (never changes)
        self._requests: dict[str, Callable[[Actor, str, Request], Awaitable[dict[str, Any]]]] = {
            "swipe": self._swipe,
            "check_in": self._check_in,
            "pay": self._pay,
            "slots": self._slots,
            "book": self._book,
            "top_up": self._top_up,
            "reprint": self._reprint,
        }

    async def _actor(self, kiosk_id: str) -> Actor:
        """The kiosk as the actor of what is done at it (NotFound: no such kiosk)."""
        hospital_id = self._hospitals.get(kiosk_id)
        if hospital_id is None:
            kiosk = await self.services.read(kiosks.kiosk, kiosk_id, SYSTEM)
            hospital_id = self._hospitals[kiosk_id] = kiosk.hospital_id
        return kiosks.kiosk_actor(kiosk_id, hospital_id)

    # --- requests -------------------------------------------------------------------------

    async def on_request(self, kiosk_id: str, request: Request) -> Mapping[str, Any]:
        run = self._requests.get(request.kind)
        if run is None:
            logger.info("kiosk %s asked an unknown kind of request: refused", kiosk_id)
            return refusal(UNKNOWN_KIND, WORDS[UNKNOWN_KIND], kind=request.kind[:32])
        try:
            actor = await self._actor(kiosk_id)
            body = await run(actor, kiosk_id, request)
        except BadRequest as err:
            logger.info(
                "%s request %s of kiosk %s refused: %s",
                request.kind,
                request.request_id,
                kiosk_id,
                err,
            )
            return refusal(BAD_REQUEST, WORDS[BAD_REQUEST], field=err.field, reason=err.reason)
        except BookingError as err:
            logger.info(
                "%s request %s of kiosk %s refused: %s",
                request.kind,
                request.request_id,
                kiosk_id,
                err.code,
            )
            return {  # refusal()'s shape; a param named code or message stays a param
                "ok": False,
                "code": err.code,
                "params": {name: _plain(value) for name, value in err.params.items()},
                "message": error_message(err, self.timezone),
            }
        return {"ok": True, **body}

    async def _swipe(self, actor: Actor, kiosk_id: str, request: Request) -> dict[str, Any]:
        card = request.fields.get("card")
        if not isinstance(card, dict):
            raise BadRequest("card", "an object: patient_card or id_card")
        read: kiosks.Card
        if card.get("type") == "patient_card":
            read = kiosks.PatientCard(_text(card, "card_no"))
        elif card.get("type") == "id_card":
            read = kiosks.IdCard(_text(card, "name"), _text(card, "id_number"))
        else:
            raise BadRequest("card", "type is patient_card or id_card")
        swiped = await self.services.read(kiosks.swipe, kiosk_id, read, actor, self.services.cipher)
        return swiped.fields()

    async def _check_in(self, actor: Actor, kiosk_id: str, request: Request) -> dict[str, Any]:
        booking_no = _text(request.fields, "booking_no")
        done = await self.services.handle(
            kiosks.CheckInAtKiosk(actor=actor, kiosk_id=kiosk_id, booking_no=booking_no)
        )
        logger.info("kiosk %s checked in booking %s", kiosk_id, booking_no)
        return {"queue_no": done.queue_no, "booking_no": booking_no, "job_id": done.job.job_id}

    async def _reprint(self, actor: Actor, kiosk_id: str, request: Request) -> dict[str, Any]:
        booking_no = _text(request.fields, "booking_no")
        job = await self.services.handle(
            kiosks.ReprintTicket(actor=actor, kiosk_id=kiosk_id, booking_no=booking_no)
        )
        logger.info("kiosk %s prints booking %s's ticket again", kiosk_id, booking_no)
        return {"booking_no": booking_no, "job_id": job.job_id}

    async def _pay(self, actor: Actor, kiosk_id: str, request: Request) -> dict[str, Any]:
        booking_no = _text(request.fields, "booking_no")
        job = await self.services.handle(
            kiosks.PayAtKiosk(actor=actor, kiosk_id=kiosk_id, booking_no=booking_no)
        )
        return {"booking_no": booking_no, "job_id": job.job_id, "amount": job.amount}

    async def _slots(self, actor: Actor, kiosk_id: str, request: Request) -> dict[str, Any]:
        department = request.fields.get("department")
        if not isinstance(department, str) or not DEPARTMENT.fullmatch(department):
            raise BadRequest("department", "3 digits")
        try:
            day = date.fromisoformat(_text(request.fields, "day", most=10))
        except ValueError:
            raise BadRequest("day", "YYYY-MM-DD") from None
        found = await self.services.read(kiosks.kiosk_slots, kiosk_id, department, day, actor)
        return {
            "department": department,
            "day": day.isoformat(),
            "slots": [
                {
                    "slot_id": s.slot_id,
                    "department": s.department_name,
                    "doctor": s.doctor_name,
                    "doctor_title": s.doctor_title,
                    "time": f"{s.start:%H:%M}-{s.end:%H:%M}",
                    "fee": s.fee,
                    "free": s.free,
                }
                for s in found
            ],
        }

    async def _book(self, actor: Actor, kiosk_id: str, request: Request) -> dict[str, Any]:
        fields = request.fields
        slot_id = _integer(fields, "slot_id", ID_MAX)
        name, id_number = _text(fields, "name"), _text(fields, "id_number")
        phone = fields.get("phone")
        if phone is not None and (not isinstance(phone, str) or len(phone) > TEXT_MAX):
            raise BadRequest("phone", f"text of at most {TEXT_MAX} characters")
        made = await self.services.handle(
            kiosks.BookAtKiosk(
                actor=actor,
                kiosk_id=kiosk_id,
                slot_id=slot_id,
                name=name,
                id_number=id_number,
                phone=phone or None,
                request_id=request.request_id,
            )
        )
        view, booking = made.booking, made.booking.booking
        logger.info(
            "kiosk %s booked %s (%s) on slot %s",
            kiosk_id,
            booking.booking_no,
            booking.status,
            slot_id,
        )
        return {
            "booking": {
                "booking_no": booking.booking_no,
                "department": view.department_name,
                "doctor": view.doctor_name,
                "day": booking.day.isoformat(),
                "time": f"{view.start:%H:%M}-{view.end:%H:%M}",
                "status": str(booking.status),
                "fee": booking.fee,
                "paid": booking.paid >= booking.fee,
                "queue_no": booking.queue_no,
            },
            "registered": made.registered,
            "ticket_job": None if made.ticket is None else made.ticket.job_id,
        }

    async def _top_up(self, actor: Actor, kiosk_id: str, request: Request) -> dict[str, Any]:
        card_no = _text(request.fields, "card_no")
        amount = _integer(request.fields, "amount", AMOUNT_MAX)
        job = await self.services.handle(
            kiosks.TopUpAtKiosk(actor=actor, kiosk_id=kiosk_id, card_no=card_no, amount=amount)
        )
        return {"card_no": card_no, "job_id": job.job_id, "amount": job.amount}

    # --- acks and statuses ----------------------------------------------------------------

    async def on_ack(self, kiosk_id: str, ack: Ack) -> None:
        try:
            actor = await self._actor(kiosk_id)
            acked = await self.services.handle(
                kiosks.RecordJobAck(
                    actor=actor,
                    kiosk_id=kiosk_id,
                    job_id=ack.job_id,
                    outcome=ack.outcome,
                    reason=ack.reason,
                    message=ack.message,
                    detail=ack.detail,
                )
            )
        except BookingError as err:
            logger.warning(
                "kiosk %s acked job %s, which was not recorded: %s", kiosk_id, ack.job_id, err
            )
            return
        except SystemFault as err:  # the store: the job is sent again, and acked again
            logger.warning(
                "kiosk %s's ack of job %s not recorded now (%s): the job is sent again",
                kiosk_id,
                ack.job_id,
                err,
            )
            return
        if acked.first:
            job = acked.job
            logger.info(
                "kiosk %s: job %s (%s) %s%s",
                kiosk_id,
                job.job_id,
                job.kind,
                ack.outcome,
                f" ({job.reason})" if job.reason else "",
            )

    async def on_status(self, kiosk_id: str, status: Status) -> None:
        try:
            actor = await self._actor(kiosk_id)
            recorded = await self.services.handle(
                kiosks.RecordKioskStatus(
                    actor=actor,
                    kiosk_id=kiosk_id,
                    online=status.online,
                    devices=status.devices,
                    at=status.at,
                    reason=status.reason,
                )
            )
        except BookingError as err:
            logger.warning("kiosk %s's status was not recorded: %s", kiosk_id, err)
            return
        except SystemFault as err:  # the store: the kiosk says it again within a minute
            logger.warning("kiosk %s's status not recorded now: %s", kiosk_id, err)
            return
        if recorded.came_online:
            logger.info("kiosk %s is online", kiosk_id)
        elif recorded.changed and not status.online:
            logger.info("kiosk %s is offline (%s)", kiosk_id, status.reason or "no reason given")
        elif recorded.changed:
            states = ", ".join(f"{d.device} {d.state}" for d in recorded.devices)
            logger.info("kiosk %s's devices: %s", kiosk_id, states or "none")
        if recorded.came_online and self.on_came_online is not None:
            await self.on_came_online(kiosk_id)
