"""The message log keeps ID numbers redacted; the text a patient reads is sent as written
(#9 item 7: every ``ZC`` hint used to reach patients as ``**************002X``)."""

from __future__ import annotations

from booking_core import messages
from booking_core.kernel.unit import rows
from sms.commands import EXAMPLE_ID_NUMBER, FORMATS
from sms.gateway import Sent
from sms.sender import Sender
from tests.support.world import resident_id

PHONE = "13912345678"


class Recording:
    """A gateway that keeps what it was asked to send."""

    name = "test"
    min_interval = 0
    can_check = False

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, out):
        self.sent.append(out.body)
        return Sent(provider_id=f"p{len(self.sent)}", parts=1, status="sent")


async def _log(services) -> list[dict]:
    def read(tx):
        found = yield rows(
            "SELECT direction, status, body, body_enc FROM messages WHERE direction = 'out' "
            "ORDER BY id"
        )
        return [dict(r) for r in found]

    return await services.read(read)


async def test_a_notice_goes_out_as_written_and_is_logged_redacted(world, services):
    await world.hospital()
    number = resident_id()
    body = f"请发送ZC {number} 张三"
    message = messages.OutgoingMessage(
        key="k1", gateway="test", phone=PHONE, body=body, kind=messages.MessageKind.REMINDER
    )
    await services.handle(
        messages.QueueMessages(consumer="test", event_ids=(), messages=(message,))
    )
    gateway = Recording()
    assert await Sender(services, gateway).run_once() == 1
    assert gateway.sent == [body]
    (logged,) = await _log(services)
    assert logged["body"] == f"请发送ZC {'*' * 14}{number[-4:]} 张三"
    assert logged["body_enc"] is None  # forgotten once it left
    assert number not in str(logged)


async def test_a_reply_quoting_the_zc_format_reaches_the_phone_whole(world, services):
    await world.hospital()
    inbound = await services.handle(
        messages.ReceiveMessage(
            gateway="test", provider_id="in1", hospital_code="H001", phone=PHONE, body="CX"
        )
    )
    reply = f"本机号码尚未注册就诊人。请先发送：ZC 身份证号 姓名（如{FORMATS['ZC']}）"
    await services.handle(
        messages.AnswerMessage(message_id=inbound.message_id, reply=reply, send=True)
    )
    gateway = Recording()
    assert await Sender(services, gateway).run_once() == 1
    assert gateway.sent == [reply]
    assert EXAMPLE_ID_NUMBER in gateway.sent[0]
    (logged,) = await _log(services)
    assert EXAMPLE_ID_NUMBER not in logged["body"]
    assert logged["body_enc"] is None


async def test_a_text_without_an_id_number_keeps_no_second_copy(world, services):
    await world.hospital()
    message = messages.OutgoingMessage(
        key="k1",
        gateway="test",
        phone=PHONE,
        body="明天08:30 心内科",
        kind=messages.MessageKind.REMINDER,
    )
    await services.handle(
        messages.QueueMessages(consumer="test", event_ids=(), messages=(message,))
    )
    (logged,) = await _log(services)
    assert logged["body"] == "明天08:30 心内科"
    assert logged["body_enc"] is None


async def test_an_undecodable_pdu_is_kept_once_and_encrypted(services, cipher):
    """#10 item 9: what a modem cannot decode leaves the SIM for the database."""
    pdu = "0891683108100005F004FF"
    keep = messages.KeepUndecodable(gateway="modem", pdu=pdu, error="user data runs short")
    assert await services.handle(keep) == 1
    assert await services.handle(keep) == 0  # read again before its deletion: kept once

    def read(tx):
        return [dict(r) for r in (yield rows("SELECT * FROM sms_undecodable"))]

    (kept,) = await services.read(read)
    assert pdu not in str(kept)
    assert cipher.decrypt(kept["pdu_enc"], context="sms_pdu") == pdu
    assert (kept["gateway"], kept["error"]) == ("modem", "user data runs short")
