"""The HL7 sender (HL7 发送): one delivery of a booking event to one HIS endpoint, as the
feeds' delivery worker asks for it.

:meth:`Hl7Sender.send` builds the event's SIU message (:mod:`.messages`) with what the core
knows of the patient, the slot and the names, sends it over the endpoint's MLLP link
(:mod:`.mllp`) and reports the attempt. The message control id (MSH-10) is
``GH<delivery id>``: the same on every resend and every redelivery, and the message the
same bytes (MSH-7 is the event's own instant), so the HIS dedupes by it.

What the core knows is read as :data:`HL7_ACTOR`, a system actor of its own: a clear ID
number or phone (the subscription's ``id_number`` / ``phone`` option ``full``) is read with
``RevealPatient``, so each message that carries one leaves an audit record by that name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from urllib.parse import urlsplit

from booking_core import catalogue, events, feeds, patients, schedule
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import GuahaoError, NotFound
from booking_core.kernel.identity import mask_id_number, sex_of
from edge.outbound import UnsafeAddress, resolve_public

from .messages import (
    Hl7OptionError,
    Hl7Options,
    SiuContext,
    birth_date_of,
    build_siu,
    siu_trigger,
)
from .mllp import MllpLinks

log = logging.getLogger(__name__)

HL7_ACTOR = Actor("system", "hl7", None, Channel.SYSTEM)
"""Who reads (and reveals) for the HL7 feed: the audit log says ``system:hl7``."""

CONTROL_ID_PREFIX = "GH"


def control_id(delivery: feeds.Delivery) -> str:
    """MSH-10 of a delivery's message: the same on every attempt (at most 20 characters)."""
    return f"{CONTROL_ID_PREFIX}{delivery.id}"


class Unsendable(Exception):
    """This delivery can never become a message (a bad URL, an event of another hospital,
    an event that does not decode): rejected, for a person to look at."""


def endpoint(url: str) -> tuple[str, int]:
    """``mllp://host:port`` as (host, port)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as err:
        raise Unsendable(f"bad HL7 endpoint {url!r}: {err}") from err
    if parts.scheme != "mllp" or not host or port is None:
        raise Unsendable(f"bad HL7 endpoint {url!r}: mllp://host:port expected")
    return host, port


class Hl7Sender:
    """Sends the deliveries of HL7 subscriptions; one :class:`MllpLinks` for them all, so
    each HIS endpoint has one connection however many subscriptions name it."""

    def __init__(
        self,
        services: BookingServices,
        *,
        timeout_seconds: float = feeds.TIMEOUT_SECONDS,
        links: MllpLinks | None = None,
        allow_private: bool = False,
    ) -> None:
        self.services = services
        self.allow_private = allow_private
        self.links = MllpLinks(timeout_seconds=timeout_seconds) if links is None else links

    async def send(
        self, subscription: feeds.Subscription, delivery: feeds.Delivery
    ) -> feeds.AttemptResult:
        """One attempt; never raises for the network or the HIS: the result says."""
        started = time.monotonic()
        row = delivery.event
        trigger = siu_trigger(row.topic, subscription.options)
        if trigger is None:
            return feeds.AttemptResult(
                feeds.Outcome.DELIVERED, 0, None, f"{row.topic}: no HL7 message, nothing sent"
            )
        cid = control_id(delivery)
        try:
            host, port = endpoint(subscription.url)
            options = Hl7Options.of(subscription.options)
            if row.hospital_id != subscription.hospital_id:
                raise Unsendable(
                    f"event {row.id} is hospital {row.hospital_id}'s, "
                    f"subscription {subscription.id} hospital {subscription.hospital_id}'s"
                )
            event = events.decode(row)
            if not isinstance(event, events.BookingEvent):
                raise Unsendable(f"event {row.id} ({row.topic}) does not decode")
            context = await read_context(self.services, event, options)
        except (Unsendable, Hl7OptionError, NotFound) as err:
            log.warning("HL7 %s delivery %s not sent: %s", cid, delivery.id, err)
            return feeds.AttemptResult(feeds.Outcome.REJECTED, _ms(started), None, str(err))
        except GuahaoError as err:  # the store's trouble: a later attempt may read it
            return feeds.AttemptResult(feeds.Outcome.RETRY, _ms(started), None, str(err))
        message = build_siu(
            trigger, event, context, control_id=cid, sent_at=row.created_at, options=options
        )
        try:  # the SSRF guard: connect to the address checked now, not to the name again
            [address, *_] = await resolve_public(host, port, allow_private=self.allow_private)
        except UnsafeAddress as err:
            return feeds.AttemptResult(
                feeds.Outcome.RETRY, _ms(started), None, f"address refused: {err.reason}"
            )
        except OSError as err:
            return feeds.AttemptResult(
                feeds.Outcome.RETRY, _ms(started), None, f"could not resolve {host}: {err}"
            )
        result = await self.links.send(address, port, message, cid)  # logs what went wrong
        return dataclasses.replace(result, duration_ms=_ms(started))

    async def close(self) -> None:
        await self.links.close()


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


async def read_context(
    services: BookingServices, event: events.BookingEvent, options: Hl7Options
) -> SiuContext:
    """What the message says beyond the event: the patient (masked or clear as the options
    say), the slot's length and room, the hospital's time zone, the names."""
    patient = await services.read(patients.get_patient, event.patient_id, HL7_ACTOR)
    detail = await services.read(schedule.session_detail, event.session_id, HL7_ACTOR)
    slot = next((s for s in detail.slots if s.id == event.slot_id), None)
    if slot is None:
        raise NotFound("slot", event.slot_id)
    minutes = _minutes(slot.end) - _minutes(slot.start)
    departments, doctors = await services.cached(catalogue.catalogue, HL7_ACTOR, event.hospital)
    department = next((d["name"] for d in departments if d["code"] == event.department), "")
    doctor = next((d for _, _, d in doctors if d.work_no == event.doctor), None)
    wanted = tuple(f for f in ("id_number", "phone") if getattr(options, f) == "full")
    clear: dict[str, str] = {}
    if wanted:
        clear = await services.handle(
            patients.RevealPatient(patient_id=patient.id, fields=wanted, actor=HL7_ACTOR)
        )
    masked_id = mask_id_number(patient.id_last4) if patient.id_last4 else ""
    id_number = clear.get("id_number", masked_id)
    return SiuContext(
        timezone=detail.hospital.timezone,
        hospital_name=detail.hospital.name,
        department_name=department,
        doctor_name=doctor.name if doctor else "",
        doctor_title=doctor.title if doctor else "",
        room=detail.session.room,
        slot_minutes=minutes,
        patient_name=patient.name,
        card_no=patient.card_no,
        id_number=id_number,
        phone=clear.get("phone", patient.phone_masked),
        sex=sex_of(id_number),
        birth_date=birth_date_of(id_number),
    )


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute
