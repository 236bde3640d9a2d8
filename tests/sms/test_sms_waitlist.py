"""候补 by text: ``HB 工号 月日`` joins the doctor's full session that day (a day with
places is "book one instead"), ``QH`` leaves every line (or that doctor's that day),
``QR 预约号`` takes the place offered; each reply says what happened in one segment."""

from __future__ import annotations

from datetime import date, time

import pytest

from booking_core import bookings, catalogue
from booking_core.kernel.unit import rows
from booking_core.schedule import Period
from sms.handler import Answer, Texter, respond
from sms.replies import SEGMENT_CHARS, Replies
from tests.support.world import World, slot_ids

TOMORROW = date(2026, 7, 11)  # the clock is 2026-07-10 09:00 Beijing
PHONE = "13912345678"


@pytest.fixture
async def full(world, services):
    """Doctor 00868 (张伟) tomorrow 08:00–09:00, two places, both taken; 张三 on the phone."""
    await world.hospital(name="协和医院")
    await world.department("101", "心内科")
    await world.doctor("00868", "101", 5000, name="张伟")
    session = await world.session(TOMORROW, "00868", end=time(9, 0), places=1)
    held = []
    for i, slot in enumerate(await slot_ids(services, session.id)):
        p = await world.patient(f"占位{i}", f"1360000000{i}")
        held.append((await world.book(slot, p.id)).booking.booking_no)
    patient = await world.patient("张三", PHONE)
    return session, patient, held


@pytest.fixture
def send(services, full):
    async def send(text: str) -> Answer:
        hospital = await services.read(catalogue.hospital, "H001")
        texter = Texter("H001", hospital.id, "Asia/Shanghai", "+86" + PHONE, "zh")
        return await respond(services, Replies(), texter, text)

    return send


async def _statuses(services) -> list[str]:
    def read(tx):
        return [r["status"] for r in (yield rows("SELECT status FROM waitlist ORDER BY id"))]

    return await services.read(read)


async def test_hb_joins_qh_leaves(send, services, full):
    answer = await send("HB 00868 0711")
    assert answer.reply == "已加入候补：7月11日上午 张伟，张*排第1位。有号即短信通知，退出发QH。"
    assert len(answer.reply) <= SEGMENT_CHARS
    again = await send("hb008680711")
    assert again.reply == "您已在候补中，排第1位。退出请发QH。"
    left = await send("QH")
    assert left.reply == "已退出候补。"
    assert await _statuses(services) == ["left"]
    assert (await send("QH")).reply == "您目前没有候补。"


async def test_hb_for_a_day_with_places_or_without_the_doctor(send, services, full):
    afternoon = (Period.AFTERNOON, time(14, 0), time(15, 0))
    await World(services).session(TOMORROW, "00868", *afternoon)
    answer = await send("HB 00868 0711")  # the morning is full: that one is waited for
    assert "排第1位" in answer.reply
    await send("QH 00868 0711")
    _session, _patient, held = full
    await services.handle(bookings.CancelBooking(booking_no=held[0]))
    answer = await send("HB 00868 0711")  # the morning has a place now, the afternoon too
    assert answer.reply == "该门诊还有1个号，无需候补，请直接预约。"
    assert (await send("HB 00868 0712")).reply == "7月12日工号00868没有出诊，不能候补。"


async def test_qr_takes_the_place_offered(send, services, full):
    _session, _patient, held = full
    await send("HB 00868 0711")
    await services.handle(bookings.CancelBooking(booking_no=held[1]))

    def offered(tx):
        return (
            yield rows(
                "SELECT b.booking_no FROM waitlist w JOIN bookings b ON b.id = w.offer_booking_id"
            )
        )

    (row,) = await services.read(offered)
    answer = await send(f"QR {row['booking_no']}")
    assert answer.reply.startswith("候补确认成功！张* 7月11日08:30 心内科 张伟")
    assert await _statuses(services) == ["accepted"]
    late = await send(f"QR {row['booking_no']}")
    assert late.reply == "该预约已预约，不能办理。"  # confirmed already: nothing more to do
