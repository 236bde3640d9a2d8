"""Reads of kiosks (自助机): one kiosk (the engine maps an MQTT user to it), the console's
devices screen, the broker's accounts, the jobs to publish again, a card swiped at a kiosk
and the free places a kiosk may book."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..bookings.model import ACTIVE_SQL
from ..bookings.repo import VIEW_SQL, view_from
from ..catalogue.repo import hospital_by_id, hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import InvalidInput, NotFound
from ..kernel.identity import mask_name, normalize_id_number
from ..kernel.pii import Cipher
from ..kernel.unit import MAX_ROWS, Tx, Unit, one, rows
from ..schedule.model import SlotView
from ..schedule.queries import SlotSearch, search_slots
from .model import (
    OPEN_SQL,
    BrokerAccount,
    Card,
    IdCard,
    Kiosk,
    KioskJob,
    KioskOverview,
    PatientCard,
    Swiped,
    SwipedBooking,
    SwipedPatient,
)
from .repo import (
    JOB_SQL,
    KIOSK_SQL,
    device_from,
    job_by_id,
    job_from,
    kiosk_from,
    seen_kiosk,
    usable_kiosk,
)

LAST_JOBS = 10  # what the devices screen shows of a kiosk's recent work, and of its failures

RESEND_AFTER_SECONDS = 30
"""A job published this long ago without an ack is published again (the protocol's 30 s)."""


def kiosk(tx: Tx, kiosk_id: str, actor: Actor) -> Unit[Kiosk]:
    """The kiosk (a disabled one too: ``disabled`` says so); another hospital's, or none,
    is not found. The engine maps an MQTT user name to its hospital with this."""
    return (yield from seen_kiosk(actor, kiosk_id))


def kiosk_job(tx: Tx, job_id: str, actor: Actor) -> Unit[KioskJob]:
    job: KioskJob = yield from job_by_id(job_id)
    tenancy.check(actor, job.hospital_id, "kiosk_job", job_id)
    return job


def broker_accounts(tx: Tx, actor: Actor) -> Unit[list[BrokerAccount]]:
    """Every enabled kiosk's user name and password hash the actor may see (the engine:
    every hospital's), for the broker's password file."""
    where, args = tenancy.scope(actor, "hospital_id")
    found = yield rows(
        "SELECT id, password_hash FROM kiosks WHERE "
        + " AND ".join(["disabled_at IS NULL", *where])
        + " ORDER BY id",
        *args,
    )
    return [BrokerAccount(r["id"], r["password_hash"]) for r in found]


def jobs_to_send(
    tx: Tx,
    actor: Actor,
    *,
    kiosk_id: str | None = None,
    older_than_seconds: int = RESEND_AFTER_SECONDS,
) -> Unit[list[KioskJob]]:
    """Unacknowledged jobs last published (or made) at least ``older_than_seconds`` ago, in
    the order they were made: of ``kiosk_id`` (when it comes back online: 0 s), else of
    every online kiosk (the re-send sweep; an offline kiosk's wait until it is back).
    Disabled kiosks' are left out."""
    where = [f"j.status IN {OPEN_SQL}", "k.disabled_at IS NULL"]
    where.append("coalesce(j.sent_at, j.created_at) <= ?")
    args: list[Any] = [tx.epoch - max(older_than_seconds, 0)]
    if kiosk_id is not None:
        yield from seen_kiosk(actor, kiosk_id)
        where.append("j.kiosk_id = ?")
        args.append(kiosk_id)
    else:
        scoped, scoped_args = tenancy.scope(actor, "j.hospital_id")
        where += [*scoped, "k.online = 1"]
        args += scoped_args
    found = yield rows(
        JOB_SQL
        + " JOIN kiosks k ON k.id = j.kiosk_id WHERE "
        + " AND ".join(where)
        + " ORDER BY j.id LIMIT ?",
        *args,
        MAX_ROWS,
    )
    return [job_from(r) for r in found]


def kiosks(
    tx: Tx, actor: Actor, *, hospital_code: str | None = None, jobs: int = LAST_JOBS
) -> Unit[list[KioskOverview]]:
    """The devices screen: each kiosk the actor may see (of ``hospital_code`` when named;
    disabled ones too), online/offline since when, each device, its newest jobs and
    failures, and how many of its jobs are unacknowledged."""
    named = (yield from hospital_for(actor, hospital_code)).id if hospital_code else None
    where, args = tenancy.scope(actor, "k.hospital_id", named)
    clause = " WHERE " + " AND ".join(where) if where else ""
    found = yield rows(
        KIOSK_SQL + clause + " ORDER BY h.code, k.name, k.id LIMIT ?", *args, MAX_ROWS
    )
    if not found:
        return []
    ids = [r["id"] for r in found]
    marks = ", ".join("?" * len(ids))
    devices = yield rows(
        f"SELECT * FROM kiosk_devices WHERE kiosk_id IN ({marks}) ORDER BY device", *ids
    )
    newest = (
        "SELECT * FROM (SELECT j.*, b.booking_no, row_number() OVER "
        "(PARTITION BY j.kiosk_id ORDER BY j.id DESC) AS n FROM kiosk_jobs j "
        f"LEFT JOIN bookings b ON b.id = j.booking_id WHERE j.kiosk_id IN ({marks}) {{}}) AS q "
        "WHERE q.n <= ? ORDER BY q.id DESC"
    )
    last = yield rows(newest.format(""), *ids, jobs)
    failed = yield rows(newest.format("AND j.status = 'failed'"), *ids, jobs)
    counts = yield rows(
        f"SELECT kiosk_id, count(*) AS n FROM kiosk_jobs WHERE status IN {OPEN_SQL} "
        f"AND kiosk_id IN ({marks}) GROUP BY kiosk_id",
        *ids,
    )
    open_jobs = {r["kiosk_id"]: r["n"] for r in counts}
    return [
        KioskOverview(
            kiosk=kiosk_from(r),
            devices=tuple(device_from(d) for d in devices if d["kiosk_id"] == r["id"]),
            last_jobs=tuple(job_from(j) for j in last if j["kiosk_id"] == r["id"]),
            failures=tuple(job_from(j) for j in failed if j["kiosk_id"] == r["id"]),
            open_jobs=open_jobs.get(r["id"], 0),
        )
        for r in found
    ]


def swipe(tx: Tx, kiosk_id: str, card: Card, actor: Actor, cipher: Cipher) -> Unit[Swiped]:
    """A card swiped at the kiosk: the patient of its hospital with that card number, or
    with that ID number (through the blind index) and the card's name — a name that is not
    the registered one answers as no patient at all — and their bookings of today (hospital
    local), active ones, in time order."""
    kiosk_ = yield from usable_kiosk(actor, kiosk_id)
    where, args = tenancy.scope(kiosk_.actor, "hospital_id")
    if isinstance(card, PatientCard):
        key = card.card_no.strip()
        where.append("card_no = ?")
        args.append(key)
    else:
        id_number = normalize_id_number(card.id_number)
        key = f"**************{id_number[-4:]}"  # never the number itself, in any log
        where.append("id_index = ?")
        args.append(cipher.blind_index(id_number, context="id_number"))
    patient = yield one(
        f"SELECT id, name, card_no FROM patients WHERE {' AND '.join(where)}", *args
    )
    if patient is None or (
        isinstance(card, IdCard) and " ".join(card.name.split()) != patient["name"]
    ):
        raise NotFound("patient", key)
    hospital = yield from hospital_by_id(kiosk_.hospital_id)
    today = tx.now.astimezone(ZoneInfo(hospital.timezone)).date()
    found = yield rows(
        VIEW_SQL + f" WHERE b.patient_id = ? AND b.day = ? AND b.status IN {ACTIVE_SQL} "
        "ORDER BY sl.start_time, b.id",
        patient["id"],
        today.isoformat(),
    )
    views = [(view_from(r), r["ticket_printed_at"] is not None) for r in found]
    return Swiped(
        patient=SwipedPatient(mask_name(patient["name"]), patient["card_no"]),
        bookings=tuple(
            SwipedBooking(
                booking_no=v.booking.booking_no,
                department=v.department_name,
                doctor=v.doctor_name,
                time=f"{v.start:%H:%M}-{v.end:%H:%M}",
                status=str(v.booking.status),
                fee=v.booking.fee,
                paid=v.booking.paid >= v.booking.fee,
                ticket_printed=printed,
            )
            for v, printed in views
        ),
        patient_id=patient["id"],
    )


def kiosk_slots(
    tx: Tx, kiosk_id: str, department_code: str, day: date, actor: Actor
) -> Unit[list[SlotView]]:
    """The free places of a department the kiosk may book now: today's or tomorrow's only
    (hospital-local), released and before the cut-off, as every door lists them."""
    kiosk_ = yield from usable_kiosk(actor, kiosk_id)
    hospital = yield from hospital_by_id(kiosk_.hospital_id)
    today = tx.now.astimezone(ZoneInfo(hospital.timezone)).date()
    if day not in (today, today + timedelta(days=1)):
        raise InvalidInput("day", "a kiosk books today's and tomorrow's places only")
    search = SlotSearch(
        hospital_code=kiosk_.hospital_code,
        department_code=department_code,
        day=day,
        bookable_only=True,
    )
    found: list[SlotView] = yield from search_slots(tx, search, kiosk_.actor)
    if not found:  # an unknown department lists nothing; say so rather than "no places"
        known = yield one(
            "SELECT 1 AS x FROM departments WHERE hospital_id = ? AND code = ?",
            kiosk_.hospital_id,
            department_code,
        )
        if known is None:
            raise NotFound("department", department_code)
    return found
