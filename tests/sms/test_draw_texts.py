"""Fair admission at release (公平放号) by text: a GHDH in the window is answered "queued"
(one segment), a repeat "already queued", and what the reply promised is true — after the
draw the texter gets the outcome: the winner a confirmation (though they asked by text),
the others why not, at the phone that asked."""

from __future__ import annotations

import random
from datetime import date, time

import pytest

from booking_core import bookings, catalogue
from booking_core.kernel.actor import Channel
from booking_core.kernel.deps import Deps
from booking_core.kernel.errors import Queued
from booking_core.kernel.unit import rows
from booking_core.rules import RuleKey
from sms.handler import Texter, respond
from sms.notifier import Notifier
from sms.replies import SEGMENT_CHARS, Replies
from tests.booking_core.helpers import set_rule
from tests.support.world import local

DAY = date(2026, 7, 17)  # released 2026-07-10 07:30 Beijing
PHONES = ["13912340001", "13912340002", "13912340003"]


@pytest.fixture
async def fair(world, services, clock):
    """H001 in fair mode (10 s), doctor 00868 (张伟) with one place at 08:00 on DAY, three
    patients each with their own phone; the clock at the release instant."""
    session = await world.basic(DAY, places=1, end=time(8, 30))
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, 10)
    services.deps = Deps(cipher=services.cipher, cache=services.cache, rng=random.Random(1))
    names = ["张三", "李四", "王五"]
    for name, phone in zip(names, PHONES, strict=True):
        await world.patient(name, phone)
    clock.set(local(2026, 7, 10, 7, 30))
    return session


async def text(services, phone: str, body: str):
    hospital = await services.read(catalogue.hospital, "H001")
    texter = Texter("H001", hospital.id, "Asia/Shanghai", "+86" + phone, "zh")
    return await respond(services, Replies(), texter, body)


async def sent(services) -> list[dict]:
    def read(tx):
        found = yield rows(
            "SELECT kind, phone_enc, body FROM messages WHERE direction = 'out' ORDER BY id"
        )
        return [
            {**dict(r), "phone": services.cipher.decrypt(r["phone_enc"], context="phone")}
            for r in found
        ]

    return await services.read(read)


async def test_a_text_in_the_window_is_queued_then_its_outcome_is_texted(fair, services, clock):
    replies = []
    for name, phone in zip(["张三", "李四", "王五"], PHONES, strict=True):
        replies.append((await text(services, phone, f"GHDH00868,07170800,{name}")).reply)
    assert replies[0] == "刚放号，请求已排队，07:30公平抽签后短信告知结果。"
    assert all(r == replies[0] for r in replies)
    assert all(len(r) <= SEGMENT_CHARS for r in replies)
    again = await text(services, PHONES[0], "GHDH00868,07170800,张三")
    assert again.reply == "您已在排队，无需重复发送，07:30抽签后短信告知结果。"

    clock.set(local(2026, 7, 10, 7, 30, 10))
    outcome = await services.handle(bookings.RunDraws())
    assert (outcome.booked, outcome.refused) == (1, 2)
    notifier = Notifier(services, Replies(), "twilio", consumer="test")
    while await notifier.run_once():
        pass
    out = await sent(services)
    assert sorted(m["phone"] for m in out) == sorted(PHONES)  # each texter told, once
    (won,) = [m for m in out if m["kind"] == "confirmation"]
    assert "预约成功" in won["body"]
    lost = [m for m in out if m["kind"] == "draw"]
    assert len(lost) == 2
    for message in lost:
        assert message["body"].startswith("【协和医院】放号抽签未约上7月17日08:00 心内科")
        assert "号已被抽完" in message["body"]
        assert len(message["body"]) <= SEGMENT_CHARS


async def test_a_relative_who_asked_is_texted_the_outcome_too(fair, services, clock):
    """A desk or a HIS asked for a patient from a relative's phone: the relative was told
    "queued", so the relative is texted the outcome as well as the patient."""
    relative = "13700000007"
    patient_ids = await services.read(
        lambda tx: (yield rows("SELECT id FROM patients ORDER BY id"))
    )
    slot = (await services.read(lambda tx: (yield rows("SELECT id FROM slots"))))[0]["id"]
    with pytest.raises(Queued):
        await services.handle(
            bookings.BookSlot(
                slot_id=slot,
                patient_id=patient_ids[0]["id"],
                channel=Channel.AGENT,
                booker_phone=relative,
            )
        )
    clock.set(local(2026, 7, 10, 7, 30, 10))
    assert (await services.handle(bookings.RunDraws())).booked == 1
    notifier = Notifier(services, Replies(), "twilio", consumer="test")
    while await notifier.run_once():
        pass
    out = await sent(services)
    assert sorted(m["phone"] for m in out) == sorted([PHONES[0], relative])
    assert all(m["kind"] == "confirmation" for m in out)
