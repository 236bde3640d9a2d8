"""Texts end to end through the engine: Twilio's signed webhooks and a GSM modem on a real
pty, to the booking core and back; notices out through the fake Twilio REST API."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from booking_core import bookings, messages
from booking_core.kernel.actor import Channel
from booking_core.kernel.pii import Cipher
from booking_core.kernel.unit import rows, val
from booking_core.messages import MessageStatus
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES, STORE
from sms.modem.simulator import ModemSimulator
from sms.notifier import CONSUMER as NOTIFIER
from tests.fakes.twilio_rest import ACCOUNT, SENDER, TOKEN
from tests.support.waiting import eventually
from tests.support.world import World, resident_id

PUBLIC_URL = "https://booking.example-hospital.test"
PHONE = "13912345678"
TOMORROW = date(2026, 7, 11)  # the clock is 2026-07-10 09:00 Beijing
_sids = itertools.count(1)


@pytest.fixture
async def modem(tmp_path):
    async with ModemSimulator(link=tmp_path / "ttyGSM0") as simulator:
        yield simulator


@pytest.fixture
async def engine(tmp_path, clock, fake, modem):
    """The engine with both gateways; stopped before the fake Twilio and the modem go."""
    settings = dataclasses.replace(
        load_settings(env={"GUAHAO_PII_KEY": Cipher.generate_key()}, overrides={}),
        db=str(tmp_path / "g.db"),
        public_url=PUBLIC_URL,
        twilio_auth_token=TOKEN,
        twilio_account_sid=ACCOUNT,
        twilio_sms_from=SENDER,
        twilio_api_base=fake.base_url,
        modem_port=modem.port,
        modem_send_interval_seconds=0.0,
        sms_notices="twilio",
        hold_sweep_seconds=3600,
        no_show_sweep_seconds=3600,
    )
    async with TestClient(TestServer(build_app(settings, clock=clock))) as client:
        services = client.app[SERVICES]
        world = World(services)
        await world.basic(TOMORROW, places=2)
        await world.patient("张三", PHONE)
        yield client


async def texts_settled(engine) -> bool:
    """Every event so far has been through the notifier (its delivery to the notifier's
    consumer is done) and no text it queued waits for a sender or is in a gateway's hands
    (a sender sends queued texts only): nothing more is texted until something new happens.
    A check that no (further) text was sent waits for this, not for a fixed time."""

    def read(tx):
        done = yield val(
            "SELECT count(*) FROM outbox_deliveries WHERE consumer = ? AND done_at IS NOT NULL",
            NOTIFIER,
        )
        due = yield val(
            "SELECT count(*) FROM outbox_deliveries WHERE consumer = ? AND done_at IS NULL",
            NOTIFIER,
        )
        unsent = yield val(
            "SELECT count(*) FROM messages WHERE direction = 'out' AND status IN (?, ?)",
            MessageStatus.QUEUED,
            MessageStatus.SENDING,
        )
        return done > 0 and due == 0 and unsent == 0

    return await engine.app[STORE].read(read)


def signed(path: str, params: dict, token: str = TOKEN) -> dict:
    return {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    }


async def text_twilio(client, body: str, *, sid: str | None = None, phone: str = PHONE):
    params = {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": ACCOUNT,
        "From": "+86" + phone,
        "To": SENDER,
        "Body": body,
        "NumSegments": "1",
    }
    resp = await client.post("/twilio/sms", data=params, headers=signed("/twilio/sms", params))
    return resp.status, await resp.text()


def message_of(twiml: str) -> str:
    found = ET.fromstring(twiml.encode()).find("./Message")
    return found.text if found is not None else ""


async def table(client, sql: str, *args):
    def read(tx):
        return [dict(r) for r in (yield rows(sql, *args))]

    return await client.app[STORE].read(read)


# --- Twilio ------------------------------------------------------------------------------------


async def test_a_booking_code_texted_over_twilio_books_and_the_reply_confirms(engine, fake):
    status, twiml = await text_twilio(engine, "GHDH00868,07110830,张三")
    assert status == 200
    reply = message_of(twiml)
    (booking,) = await table(engine, "SELECT booking_no, channel, status FROM bookings")
    assert booking["channel"] == "sms"
    assert booking["booking_no"] in reply
    await eventually(lambda: texts_settled(engine), "the booking through the notifier")
    assert fake.creates == []  # the reply was the confirmation: no second text
    log = await table(engine, "SELECT direction, kind, status FROM messages ORDER BY id")
    assert [tuple(r.values()) for r in log] == [
        ("in", "command", "answered"),
        ("out", "reply", "sent"),
    ]
    metrics = await (await engine.get("/metrics")).text()
    assert 'guahao_bookings_total{channel="sms",result="created"} 1.0' in metrics


async def test_refused_bookings_by_text_are_counted_by_refusal(engine):
    await text_twilio(engine, "GHDH00868,07110830,张三")
    await text_twilio(engine, "GHDH00868,07110830,张三")  # the same slot again
    metrics = await (await engine.get("/metrics")).text()
    assert 'guahao_bookings_total{channel="sms",result="created"} 1.0' in metrics
    assert 'guahao_bookings_total{channel="sms",result="already_booked"} 1.0' in metrics


async def _book_by_agent(engine) -> str:
    """A booking made for the patient elsewhere (an agent, the API): it is texted."""
    services = engine.app[SERVICES]
    patient = (await table(engine, "SELECT id FROM patients WHERE name = '张三'"))[0]
    slot = (await table(engine, "SELECT id FROM slots ORDER BY id LIMIT 1"))[0]
    view = await services.handle(
        bookings.BookSlot(slot_id=slot["id"], patient_id=patient["id"], channel=Channel.AGENT)
    )
    return view.booking.booking_no


async def test_a_booking_made_by_an_agent_is_confirmed_by_text_once(engine, fake):
    number = await _book_by_agent(engine)
    await eventually(lambda: _creates(fake), "a confirmation sent")
    await eventually(lambda: texts_settled(engine), "every event through the notifier")
    (create,) = fake.creates
    assert create.form["To"] == "+86" + PHONE
    assert number in create.form["Body"]
    assert create.form["StatusCallback"] == PUBLIC_URL + "/twilio/sms/status"
    (row,) = await table(engine, "SELECT kind, status FROM messages")
    assert row == {"kind": "confirmation", "status": "sent"}


async def _creates(fake):
    return list(fake.creates)


async def test_twilio_retries_of_one_message_act_once_and_get_one_reply(engine):
    sid = "SM" + "7" * 32
    answers = await asyncio.gather(
        *(text_twilio(engine, "GHDH00868,07110830,张三", sid=sid) for _ in range(5))
    )
    assert {status for status, _ in answers} == {200}
    assert len({message_of(t) for _, t in answers}) == 1
    assert len(await table(engine, "SELECT id FROM bookings")) == 1
    assert len(await table(engine, "SELECT id FROM messages WHERE direction = 'in'")) == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, "wrong-token", "wrong-url"],
)
async def test_a_forged_text_is_refused_and_stores_nothing(engine, headers):
    params = {
        "MessageSid": "SM" + "1" * 32,
        "From": "+86" + PHONE,
        "Body": "GHDH00868,07110830,张三",
    }
    if headers == "wrong-token":
        headers = signed("/twilio/sms", params, token="not-the-token")
    elif headers == "wrong-url":
        sig = RequestValidator(TOKEN).compute_signature("https://evil.test/twilio/sms", params)
        headers = {"X-Twilio-Signature": sig}
    resp = await engine.post("/twilio/sms", data=params, headers=headers)
    assert resp.status == 403
    assert await table(engine, "SELECT id FROM messages") == []
    assert await table(engine, "SELECT id FROM bookings") == []


async def test_the_fallback_answers_in_chinese_without_a_database(engine):
    params = {"MessageSid": "SM" + "2" * 32, "From": "+86" + PHONE, "Body": "CX"}
    await engine.app[STORE].close()
    try:
        resp = await engine.post(
            "/twilio/sms/fallback", data=params, headers=signed("/twilio/sms/fallback", params)
        )
        assert resp.status == 200
        assert "系统繁忙" in message_of(await resp.text())
    finally:
        await engine.app[STORE].open()


async def test_delivery_reports_move_the_log_forward_only(engine, fake):
    await _book_by_agent(engine)
    await eventually(lambda: _creates(fake), "a confirmation sent")
    (sid,) = fake.messages

    async def report(state: str) -> int:
        params = fake.status_callback_params(sid) | {"MessageStatus": state}
        path = "/twilio/sms/status"
        resp = await engine.post(path, data=params, headers=signed(path, params))
        return resp.status

    await eventually(
        lambda: table(engine, "SELECT 1 FROM messages WHERE provider_id = ?", sid), "recorded"
    )
    assert await report("delivered") == 204
    assert await report("sent") == 204  # late
    (row,) = await table(engine, "SELECT status FROM messages WHERE provider_id = ?", sid)
    assert row["status"] == "delivered"
    resp = await engine.post(
        "/twilio/sms/status", data={"MessageSid": sid, "MessageStatus": "failed"}
    )
    assert resp.status == 403  # unsigned


async def test_an_opted_out_phone_gets_no_reminder(engine, fake, clock):
    _, twiml = await text_twilio(engine, "TD")
    assert message_of(twiml)
    await _book_by_agent(engine)
    services = engine.app[SERVICES]
    clock.advance(hours=10)  # 19:00 Beijing: tomorrow's reminders are due
    await services.handle(messages.QueueReminders(hour=18))
    await eventually(
        lambda: table(engine, "SELECT 1 FROM messages WHERE kind = 'reminder'"), "reminder"
    )
    (reminder,) = await table(engine, "SELECT status, error FROM messages WHERE kind = 'reminder'")
    assert reminder == {"status": "skipped", "error": "opted_out"}
    await eventually(lambda: _creates(fake), "the confirmation still goes")
    await eventually(lambda: texts_settled(engine), "the reminders through the notifier")
    bodies = [create.form["Body"] for create in fake.creates]
    assert len(bodies) == 1, bodies  # the confirmation only, no reminder
    assert "预约成功" in bodies[0]


# --- the GSM modem ----------------------------------------------------------------------------


async def test_a_booking_code_texted_to_the_modem_is_answered_through_the_modem(engine, modem):
    modem.deliver("+86" + PHONE, "ＧＨＤＨ００８６８，０７１１０８３０，张三")
    replies = await eventually(lambda: _sent(modem), "a reply through the modem")
    (booking,) = await table(engine, "SELECT booking_no, channel FROM bookings")
    assert replies[0].number == "+86" + PHONE
    assert booking["booking_no"] in replies[0].text
    await eventually(lambda: _sim_empty(modem), "the text deleted from the SIM once stored")
    (stored,) = await table(engine, "SELECT gateway, body FROM messages WHERE direction = 'in'")
    assert stored["gateway"] == "modem"


async def _sent(modem):
    return modem.sent_messages()


async def _sim_empty(modem):
    return not modem.sim


async def test_a_long_text_in_two_parts_is_put_together_and_a_long_reply_goes_in_two(engine, modem):
    signature = "——此短信由张三的手机发送，" + "祝医生护士们工作顺利身体健康" * 4
    modem.deliver("+86" + PHONE, "GHDH00868,07110830,张三 " + signature, order=[2, 1])
    await eventually(lambda: table(engine, "SELECT id FROM bookings"), "booked from a 2-part text")
    modem.deliver("+86" + PHONE, "BZ")
    sent = await eventually(lambda: _two_part(modem), "a 2-part help reply")
    assert "GHDH" in sent.text


async def _two_part(modem):
    return next((s for s in modem.sent_messages() if s.parts == 2), None)


async def test_a_modem_text_is_answered_once_even_when_read_twice(engine, modem):
    modem.deliver("+86" + PHONE, "CX")
    await eventually(lambda: _sent(modem), "a reply")
    assert len(await table(engine, "SELECT id FROM messages WHERE direction = 'in'")) == 1


# --- every command, right and wrong, through both doors ----------------------------------------


class Door:
    """One patient's phone texting through one gateway; ``say`` returns the reply."""

    def __init__(self, kind: str, engine, modem) -> None:
        self.kind, self.engine, self.modem = kind, engine, modem

    async def say(self, text: str) -> str:
        if self.kind == "twilio":
            status, twiml = await text_twilio(self.engine, text)
            assert status == 200
            return message_of(twiml)
        before = len(self.modem.sent_messages())
        self.modem.deliver("+86" + PHONE, text)

        async def reply():
            sent = self.modem.sent_messages()
            return sent[before:] and sent[before]

        return (await eventually(reply, f"a modem reply to {text!r}")).text


