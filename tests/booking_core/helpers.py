"""What the booking core's tests do and read through the services, in one place for every
domain's tests: book, set a rule, and read back slots, events and the audit log."""

from __future__ import annotations

from booking_core import bookings, catalogue, rules
from booking_core.events import outbox
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import rows, val
from booking_core.rules import PERIOD_KEYS, PeriodType, Rule, RuleKey

PERIOD_DAYS = {
    RuleKey.PATIENTS_PER_PHONE: 30,
    RuleKey.NO_SHOW_BLACKLIST: 90,
    RuleKey.BOOK_CANCEL_STRIKE: 30,
}
"""The check period set_rule gives a counting rule unless told (365 days for the others)."""


async def hospital_id(services, code: str = "H001") -> int:
    return (await services.read(catalogue.hospital, code)).id


async def set_rule(services, key: RuleKey, value, *, hospital: str | None = "H001", **kw):
    """Hospital ``hospital``'s record of ``key`` (the platform's when None); the limits that
    count over a period count over :data:`PERIOD_DAYS` (else a rolling year)."""
    hid = None if hospital is None else await hospital_id(services, hospital)
    if key in PERIOD_KEYS:
        kw.setdefault("period_type", PeriodType.DAYS)
        kw.setdefault("period_value", PERIOD_DAYS.get(key, 365))
    await services.handle(rules.SetRule(rule=Rule(key, value, hospital_id=hid, **kw)))


async def book(services, slot_id: int, patient, **kw):
    """``patient`` books ``slot_id`` (by the API unless ``channel`` says otherwise)."""
    kw.setdefault("channel", Channel.API)
    return await services.handle(bookings.BookSlot(slot_id=slot_id, patient_id=patient.id, **kw))


async def booked(services, slot_id: int) -> int:
    """The slot's counter of places taken."""

    def q(tx):
        return (yield val("SELECT booked FROM slots WHERE id = ?", slot_id))

    return await services.store.read(q)


async def patient_count(services) -> int:
    def q(tx):
        return (yield val("SELECT count(*) FROM patients"))

    return await services.store.read(q)


async def topics(services, key: str | None = None) -> list[str]:
    return [e.topic for e in await services.read(outbox.events, key=key)]


async def events(services, after: int = 0):
    """The outbox's events after event ``after``."""
    return [e for e in await services.read(outbox.events) if e.id > after]


async def last_event_id(services) -> int:
    found = await services.read(outbox.events)
    return found[-1].id if found else 0


async def audit_rows(services, entity_id: str | None = None) -> list[dict]:
    def q(tx):
        where, args = ("WHERE entity_id = ?", [entity_id]) if entity_id else ("", [])
        found = yield rows(f"SELECT * FROM audit {where} ORDER BY id", *args)
        return [dict(r) for r in found]

    return await services.store.read(q)
