"""HL7 v2.5.1 SIU messages for a booking's events (预约的 HL7 SIU 消息): pure, no I/O.

A booking event becomes one message (:func:`siu_trigger` says which, or None: nothing to
send), built by :func:`build_siu` from the event's payload and a :class:`SiuContext` the
sender reads from the core (the patient, the slot's length, the names). ``docs/hl7.md`` is
the field map; in short::

    MSH  GUAHAO → the HIS, hospital-local time, SIU^S12^SIU_S12, the control id, P, 2.5.1,
         UNICODE UTF-8 (names are Chinese: sent as UTF-8, never hex-escaped)
    SCH  booking number (placer and filler: the engine is both), session, event reason
         (what changed), timing (start, duration), reason and type, filler status
    TQ1  the same timing, as 2.5.1 wants it
    NTE  what changed, in words (fee, paid, refunded in fen; queue number; moved from);
         a payment's 2nd NTE: method=cash;amount=5000 (as the HIS's own S14 says it)
    PID  card number (就诊卡号, type PI) and the resident ID (NNCHN, masked unless the
         subscription says full), name, sex and birth date, phone (masked unless full)
    RGS  one resource group
    AIS  the service: the department's outpatient visit (门诊)
    AIL  the location: department, room, hospital
    AIP  the doctor: work number (工号) ^ name, title

Times are hospital-local with their offset (``20260711083000+0800``). Free text is escaped
here (:func:`escape`) rather than with ``hl7.escape``, which turns every non-ASCII character
into a ``\\X..\\`` hex sequence: with MSH-18 ``UNICODE UTF-8`` the names travel as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from booking_core import events, feeds

SENDING_APPLICATION = "GUAHAO"
VERSION = "2.5.1"
CHARSET = "UNICODE UTF-8"
CODING_SYSTEM = "GUAHAO"  # our own codes (event reasons, statuses) in CE/CWE fields

NO_SHOW_TRIGGERS = feeds.HL7_OPTIONS["no_show"] or ()
"""爽约: S26 (patient did not show up, the default) or S17 (deletion), as the HIS prefers."""

_FIXED_TRIGGERS: Mapping[str, str] = {
    events.BookingCreated.topic: "S12",  # new appointment
    events.BookingMoved.topic: "S13",  # rescheduled (改约)
    events.BookingCheckedIn.topic: "S14",  # modification: checked in (取号)
    events.BookingConfirmed.topic: "S14",  # modification: paid (a hold confirmed)
    events.BookingPaid.topic: "S14",  # modification: paid
    events.BookingCancelled.topic: "S15",  # cancelled (取消, 停诊)
}

_FILLER_STATUS: Mapping[str, str] = {  # HL7 table 0278
    "held": "Pending",
    "confirmed": "Booked",
    "checked_in": "Booked",  # still booked: SCH-6 and the NTE say it was checked in
    "completed": "Complete",
    "cancelled": "Cancelled",
    "no_show": "Noshow",
}

_CHANNELS = {
    "ivr": "电话",
    "sms": "短信",
    "agent": "坐席",
    "api": "接口",
    "kiosk": "自助机",
    "his": "HIS",
    "system": "系统",
}


class Hl7OptionError(ValueError):
    """A subscription's HL7 option has a value the sender does not know."""


@dataclass(frozen=True, slots=True)
class Hl7Options:
    """A subscription's ``options`` for HL7, checked (:meth:`of`)."""

    no_show: str = "S26"  # S26 or S17
    id_number: str = "masked"  # masked or full (the clear ID, each reveal audited)
    phone: str = "masked"  # masked or full
    receiving_application: str = "HIS"  # MSH-5
    receiving_facility: str = ""  # MSH-6; empty: the hospital's code
    processing_id: str = "P"  # MSH-11: P (production), T (training), D (debugging)

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Hl7Options:
        """The options of a subscription; :class:`Hl7OptionError` names a bad one."""
        known = {f: options[f] for f in cls.__dataclass_fields__ if f in options}
        made = cls(**{k: str(v) for k, v in known.items()})
        for name, allowed in feeds.HL7_OPTIONS.items():  # the core's table: one list of choices
            if allowed is not None and getattr(made, name) not in allowed:
                raise Hl7OptionError(f"option {name} must be one of {', '.join(allowed)}")
        return made


def siu_trigger(topic: str, options: Mapping[str, Any]) -> str | None:
    """The SIU trigger event for an outbox topic (S12 …), or None: no HL7 message for it
    (the delivery is done without sending). A bad ``no_show`` option falls back to S26
    here; :meth:`Hl7Options.of` refuses it when the message is built."""
    if topic == events.BookingNoShow.topic:
        chosen = str(options.get("no_show", "S26"))
        return chosen if chosen in NO_SHOW_TRIGGERS else "S26"
    return _FIXED_TRIGGERS.get(topic)