@pytest.mark.parametrize("kind", ["twilio", "modem"])
async def test_every_command_right_and_wrong(engine, modem, kind):
    door = Door(kind, engine, modem)

    async def expect(text: str, *fragments: str) -> str:
        reply = await door.say(text)
        for fragment in fragments:
            assert fragment in reply, (text, reply)
        return reply

    await expect(f"ZC {resident_id()} 李四", "注册成功", "李四")
    await expect(f"ZC {resident_id()[:-1]} 王五", "身份证号")
    await expect("GHDH00868,0711083,张三", "7位", "GHDH00868,07150830,张三")
    await expect("GHDH00868,07110830,王五", "不符")
    await expect("GHDH99999,07110830,张三", "99999", "不存在")
    await expect("GHDH00868,07111330,张三", "没有00868医生的出诊")
    booked = await expect("ghdh00868，07110830，张三", "预约成功")
    (row,) = await table(engine, "SELECT booking_no FROM bookings WHERE status = 'confirmed'")
    number = row["booking_no"]
    assert number in booked
    await expect("CX", "1个预约", number)
    await expect(f"CX {number}", number, "已预约")
    await expect(f"CX {number[:-1]}0" if number[-1] != "0" else f"CX {number[:-1]}1", "预约号")
    await expect(f"GQ {number} 07110900", "改约成功", "09:00")
    await expect(f"GQ {number} 071109", "6位")
    await expect("QX 123456786", "没有找到预约号")
    await expect(f"QX {number}", "已取消", number)
    await expect("KS", "101 心内科")
    await expect("KS 心内", "00868")
    await expect("KS 眼科", "没有找到科室")
    await expect("YS 高血压", "00868")
    await expect("YS", "医生姓名")
    await expect("BZ", "GHDH", "QX")
    await expect("TD", "已退订")
    await expect("DY", "已恢复")
    await expect("5", "没有需要评分")
    await expect("你好", "无法识别", "BZ")
    log = await table(
        engine, "SELECT direction, gateway FROM messages WHERE kind IN ('command', 'reply')"
    )
    assert {(r["direction"], r["gateway"]) for r in log} == {("in", kind), ("out", kind)}


