"""A small world for the desk's tests: two hospitals, patients with names to search for,
free places, a caller transferred by the IVR, and the operators who use the desk."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from booking_core import calls
from booking_core.bus import BookingServices
from booking_core.schedule import Period
from tests.agent_console.helpers import add_operator, hospital_with_booking
from tests.support.world import World, resident_id

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
    ha = World(services, "HA")
    await ha.department("102", "骨科")
    await ha.doctor("00901", "102", 3000, name="赵医生", specialty="")
    await ha.session(
        date(2026, 7, 12), "00901", Period.AFTERNOON, time(14), time(16), places=3, room="B201"
    )
    li = await ha.patient("李小明", LI_PHONE, id_number=resident_id(501))
    await ha.patient("李大同", "13987654321", id_number=resident_id(502))
    await World(services, "HB").patient("李小明", "13812340000", id_number=resident_id(503))
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


async def go_available(console) -> None:
    """The signed-in agent goes available (置闲): only then are callers offered (#14)."""
    status, body = await console.post("/desk/state", {"state": "available"})
    assert status == 200, body
    assert body["agent"]["state"] == "available", body