@dataclass(frozen=True, slots=True)
class SiuContext:
    """What a message says beyond the event's payload, read from the core by the sender.
    ``id_number`` and ``phone`` are already masked or clear, as the options say."""

    timezone: str
    hospital_name: str
    department_name: str
    doctor_name: str
    doctor_title: str
    room: str
    slot_minutes: int
    patient_name: str
    card_no: str
    id_number: str  # "" when the patient has none
    phone: str  # "" when none
    sex: str  # M, F or U (from the resident ID's 17th digit)
    birth_date: date | None  # only from a clear ID number


def birth_date_of(id_number: str) -> date | None:
    """The birth date in a clear 18-digit resident ID; None for a masked one."""
    digits = id_number[6:14]
    if len(id_number) != 18 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


# --- encoding ---------------------------------------------------------------------------


def escape(text: object) -> str:
    """``text`` safe inside a field: the delimiters ``|^~\\&`` as HL7's escape sequences
    (``\\F\\ \\S\\ \\R\\ \\E\\ \\T\\``), control characters (a CR would end the segment, VT or
    FS the MLLP block) as spaces."""
    value = str(text)
    value = (
        value.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
    )
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in value)


def _components(*parts: object) -> str:
    """One field of components, each escaped, the trailing empty ones left off."""
    values = ["" if p is None else escape(p) for p in parts]
    while values and not values[-1]:
        values.pop()
    return "^".join(values)


def _segment(name: str, *fields: str) -> str:
    values = list(fields)
    while values and not values[-1]:
        values.pop()
    return "|".join([name, *values])


def ts(moment: datetime, tz: ZoneInfo) -> str:
    """An HL7 TS/DTM to the second, hospital-local with its offset: 20260711083000+0800."""
    return moment.astimezone(tz).strftime("%Y%m%d%H%M%S%z")


# --- the message ---------------------------------------------------------------------------


def _event_reason(event: events.BookingEvent) -> tuple[str, str]:
    """SCH-6: what happened, as (code, words)."""
    match event:
        case events.BookingCreated():
            return "booked", "预约"
        case events.BookingMoved(reason="session_stopped"):
            return "session_stopped", "停诊改约"
        case events.BookingMoved():
            return "rescheduled", "改约"
        case events.BookingCancelled(reason=reason):
            words = {
                "patient": "患者取消",
                "hospital": "医院取消",
                "hold_expired": "超时未支付",
                "session_stopped": "停诊取消",
            }
            return reason, words.get(reason, "取消")
        case events.BookingCheckedIn():
            return "checked_in", "已取号"
        case events.BookingConfirmed() | events.BookingPaid():
            return "paid", "已支付"
        case events.BookingNoShow():
            return "no_show", "爽约"
    return event.topic, event.topic


def _note(event: events.BookingEvent) -> str:
    """The NTE: what changed, in words a person at the HIS reads; money in fen."""
    money = f"fee {event.fee} fen, paid {event.paid} fen"
    channel = _CHANNELS.get(str(event.channel), str(event.channel))
    match event:
        case events.BookingCreated():
            return f"booked by {event.channel} ({channel}); {money}"
        case events.BookingMoved():
            return (
                f"moved ({event.reason}) from {event.from_day.isoformat()} slot "
                f"{event.from_slot_id} by {event.by_channel}; {money}"
            )
        case events.BookingCancelled():
            return (
                f"cancelled ({event.reason}) by {event.by_channel}; {money}; "
                f"refunded {event.refunded} fen"
            )
        case events.BookingCheckedIn():
            return f"checked in, queue number {event.queue_no}; {money}"
        case events.BookingConfirmed() | events.BookingPaid():
            return f"paid by {event.method}; {money}"
        case events.BookingNoShow():
            return f"no-show: never checked in; {money}"
    return money


def payment_note(method: str, amount: int) -> str:
    """A payment in the words both directions use (a 2nd NTE of the engine's S14, the NTE of
    the HIS's S14 ``paid``, :mod:`.inbound_messages`): ``method=cash;amount=5000`` (fen)."""
    return f"method={method};amount={amount}"


