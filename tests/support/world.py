"""The one builder of the tests' hospital worlds (医院、科室、医生、排班、患者、预约).

Every test that needs a hospital, departments, doctors, sessions, patients or bookings gets
them from :class:`World`, through the real services. Its defaults are the common world —
协和医院 H001, 心内科 101, doctor 00868 (主任医师, 50元), a morning session 08:00-12:00 in
30-minute slots of 2 places in room 301 — and every value a test asserts on is a keyword to
override. A World builds in one hospital (``hospital_code``); ``world.at("H002")`` is the
same builder for another one.

:func:`slot_ids` is the one reading of a session's slots (in time order) for every test.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from stdnum.cn import ric

from booking_core import bookings, catalogue, patients, schedule
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import rows
from booking_core.schedule import Period

TZ = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def resident_id(seq: int | None = None, birth: str = "19800101") -> str:
    """A valid 18-digit resident ID number (region 110105, Beijing Chaoyang)."""
    n = next(_seq) if seq is None else seq
    body = f"110105{birth}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def many_resident_ids(i: int) -> str:
    """The ``i``-th of many distinct resident IDs: a thousand per birth day from 1960-01-01
    (a resident ID tells people apart by birth day and a 3-digit sequence)."""
    birth = (date(1960, 1, 1) + timedelta(days=i // 1000)).strftime("%Y%m%d")
    return resident_id(i % 1000, birth=birth)


def phone(seq: int | None = None) -> str:
    n = next(_seq) if seq is None else seq
    return f"139{n:08d}"


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ)


# --- reading what was built ------------------------------------------------------------------


class Reader(Protocol):
    """The services or a store: both run a read unit."""

    async def read(self, fn: Any, *args: Any) -> Any: ...


def slots_of(tx, session_id: int):
    """The unit behind :func:`slot_ids` (for a caller that runs units itself)."""
    found = yield rows(
        "SELECT id FROM slots WHERE session_id = ? ORDER BY start_time, id", session_id
    )
    return [r["id"] for r in found]


async def slot_ids(reader: Reader, session_id: int) -> list[int]:
    """The ids of a session's slots, earliest first."""
    return await reader.read(slots_of, session_id)


async def first_slot(reader: Reader, session_id: int) -> int:
    """A session's earliest slot."""
    return (await slot_ids(reader, session_id))[0]


# --- building --------------------------------------------------------------------------------


@dataclass
class World:
    services: BookingServices
    hospital_code: str = "H001"

    def at(self, code: str) -> World:
        """The same builder for hospital ``code`` (this one keeps building in its own)."""
        return World(self.services, code)

    async def hospital(
        self, code: str | None = None, name: str | None = None, *, timezone: str = "Asia/Shanghai"
    ) -> catalogue.Hospital:
        """Hospital ``code`` (this world's when None), named 协和医院 (H001) or 医院<code>;
        the world builds in it from now on."""
        code = code or self.hospital_code
        if name is None:
            name = "协和医院" if code == "H001" else f"医院{code}"
        hospital, _created = await self.services.handle(
            catalogue.UpsertHospital(code=code, name=name, timezone=timezone)
        )
        self.hospital_code = code
        return hospital

    async def department(
        self, code: str = "101", name: str = "心内科", *, aliases: tuple[str, ...] = ()
    ) -> None:
        await self.services.handle(
            catalogue.UpsertDepartment(
                hospital_code=self.hospital_code, code=code, name=name, aliases=aliases
            )
        )

    async def doctor(
        self,
        work_no: str = "00868",
        department: str = "101",
        fee: int = 5000,
        *,
        name: str | None = None,
        title: str = "主任医师",
        specialty: str = "高血压",
        active: bool = True,
    ) -> None:
        """Doctor ``work_no``, named 医生<work_no> unless ``name`` is given."""
        await self.services.handle(
            catalogue.UpsertDoctor(
                hospital_code=self.hospital_code,
                work_no=work_no,
                department_code=department,
                name=name or f"医生{work_no}",
                title=title,
                specialty=specialty,
                fee=fee,
                active=active,
            )
        )

    async def session(
        self,
        day: date,
        work_no: str = "00868",
        period: Period = Period.MORNING,
        start: time = time(8, 0),
        end: time = time(12, 0),
        slot_minutes: int = 30,
        places: int = 2,
        *,
        room: str = "301",
    ):
        return await self.services.handle(
            schedule.CreateSession(
                hospital_code=self.hospital_code,
                doctor_work_no=work_no,
                day=day,
                period=period,
                start=start,
                end=end,
                slot_minutes=slot_minutes,
                places_per_slot=places,
                room=room,
            )
        )

    async def patient(
        self,
        name: str = "张三",
        phone_no: str | None = None,
        *,
        id_number: str | None = None,
        seq: int | None = None,
    ):
        """A real-name patient; ``seq`` picks their resident ID and phone (the same ``seq``
        is the same person, at any hospital), else both are new."""
        return await self.services.handle(
            patients.RegisterPatient(
                hospital_code=self.hospital_code,
                name=name,
                id_number=id_number or resident_id(seq),
                phone=phone_no or phone(seq),
            )
        )

    async def patients(self, n: int, *, phone_prefix: str = "137") -> list[int]:
        """``n`` patients registered at once, 患者0 … with :func:`many_resident_ids` and
        phones ``<phone_prefix>00000000`` …; their ids, in that order."""

        def command(i: int) -> patients.RegisterPatient:
            return patients.RegisterPatient(
                hospital_code=self.hospital_code,
                name=f"患者{i}",
                id_number=many_resident_ids(i),
                phone=f"{phone_prefix}{i:08d}",
            )

        made = await asyncio.gather(*(self.services.handle(command(i)) for i in range(n)))
        return [p.id for p in made]

    async def book(self, slot_id: int, patient_id: int, channel: Channel = Channel.API, **kw: Any):
        """``BookSlot`` (``kw``: actor, patient_name …); the booking's view."""
        return await self.services.handle(
            bookings.BookSlot(slot_id=slot_id, patient_id=patient_id, channel=channel, **kw)
        )

    async def basic(
        self,
        day: date,
        places: int = 2,
        *,
        name: str | None = None,
        doctor: dict[str, Any] | None = None,
        **session: Any,
    ):
        """This world's hospital (``name``), department 101 心内科, doctor 00868 (or as
        ``doctor`` says: name, title, specialty, fee, work_no) and its session on ``day``
        (``session``: period, start, end, slot_minutes, room); the session."""
        doctor = {"work_no": "00868", **(doctor or {})}
        await self.hospital(name=name)
        await self.department()
        await self.doctor(**doctor)
        return await self.session(day, doctor["work_no"], places=places, **session)
