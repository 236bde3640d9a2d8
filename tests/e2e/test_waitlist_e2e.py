"""候补 end to end, every door in one process over one set of services (issue 15, "What must
be shown" 4): a full session; three patients wait — one by phone (Twilio's signed voice
webhooks: "that day is full, press 1"), one by text (``HB``, a signed Twilio SMS webhook),
one at the desk (an agent over the console's HTTP). A cancellation: the first in line gets
the offer text (the SMS notifier's, with the deadline in local time) and confirms by
text (``QR``). Another cancellation: the second's offer is never answered; at its deadline
the hold sweep lets it lapse and the place is offered to the third, who is texted."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import time

import pytest
from aiohttp import web

import agent_console.web
import ivr.web
import sms.web
from booking_core import bookings
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import rows
from sms.notifier import Notifier
from sms.replies import Replies
from tests.agent_console.helpers import Console, add_operator, console_settings
from tests.ivr.helpers import ACCOUNT, PUBLIC_URL, TOKEN, TOMORROW, Twilio, sign
from tests.support.world import World, resident_id, slot_ids

IVR_PHONE = "13900000001"  # 张三 calls
SMS_PHONE = "13912345678"  # 李四 texts
DESK_PHONE = "13700000003"  # 王五 is at the desk (or on the phone to it)
_sids = itertools.count(1)


def _root(services) -> web.Application:
    """The three doors as the engine mounts them, over the same services."""
    root = web.Application()
    common = {"auth_token": TOKEN, "public_url": PUBLIC_URL, "hospital_code": "H001"}
    root.add_subapp("/twilio/voice/", ivr.web.make_app(services, **common))
    root.add_subapp("/twilio/sms/", sms.web.make_app(services, **common, can_text_later=False))
    root.add_subapp("/console/", agent_console.web.make_app(services, console_settings()))
    return root


async def _text(client, phone: str, body: str) -> str:
    """A signed Twilio webhook for a text from ``phone``; the reply it answers with."""
    params = {
        "MessageSid": f"SM{next(_sids):032x}",
        "AccountSid": ACCOUNT,
        "From": "+86" + phone,
        "To": "+861069000000",
        "Body": body,
        "NumSegments": "1",
    }
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params)}
    async with client.post("/twilio/sms", data=params, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        found = ET.fromstring((await resp.text()).encode()).find("./Message")
        return found.text if found is not None else ""


async def _notices(services) -> list[dict]:
    """Run the SMS notifier over what happened; the notices it queued, oldest first."""
    notifier = Notifier(services, Replies(), "twilio", consumer="test")
    while await notifier.run_once():
        pass

    def read(tx):
        found = yield rows(
            "SELECT phone_enc, body, kind, booking_no FROM messages "
            "WHERE direction = 'out' AND kind <> 'reply' ORDER BY id"
        )
        return [dict(r) for r in found]

    out = []
    for r in await services.store.read(read):
        phone = services.cipher.decrypt(r["phone_enc"], context="phone")
        out.append({**r, "phone": phone})
    return out


async def _entries(services, session_id: int) -> list[tuple[int, str]]:
    def read(tx):
        found = yield rows(
            "SELECT patient_id, status FROM waitlist WHERE session_id = ? ORDER BY id", session_id
        )
        return [(r["patient_id"], r["status"]) for r in found]

    return await services.store.read(read)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_three_doors_wait_the_first_confirms_by_text_the_second_lapses_to_the_third(
    aiohttp_client, services, clock, db_url
):
    world = World(services)
    session = await world.basic(TOMORROW, places=1, end=time(9, 0))  # two places, 08:00, 08:30
    holders = []
    for i, slot in enumerate(await slot_ids(services, session.id)):
        p = await world.patient(f"占位{i}", f"1360000000{i}")
        holders.append((await world.book(slot, p.id)).booking.booking_no)
    zhang = await world.patient("张三", IVR_PHONE, id_number=resident_id(2, birth="19900315"))
    li = await world.patient("李四", SMS_PHONE)
    wang = await world.patient("王五", DESK_PHONE)
    await add_operator(services, "agent1", ("agent",), "H001")
    client = await aiohttp_client(_root(services))

    # 1. by phone: the full day is offered its waitlist
    call = Twilio(client, services).call(caller="+86" + IVR_PHONE)
    await call.dial()
    await call.press("1")
    await call.press(zhang.card_no)
    await call.press("101")
    await call.press("00868")
    await call.press("0711")
    assert "没有可以预约的号" in call.text()
    assert "加入候补请按1" in call.text()
    await call.press("1")
    assert "排在第1位" in call.text()

    # 2. by text
    reply = await _text(client, SMS_PHONE, "HB 00868 0711")
    assert "排第2位" in reply, reply

    # 3. at the desk
    agent = Console(client, services, clock)
    await agent.sign_in("agent1")
    status, body = await agent.get(
        f"/desk/patients/{wang.id}/slots", params={"doctor": "00868", "day": "2026-07-11"}
    )
    assert [f["session_id"] for f in body["full_sessions"]] == [session.id]
    status, body = await agent.post(
        f"/desk/patients/{wang.id}/waitlist", {"session_id": session.id}
    )
    assert (status, body["entry"]["position"]) == (201, 3), body
    assert await _entries(services, session.id) == [
        (zhang.id, "waiting"),
        (li.id, "waiting"),
        (wang.id, "waiting"),
    ]
    before = len(await _notices(services))

    # a cancellation: the first in line is offered the place, by text, and confirms by text
    await services.handle(bookings.CancelBooking(booking_no=holders[0]))
    new = (await _notices(services))[before:]
    offers = [n for n in new if n["kind"] == "waitlist"]
    assert [n["phone"] for n in offers] == [IVR_PHONE]
    assert "候补成功" in offers[0]["body"]
    assert "11:00" in offers[0]["body"]
    offered_no = offers[0]["booking_no"]
    assert f"QR {offered_no}" in offers[0]["body"]
    reply = await _text(client, IVR_PHONE, f"QR {offered_no}")
    assert "候补确认成功" in reply, reply
    assert offered_no in reply
    confirmed = await services.read(bookings.get_booking, offered_no, SYSTEM)
    assert confirmed.booking.status == "confirmed"

    # another cancellation: the second is offered it, never answers; at the deadline it lapses
    # and the place goes to the third, who is texted
    await services.handle(bookings.CancelBooking(booking_no=holders[1]))
    notices = await _notices(services)
    seen = len(notices)
    second = [n for n in notices if n["kind"] == "waitlist"][-1]
    assert second["phone"] == SMS_PHONE
    clock.advance(minutes=119, seconds=59)  # one second before the deadline
    assert await services.handle(bookings.ExpireHolds()) == 0
    clock.advance(seconds=1)
    assert await services.handle(bookings.ExpireHolds()) == 1
    after = (await _notices(services))[seen:]
    assert [(n["phone"], n["kind"]) for n in after if n["kind"] == "waitlist"] == [
        (DESK_PHONE, "waitlist")
    ]
    assert await _entries(services, session.id) == [
        (zhang.id, "accepted"),
        (li.id, "lapsed"),
        (wang.id, "offered"),
    ]
    # the lapsed offer's patient is told it was released (the held booking's cancellation),
    # as a waitlist place not confirmed in time: never "not paid", nothing was asked to pay
    [told] = [n for n in after if n["phone"] == SMS_PHONE and n["kind"] == "cancellation"]
    assert "候补名额未在时限内确认，已取消" in told["body"]
    assert "名额已转给下一位候补者" in told["body"]
    assert "支付" not in told["body"]