async def test_the_engine_stops_cleanly_while_the_modem_is_unplugged(engine, modem):
    await modem.vanish()
    await asyncio.sleep(0.3)
    async with asyncio.timeout(5):
        await engine.close()


# --- #10 item 9: the modem's SIM does not fill up for ever -------------------------------------


async def test_half_a_long_text_is_answered_send_it_again_and_deleted(engine, modem, clock):
    first_half = "ZC 11010519491231002X " + "张" * 60 + "。" * 20  # a stranger's, never finished
    modem.deliver("+8613800000009", first_half, order=[1], timestamp=clock.now())
    await eventually(lambda: _sim_holds(modem, 1), "the half on the SIM")
    await asyncio.sleep(0.2)  # the gateway read it and waits for the rest
    assert not await table(engine, "SELECT id FROM messages WHERE direction = 'in'")

    clock.advance(hours=1)
    modem.deliver("+86" + PHONE, "CX", timestamp=clock.now())  # the next look ages the half
    await eventually(lambda: _sim_empty(modem), "both deleted")
    sent = await eventually(lambda: _sent_to(modem, "+8613800000009"), "the stranger told")
    assert sent.text == "您的长短信没有收全，请重新发送一次。"
    (logged,) = await table(
        engine,
        "SELECT body FROM messages WHERE direction = 'in' AND phone_masked = ?",
        "138****0009",
    )
    assert logged["body"].startswith("[未收全 1/2] ZC **************002X 张")
    assert "11010519491231" not in logged["body"]


