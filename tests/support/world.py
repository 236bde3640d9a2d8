"""Builders for a small hospital world used across the tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from stdnum.cn import ric

from booking_core import catalogue, patients, schedule
from booking_core.bus import BookingServices
from booking_core.schedule import Period

TZ = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def resident_id(seq: int | None = None, birth: str = "19800101") -> str:
    """A valid 18-digit resident ID number (region 110105, Beijing Chaoyang)."""
    n = next(_seq) if seq is None else seq
    body = f"110105{birth}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def phone(seq: int | None = None) -> str:
    n = next(_seq) if seq is None else seq
    return f"139{n:08d}"


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ)


@dataclass
class World:
    services: BookingServices
    hospital_code: str = "H001"

    async def hospital(self, code: str = "H001", name: str = "协和医院") -> None:
        await self.services.handle(
            catalogue.UpsertHospital(code=code, name=name, timezone="Asia/Shanghai")
        )
        self.hospital_code = code

    async def department(self, code: str = "101", name: str = "心内科") -> None:
        await self.services.handle(
            catalogue.UpsertDepartment(hospital_code=self.hospital_code, code=code, name=name)
        )

    async def doctor(
        self, work_no: str = "00868", department: str = "101", fee: int = 5000
    ) -> None:
        await self.services.handle(
            catalogue.UpsertDoctor(
                hospital_code=self.hospital_code,
                work_no=work_no,
                department_code=department,
                name=f"医生{work_no}",
                title="主任医师",
                specialty="高血压",
                fee=fee,
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
                room="301",
            )
        )

    async def patient(self, name: str = "张三", phone_no: str | None = None):
        return await self.services.handle(
            patients.RegisterPatient(
                hospital_code=self.hospital_code,
                name=name,
                id_number=resident_id(),
                phone=phone_no or phone(),
            )
        )

    async def basic(self, day: date, places: int = 2):
        """One hospital, one department, one doctor (00868) and a morning session."""
        await self.hospital()
        await self.department()
        await self.doctor()
        return await self.session(day, places=places)
