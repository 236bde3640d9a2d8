"""A small world for the desk's tests: two hospitals, patients with names to search for,
free places, a caller transferred by the IVR, and the operators who use the desk."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from booking_core import calls, catalogue, patients, schedule
from booking_core.bus import BookingServices
from booking_core.schedule import Period
from tests.agent_console.helpers import add_operator, hospital_with_booking
from tests.support.world import resident_id

ADMIN_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LI_PHONE = "13812345678"


async def transfer(
    services: BookingServices,
    hospital: str,
    sid: str,
    *,
    caller: str = "13900001111",
    **context: Any,
) -> None:
    """A call the IVR started and passed to the agents with ``context``."""
    await services.handle(
        calls.StartCall(
            call_sid=sid, hospital_code=hospital, caller=caller, state="{}", digits="", response=""
        )
    )
    await services.handle(calls.TransferCall(call_sid=sid, queue="agents", context=context))


async def build(services: BookingServices) -> dict[str, Any]:
    info = {code: await hospital_with_booking(services, code) for code in ("HA", "HB")}
    await services.handle(catalogue.UpsertDepartment(hospital_code="HA", code="102", name="骨科"))
    await services.handle(
        catalogue.UpsertDoctor(
            hospital_code="HA",
            work_no="00901",
            department_code="102",
            name="赵医生",
            title="主任医师",
            fee=3000,
        )
    )
    await services.handle(
        schedule.CreateSession(
            hospital_code="HA",
            doctor_work_no="00901",
            day=date(2026, 7, 12),
            period=Period.AFTERNOON,
            start=time(14, 0),
            end=time(16, 0),
            slot_minutes=30,
            places_per_slot=3,
            room="B201",
        )
    )
    li = await services.handle(
        patients.RegisterPatient(
            hospital_code="HA", name="李小明", id_number=resident_id(501), phone=LI_PHONE
        )
    )
    await services.handle(
        patients.RegisterPatient(
            hospital_code="HA", name="李大同", id_number=resident_id(502), phone="13987654321"
        )
    )
    await services.handle(
        patients.RegisterPatient(
            hospital_code="HB", name="李小明", id_number=resident_id(503), phone="13812340000"
        )
    )
    await add_operator(services, "agent_a", ("agent",), "HA")
    await add_operator(services, "agent_a2", ("agent",), "HA")
    await add_operator(services, "agent_b", ("agent",), "HB")
    await add_operator(services, "hadmin", ("hospital_admin",), "HA", totp_secret=ADMIN_SECRET)
    return {
        "HA": info["HA"],
        "HB": info["HB"],
        "li": li.id,
        "li_card": li.card_no,
        "li_id": resident_id(501),
    }
