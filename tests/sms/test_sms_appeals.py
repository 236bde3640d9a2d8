"""The credit ladder and appeals at the SMS door (both stores): ``SS 理由`` files an appeal
(no ban, one already waiting: worded refusals); the notifier texts the ladder's warning, a
ladder ban when it starts, and the administrator's decision on an appeal."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core import blacklist, bookings
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.unit import rows
from booking_core.rules import RuleKey
from sms.handler import Texter, respond
from sms.notifier import Notifier
from sms.replies import Replies
from tests.booking_core.helpers import set_rule
from tests.support.world import first_slot, local

TOMORROW = date(2026, 7, 11)  # the clock is 2026-07-10 09:00 Beijing
PHONE = "13912345678"
ADMIN = Actor("operator", "admin01")


@pytest.fixture
def replies() -> Replies:
    return Replies()


@pytest.fixture
def notifier(services, replies) -> Notifier:
    return Notifier(services, replies, "twilio", consumer="test")


@pytest.fixture
def send(services, replies):
    async def send(text: str, lang: str = "zh") -> str:
        hospital_id = (await services.read(_hospital_id))["id"]
        texter = Texter("H001", hospital_id, "Asia/Shanghai", "+86" + PHONE, lang)
        return (await respond(services, replies, texter, text)).reply

    return send


def _hospital_id(tx):
    found = yield rows("SELECT id FROM hospitals WHERE code = 'H001'")
    return dict(found[0])


async def _texts(services) -> list[tuple[str, str]]:
    def read(tx):
        found = yield rows(
            "SELECT kind, body FROM messages WHERE direction = 'out' AND status = 'queued' "
            "ORDER BY id"
        )
        return [(r["kind"], r["body"]) for r in found]

    return await services.read(read)


async def _drain(notifier) -> None:
    while await notifier.run_once():
        pass


async def test_ss_files_an_appeal_once_and_the_decision_is_texted(
    world, services, send, notifier, clock
):
    await world.basic(TOMORROW)
    patient = await world.patient("张三", PHONE)
    assert await send("SS 那天住院了") == "您目前未被暂停预约，无需申诉。"
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 8, 31), reason="爽约")
    )
    assert await send("SS 那天住院了") == "已收到张*的申诉，处理结果将短信告知。"
    assert await send("申诉 再说一次") == "您7月10日的申诉正在处理，结果将短信告知。"
    assert "200" in await send("SS " + "长" * 201)
    assert "SS" in await send("BZ")
    [appeal] = await services.read(blacklist.list_appeals, SYSTEM)
    assert (appeal["reason"], appeal["channel"]) == ("那天住院了", "sms")

    await _drain(notifier)
    assert await _texts(services) == []  # filing by text: the reply said it
    await services.handle(
        blacklist.DecideAppeal(
            appeal_id=appeal["id"], grant=False, answer="请提供住院证明", actor=ADMIN
        )
    )
    await _drain(notifier)
    [(kind, body)] = await _texts(services)
    assert kind == "appeal"
    assert "未通过" in body
    assert "9月1日起可再预约" in body
    assert "请提供住院证明" in body

    again = await send("SS 已补交证明")
    assert again.startswith("已收到")
    [second] = await services.read(blacklist.list_appeals, SYSTEM)
    await services.handle(blacklist.DecideAppeal(appeal_id=second["id"], grant=True, actor=ADMIN))
    await _drain(notifier)
    kind, body = (await _texts(services))[-1]
    assert (kind, "已通过" in body) == ("appeal", True)


async def test_the_ladder_texts_a_warning_then_a_ban(world, services, notifier, clock):
    await world.basic(date(2026, 7, 1))
    await set_rule(services, RuleKey.BOOK_CANCEL_STRIKE, 0, enabled=False)
    patient = await world.patient("张三", PHONE)
    for day in (date(2026, 7, 11), date(2026, 7, 12)):
        session = await world.session(day)
        clock.set(local(2026, 7, 10, 9, 0))
        await services.handle(
            bookings.BookSlot(
                slot_id=await first_slot(services, session.id),
                patient_id=patient.id,
                channel=Channel.AGENT,
            )
        )
    await _drain(notifier)
    before = len(await _texts(services))
    for day in (11, 12):
        clock.set(local(2026, 7, day, 12, 0))
        await services.handle(bookings.SweepNoShows())
    await _drain(notifier)
    texts = (await _texts(services))[before:]
    credit = [body for kind, body in texts if kind == "credit"]
    assert len(credit) == 2
    assert "爽约" in credit[0]
    assert "再次失信将暂停预约30天" in credit[0]
    assert "8月11日前暂停预约" in credit[1]
    assert "SS" in credit[1]


async def test_an_admins_ban_is_not_texted_by_the_ladder(world, services, notifier):
    await world.basic(TOMORROW)
    patient = await world.patient("张三", PHONE)
    await _drain(notifier)
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 8, 31), reason="倒号")
    )
    await _drain(notifier)
    assert [k for k, _ in await _texts(services) if k == "credit"] == []


async def test_ss_in_english(world, services, send):
    await world.basic(TOMORROW)
    await world.patient("张三", PHONE)
    assert "nothing to appeal" in await send("SS sick", lang="en")