def build_siu(
    trigger: str,
    event: events.BookingEvent,
    context: SiuContext,
    *,
    control_id: str,
    sent_at: datetime,
    options: Hl7Options,
) -> str:
    """The SIU^``trigger`` message for ``event``, segments ending in CR. ``sent_at`` is
    MSH-7 (the sender gives the event's own instant, so a resend is the same bytes)."""
    tz = ZoneInfo(context.timezone)
    h, m = (int(x) for x in event.start.split(":"))
    start = datetime.combine(event.day, time(h, m), tzinfo=tz)
    end = start + timedelta(minutes=context.slot_minutes)
    begins, ends = ts(start, tz), ts(end, tz)
    minutes = str(context.slot_minutes)
    status = _FILLER_STATUS.get(event.status, event.status)
    reason_code, reason_words = _event_reason(event)
    kind = "Tentative" if event.status == "held" else "Normal"  # held: not paid yet
    booking_id = _components(event.booking_no, SENDING_APPLICATION)
    facility = options.receiving_facility or event.hospital
    msh = "MSH|^~\\&|" + "|".join(
        [
            _components(SENDING_APPLICATION),  # MSH-3
            _components(event.hospital),  # MSH-4
            _components(options.receiving_application),  # MSH-5
            _components(facility),  # MSH-6
            ts(sent_at, tz),  # MSH-7
            "",  # MSH-8
            _components("SIU", trigger, "SIU_S12"),  # MSH-9
            escape(control_id),  # MSH-10
            options.processing_id,  # MSH-11
            VERSION,  # MSH-12
            "",  # MSH-13
            "",  # MSH-14
            "",  # MSH-15 accept ack: none (original mode)
            "",  # MSH-16
            "CHN",  # MSH-17
            CHARSET,  # MSH-18
            _components("zh"),  # MSH-19
        ]
    )
    sch = _segment(
        "SCH",
        booking_id,  # SCH-1 placer appointment id
        booking_id,  # SCH-2 filler appointment id
        "",  # SCH-3
        "",  # SCH-4
        _components(event.session_id, "", CODING_SYSTEM),  # SCH-5 schedule id: the session
        _components(reason_code, reason_words, CODING_SYSTEM),  # SCH-6 event reason
        _components("ROUTINE", "Routine appointment", "HL70276"),  # SCH-7
        _components(kind, "", "HL70277"),  # SCH-8 appointment type
        minutes,  # SCH-9 duration
        _components("min", "minutes", "ISO+"),  # SCH-10
        _components("", "", minutes, begins, ends),  # SCH-11 timing (TQ)
        "",  # SCH-12
        "",  # SCH-13
        "",  # SCH-14
        "",  # SCH-15
        "",  # SCH-16
        "",  # SCH-17
        "",  # SCH-18
        "",  # SCH-19
        "",  # SCH-20
        "",  # SCH-21
        "",  # SCH-22
        "",  # SCH-23
        "",  # SCH-24
        _components(status, "", "HL70278"),  # SCH-25 filler status
    )
    tq1 = _segment(
        "TQ1",
        "1",
        "",
        "",
        "",
        "",
        _components(minutes, "min"),  # TQ1-6 service duration
        begins,  # TQ1-7 start
        ends,  # TQ1-8 end
    )
    notes = [_segment("NTE", "1", "L", escape(_note(event)))]
    if isinstance(event, events.BookingConfirmed | events.BookingPaid) and event.paid:
        notes.append(_segment("NTE", "2", "L", escape(payment_note(event.method, event.paid))))
    id_number = context.id_number
    identifiers = [_components(context.card_no, "", "", event.hospital, "PI")]
    if id_number:
        identifiers.append(_components(id_number, "", "", "CHN", "NNCHN"))
    pid = _segment(
        "PID",
        "1",
        "",
        "~".join(identifiers),  # PID-3
        "",
        _components(context.patient_name, "", "", "", "", "", "L"),  # PID-5
        "",
        context.birth_date.strftime("%Y%m%d") if context.birth_date else "",  # PID-7
        context.sex,  # PID-8
        "",
        "",
        "",
        "",
        _components(context.phone, "PRN", "CP") if context.phone else "",  # PID-13
    )
    rgs = _segment("RGS", "1")
    department = _components(event.department, context.department_name, CODING_SYSTEM)
    ais = _segment(
        "AIS",
        "1",
        "",
        department,  # AIS-3 service: the department's outpatient visit
        begins,  # AIS-4
        "",
        "",
        minutes,  # AIS-7
        _components("min", "minutes", "ISO+"),  # AIS-8
        "",
        _components(status, "", "HL70278"),  # AIS-10
    )
    ail = _segment(
        "AIL",
        "1",
        "",
        _components(  # AIL-3 (PL): point of care, room, -, facility, -, type, -, -, words
            event.department,
            context.room,
            "",
            event.hospital,
            "",
            "C",
            "",
            "",
            f"{context.hospital_name} {context.department_name} {context.room}".strip(),
        ),
        _components("CLINIC", "门诊", CODING_SYSTEM),  # AIL-4
        "",
        begins,  # AIL-6
        "",
        "",
        minutes,  # AIL-9
        _components("min", "minutes", "ISO+"),  # AIL-10
        "",
        _components(status, "", "HL70278"),  # AIL-12
    )
    aip = _segment(
        "AIP",
        "1",
        "",
        _components(event.doctor, context.doctor_name),  # AIP-3 work number ^ name
        _components("DOCTOR", context.doctor_title, CODING_SYSTEM),  # AIP-4
        "",
        begins,  # AIP-6
        "",
        "",
        minutes,  # AIP-9
        _components("min", "minutes", "ISO+"),  # AIP-10
        "",
        _components(status, "", "HL70278"),  # AIP-12
    )
    return "\r".join([msh, sch, tq1, *notes, pid, rgs, ais, ail, aip]) + "\r"