async def test_an_undecodable_text_is_kept_encrypted_and_deleted_from_the_sim(engine, modem):
    pdu = "0891683108100005F004FF"
    modem.deliver_pdu(pdu)
    await eventually(lambda: _sim_empty(modem), "deleted from the SIM")
    (kept,) = await table(engine, "SELECT gateway, pdu_enc, error FROM sms_undecodable")
    assert kept["gateway"] == "modem"
    assert kept["error"]
    assert pdu not in kept["pdu_enc"]
    cipher = engine.app[SERVICES].cipher
    assert cipher.decrypt(kept["pdu_enc"], context="sms_pdu") == pdu


async def test_healthz_says_how_full_the_modems_sim_is_and_warns(engine, modem):
    health = await eventually(lambda: _modem_health(engine), "the SIM looked at")
    assert health["status"] == "ok"
    assert health["modem"] == {"status": "ok", "sim_used": 0, "sim_total": 30, "waiting_parts": 0}
    modem.capacity = 10
    for i in range(1, 9):  # texts someone saved on the SIM (stored, unsent): not ours to delete
        modem.sim[i] = (2, "0891683108100005F0" + "04FF")
    modem.deliver("+86" + PHONE, "CX")
    await eventually(lambda: _sent(modem), "the reply")
    health = await eventually(lambda: _modem_warns(engine), "a warning")
    assert health["status"] == "ok"  # the engine still works
    assert health["modem"]["status"] == "warn"
    assert health["modem"]["sim_used"] == 8
    assert health["warnings"] == ["SIM 8/10 full: texts that come next may be lost"]


async def _sim_holds(modem, count: int):
    return len(modem.sim) == count


async def _sent_to(modem, number: str):
    return next((s for s in modem.sent_messages() if s.number == number), None)


async def _modem_health(engine):
    async with engine.get("/healthz") as resp:
        body = await resp.json()
    return body if body.get("modem", {}).get("sim_total") else None


async def _modem_warns(engine):
    async with engine.get("/healthz") as resp:
        body = await resp.json()
    return body if "warning" in body.get("modem", {}) else None
