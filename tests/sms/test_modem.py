"""The GSM modem gateway (短信猫) over the modem simulator on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sms.gateway import Gateway, GatewayError, Incoming, Outgoing, Sent
from sms.modem import ModemGateway, ModemSimulator
from sms.modem.at import AtChannel, ModemError
from sms.modem.gateway import INIT_COMMANDS
from sms.modem.simulator import SentMessage
from tests.support.waiting import eventually

PHONE = "+8613800138000"
MASKED = "138****8000"
CHINA = timezone(timedelta(hours=8))
LONG_CHINESE = (
    "您好，您预约的心内科张主任门诊已确认。就诊日期：3月18日上午，"
    "请携带身份证于8:30前到门诊二楼取号。如需取消请回复QX加预约号。祝您早日康复！"
)  # 73 characters: two parts of a long message (长短信), 67 + 6
RECONNECT_SECONDS = 0.02


class Clock:
    """The gateway's sleep: records each delay, sleeps a token amount."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))


class Inbox:
    """An IncomingHandler that stores messages, failing the first ``fail`` calls."""

    def __init__(self, sim: ModemSimulator, fail: int = 0) -> None:
        self.sim = sim
        self.fail = fail
        self.messages: list[Incoming] = []
        self.attempts = 0
        self.failures = 0
        self.attempted: list[Incoming] = []
        self.sim_when_done: list[set[int]] = []

    async def __call__(self, message: Incoming) -> None:
        self.attempts += 1
        self.attempted.append(message)
        await asyncio.sleep(0.01)  # a store write takes a moment
        self.sim_when_done.append(set(self.sim.sim))  # nothing deleted before it is stored
        if self.fail:
            self.fail -= 1
            self.failures += 1
            raise RuntimeError("database is locked")
        self.messages.append(message)


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[ModemSimulator]:
    simulator = ModemSimulator(link=tmp_path / "ttyGSM0")
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def inbox(sim) -> Inbox:
    return Inbox(sim)


@pytest.fixture
def make_gateway(sim, clock, inbox) -> Callable[..., ModemGateway]:
    def make(**kwargs) -> ModemGateway:
        kwargs.setdefault("on_incoming", inbox)
        kwargs.setdefault("retry_delays", (0.01, 0.02, 0.04))
        kwargs.setdefault("reconnect_interval", RECONNECT_SECONDS)
        return ModemGateway(sim.port, sleep=clock.sleep, **kwargs)

    return make


@asynccontextmanager
async def running(gateway: ModemGateway) -> AsyncIterator[ModemGateway]:
    async with gateway:
        async with asyncio.timeout(3):
            await gateway.wait_ready()
        yield gateway


def outgoing(body: str, phone: str = PHONE) -> Outgoing:
    return Outgoing(key="notice:1", phone=phone, body=body)


async def test_init_dialogue_turns_echo_off_and_selects_pdu_mode(sim, make_gateway):
    assert sim.echo  # a modem powers up echoing

    async with running(make_gateway(min_interval=4.0)) as gateway:
        await eventually(lambda: "AT+CMGL=4" in sim.commands)

        assert isinstance(gateway, Gateway)
        assert (gateway.name, gateway.min_interval, gateway.can_check) == ("modem", 4.0, False)
        assert sim.commands[: len(INIT_COMMANDS) + 1] == [*INIT_COMMANDS, "AT+CMGL=4"]
        assert not sim.echo
        assert sim.pdu_mode
        assert sim.cnmi_mt == 1
        assert await gateway.find_sent(outgoing("x"), datetime.now(UTC)) is None


async def test_a_short_english_message_is_sent(sim, make_gateway, caplog):
    caplog.set_level(logging.INFO, "sms.modem")
    async with running(make_gateway()) as gateway:
        sent = await gateway.send(outgoing("Booking 12345 confirmed", phone="13800138000"))

    assert sent == Sent(provider_id="0", parts=1)
    assert sim.sent_messages() == [SentMessage("13800138000", "Booking 12345 confirmed", 1)]
    assert sim.sent[0].concat is None
    assert MASKED in caplog.text
    assert "13800138000" not in caplog.text


async def test_a_two_part_chinese_message_is_sent_as_a_long_message(sim, make_gateway):
    async with running(make_gateway()) as gateway:
        sent = await gateway.send(outgoing(LONG_CHINESE))
        second = await gateway.send(outgoing(LONG_CHINESE + "。"))

    assert sent == Sent(provider_id="0,1", parts=2)
    assert second.provider_id == "2,3"
    assert [c for c in sim.commands if c.startswith("AT+CMGS")] == [
        "AT+CMGS=155",  # 15 octets of header, 6 of user data header, 67 x 2 of UCS2
        "AT+CMGS=33",
        "AT+CMGS=155",
        "AT+CMGS=35",
    ]
    first, last = sim.sent[0].concat, sim.sent[1].concat
    assert first is not None
    assert last is not None
    assert (first.total, first.seq, last.total, last.seq) == (2, 1, 2, 2)
    assert first.reference == last.reference
    assert sim.sent[2].concat is not None
    assert sim.sent[2].concat.reference != first.reference  # the next long message
    assert sim.sent_messages() == [
        SentMessage(PHONE, LONG_CHINESE, 2),
        SentMessage(PHONE, LONG_CHINESE + "。", 2),
    ]


async def test_an_incoming_message_is_handed_over_then_deleted(sim, make_gateway, inbox):
    async with running(make_gateway()):
        await eventually(lambda: "AT+CMGL=4" in sim.commands)
        sent_at = datetime(2025, 3, 18, 9, 30, 5, tzinfo=CHINA)
        [index] = sim.deliver(PHONE, "QX 12345678", timestamp=sent_at)
        # deleted, and the SIM's fill asked after: the gateway is done with the message
        await eventually(lambda: not sim.sim and sim.commands[-1] == "AT+CPMS?")

    assert inbox.messages == [
        Incoming(
            gateway="modem",
            provider_id=inbox.messages[0].provider_id,
            phone=PHONE,
            body="QX 12345678",
            received_at=datetime(2025, 3, 18, 1, 30, 5, tzinfo=UTC),
        )
    ]
    assert inbox.messages[0].provider_id.startswith("modem-")
    assert inbox.sim_when_done == [{index}]  # still on the SIM until the handler returned
    assert sim.commands[-3:] == [f"AT+CMGR={index}", f"AT+CMGD={index}", "AT+CPMS?"]


async def test_a_long_message_arriving_out_of_order_is_handed_over_once(sim, make_gateway, inbox):
    text = LONG_CHINESE * 2  # three parts
    async with running(make_gateway()):
        await eventually(lambda: "AT+CMGL=4" in sim.commands)
        indexes = sim.deliver("+8613900000001", text, order=[3, 1, 2])
        await eventually(lambda: not sim.sim)

    assert len(indexes) == 3
    assert [m.body for m in inbox.messages] == [text]
    assert inbox.attempts == 1
    assert inbox.sim_when_done == [set(indexes)]  # all parts kept until it was stored
    deleted = [c for c in sim.commands if c.startswith("AT+CMGD")]
    assert sorted(deleted) == sorted(f"AT+CMGD={i}" for i in indexes)


async def test_messages_waiting_on_the_sim_are_read_at_start(sim, make_gateway, inbox):
    sim.deliver(PHONE, "first")
    sim.deliver("10086", LONG_CHINESE, order=[2, 1])  # no +CMTI: nobody asked yet

    async with running(make_gateway()):
        await eventually(lambda: len(inbox.messages) == 2 and not sim.sim)

    assert sorted(m.body for m in inbox.messages) == sorted(["first", LONG_CHINESE])
    assert not any(c.startswith("AT+CMGR") for c in sim.commands)


async def test_a_message_the_handler_fails_on_stays_and_comes_back_after_reconnect(
    sim, make_gateway, inbox, caplog
):
    inbox.fail = 1
    text = LONG_CHINESE
    async with running(make_gateway(poll_interval=60)) as gateway:
        await eventually(lambda: "AT+CMGL=4" in sim.commands)
        indexes = sim.deliver(PHONE, text, order=[2, 1])
        await eventually(lambda: inbox.failures == 1)
        await asyncio.sleep(0.05)  # time enough for a wrong deletion to show

        assert inbox.messages == []
        assert set(sim.sim) == set(indexes)  # nothing deleted
        assert not any(c.startswith("AT+CMGD") for c in sim.commands)
        assert "not stored; left on the SIM" in caplog.text
        assert MASKED in caplog.text
        assert "13800138000" not in caplog.text

        await sim.vanish()
        await eventually(lambda: not gateway.available)
        await sim.come_back()
        await eventually(lambda: not sim.sim)

    assert inbox.attempts == 2
    assert [m.body for m in inbox.messages] == [text]


async def test_the_sim_is_listed_again_every_poll_interval(sim, make_gateway, inbox):
    inbox.fail = 1
    async with running(make_gateway(poll_interval=0.1)):
        await eventually(lambda: "AT+CMGL=4" in sim.commands)
        sim.deliver(PHONE, "QX 12345678")
        await eventually(lambda: not sim.sim)  # no reconnect: the next listing took it

    assert inbox.attempts == 2
    assert [m.body for m in inbox.messages] == ["QX 12345678"]
    assert sim.commands.count("AT+CMGL=4") >= 2
    assert sim.commands.count("AT") == 1  # initialised once


async def test_a_restarted_gateway_reads_it_again_with_the_same_provider_id(
    sim, make_gateway, inbox
):
    inbox.fail = 1
    async with running(make_gateway()):
        await eventually(lambda: "AT+CMGL=4" in sim.commands)
        sim.deliver(PHONE, LONG_CHINESE, order=[2, 1])
        await eventually(lambda: inbox.failures == 1)
    assert len(sim.sim) == 2  # still there after the gateway stopped

    async with running(make_gateway()):  # a new process: nothing remembered
        await eventually(lambda: not sim.sim)

    first, second = inbox.attempted
    assert second.provider_id == first.provider_id  # stored once by the message log
    assert second.body == first.body == LONG_CHINESE


async def test_modem_errors_are_retried_with_exponential_backoff(sim, make_gateway, clock):
    sim.fail_next_sends(2, code=500)
    async with running(make_gateway()) as gateway:
        sent = await gateway.send(outgoing("hello"))

    assert sent.parts == 1
    assert clock.delays == [0.01, 0.02]
    assert [c for c in sim.commands if c.startswith("AT+CMGS")] == ["AT+CMGS=20"] * 3
    assert sim.sent_messages() == [SentMessage(PHONE, "hello", 1)]


async def test_modem_errors_that_persist_are_worth_a_later_retry(sim, make_gateway, clock):
    sim.fail_next_sends(4, code=42)  # congestion
    async with running(make_gateway()) as gateway:
        with pytest.raises(GatewayError, match="CMS ERROR: 42") as caught:
            await gateway.send(outgoing("hello"))

    assert caught.value.retry is True
    assert clock.delays == [0.01, 0.02, 0.04]
    assert sim.sent == []


async def test_a_refused_number_is_not_retried(sim, make_gateway, clock, caplog):
    sim.fail_next_sends(1, code=21)  # short message transfer rejected
    async with running(make_gateway()) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.send(outgoing("hello"))
        with pytest.raises(GatewayError) as bad_number:
            await gateway.send(outgoing("hello", phone="call me"))

    assert caught.value.retry is False
    assert bad_number.value.retry is False
    assert clock.delays == []
    assert "13800138000" not in caplog.text


async def test_the_port_vanishing_and_coming_back(sim, make_gateway, clock, caplog):
    caplog.set_level(logging.DEBUG, "sms.modem")
    async with running(make_gateway()) as gateway:
        await sim.vanish()
        await eventually(lambda: not gateway.available)
        await eventually(lambda: clock.delays.count(RECONNECT_SECONDS) >= 4)  # tried again

        started = time.monotonic()
        with pytest.raises(GatewayError, match="unavailable") as caught:
            async with asyncio.timeout(1):  # a hang fails here, not at the suite's timeout
                await gateway.send(outgoing("hello"))
        assert caught.value.retry is True
        assert time.monotonic() - started < 0.5

        before = len(sim.commands)
        await sim.come_back()  # a new /dev/pts/N behind the same link
        async with asyncio.timeout(3):
            await gateway.wait_ready()
        sent = await gateway.send(outgoing("hello again"))

    assert sim.commands[before : before + len(INIT_COMMANDS)] == list(INIT_COMMANDS)
    assert sent.parts == 1
    assert sim.sent_messages()[-1].text == "hello again"
    records = [r for r in caplog.records if r.name == "sms.modem.gateway"]
    down = [r for r in records if "unavailable on" in r.message]
    up = [r for r in records if "ready on" in r.message]
    assert len(down) == 1
    assert down[0].levelno == logging.WARNING
    assert len(up) == 2  # at start and once back
    assert records.index(up[0]) < records.index(down[0]) < records.index(up[1])


async def test_send_fails_fast_when_there_is_no_modem(tmp_path, clock):
    gateway = ModemGateway(
        str(tmp_path / "missing"), reconnect_interval=RECONNECT_SECONDS, sleep=clock.sleep
    )
    async with gateway:
        await eventually(lambda: len(clock.delays) >= 2)
        started = time.monotonic()
        with pytest.raises(GatewayError) as caught:
            async with asyncio.timeout(1):
                await gateway.send(outgoing("hello"))

    assert caught.value.retry is True
    assert time.monotonic() - started < 0.5


# --- the AT line itself, over an in-memory stream -------------------------------------


class Wire:
    """The writer side of an AtChannel: records what was written."""

    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


async def test_unsolicited_lines_between_response_lines_are_routed_apart():
    reader, wire, urcs = asyncio.StreamReader(), Wire(), []
    channel = AtChannel(reader, wire, urcs.append)  # type: ignore[arg-type]
    try:
        pending = asyncio.create_task(channel.command("AT+CMGS=20", pdu="0011"))
        await eventually(lambda: wire.written == b"AT+CMGS=20\r")
        reader.feed_data(b'\r\n+CMTI: "SM",3\r\n\r\n> ')
        await eventually(lambda: wire.written.endswith(b"0011\x1a"))
        reader.feed_data(b"\r\n+CMGS: 7\r\n\r\nRING\r\n\r\n+CMT: ,23\r\n0791FF\r\n\r\nOK\r\n")

        assert await pending == ["+CMGS: 7"]
        assert urcs == ['+CMTI: "SM",3', "RING", "+CMT: ,23"]
        failing = asyncio.create_task(channel.command("AT+CMGD=3"))
        await eventually(lambda: wire.written.endswith(b"AT+CMGD=3\r"))
        reader.feed_data(b"AT+CMGD=3\r\r\n+CMS ERROR: 321\r\n")  # our echo, then the error
        with pytest.raises(ModemError) as caught:
            await failing
        assert caught.value.cms == 321

        refused = asyncio.create_task(channel.command("AT+CMGS=20", pdu="0011"))
        await eventually(lambda: wire.written.endswith(b"AT+CMGS=20\r"))
        reader.feed_data(b"\r\n+CMS ERROR: 302\r\n")  # no prompt: the PDU must not follow
        with pytest.raises(ModemError, match="302"):
            await refused
        assert not wire.written.endswith(b"\x1a")
        assert not channel.closed
    finally:
        await channel.close()


async def test_a_command_without_answer_times_out_and_closes_the_channel():
    reader, wire = asyncio.StreamReader(), Wire()
    channel = AtChannel(reader, wire, lambda line: None)  # type: ignore[arg-type]
    try:
        with pytest.raises(TimeoutError):
            await channel.command("AT", seconds=0.05)
        assert channel.closed
        assert "no answer to AT" in channel.close_reason
    finally:
        await channel.close()


async def test_end_of_file_closes_the_channel_and_fails_the_command():
    reader, wire = asyncio.StreamReader(), Wire()
    channel = AtChannel(reader, wire, lambda line: None)  # type: ignore[arg-type]
    try:
        pending = asyncio.create_task(channel.command("AT+CMGL=4"))
        await eventually(lambda: wire.written)
        reader.feed_eof()
        with pytest.raises(ConnectionError):
            await pending
        assert channel.closed
    finally:
        await channel.close()


# --- #10 item 9: nothing stays on the SIM for ever ----------------------------------------


class Wall:
    """The gateway's wall clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


SENT_AT = datetime(2026, 7, 10, 9, 0, tzinfo=CHINA)


async def test_first_halves_that_fill_the_sim_expire_and_the_next_text_gets_through(
    sim, make_gateway, inbox
):
    wall = Wall(SENT_AT)
    gateway = make_gateway(poll_interval=0.05, part_timeout=3600, now=wall)
    async with running(gateway):
        await eventually(lambda: "AT+CMGL=4" in sim.commands)
        for i in range(sim.capacity):  # strangers' long texts whose second half never comes
            sim.deliver(f"+86139000000{i:02d}", LONG_CHINESE, order=[1], timestamp=SENT_AT)
        assert len(sim.sim) == sim.capacity
        assert sim.deliver(PHONE, "CX", timestamp=SENT_AT) == []  # a full SIM loses it
        await eventually(lambda: gateway.status()["waiting_parts"] == sim.capacity)
        await eventually(lambda: gateway.status()["sim_used"] == sim.capacity)
        assert gateway.status() == {
            "status": "warn",
            "sim_used": 30,
            "sim_total": 30,
            "waiting_parts": 30,
            "warning": "SIM 30/30 full: texts that come next may be lost",
        }
        assert inbox.messages == []

        wall.at = SENT_AT + timedelta(minutes=59)  # not yet: the second halves may come
        await eventually(lambda: sim.commands.count("AT+CPMS?") >= 3)
        assert inbox.messages == []
        assert len(sim.sim) == sim.capacity

        wall.at = SENT_AT + timedelta(hours=1)
        await eventually(lambda: not sim.sim)
        await eventually(lambda: gateway.status()["sim_used"] == 0)
        assert gateway.status() == {
            "status": "ok",
            "sim_used": 0,
            "sim_total": 30,
            "waiting_parts": 0,
        }
        assert len(sim.deliver(PHONE, "CX", timestamp=wall.at)) == 1
        await eventually(lambda: inbox.messages[-1].body == "CX")

    halves = inbox.messages[:-1]
    assert len(halves) == 30
    assert len({m.provider_id for m in halves}) == 30
    assert {m.body for m in halves} == {"[未收全 1/2] " + LONG_CHINESE[:67] + "…"}


async def test_a_text_missing_its_first_part_is_handed_over_marked_incomplete(
    sim, make_gateway, inbox
):
    wall = Wall(SENT_AT)
    long_ago = SENT_AT - timedelta(days=1)  # a service centre whose clock is a day behind
    async with running(make_gateway(part_timeout=3600, now=wall)) as gateway:
        sim.deliver(PHONE, LONG_CHINESE * 2, order=[2, 3], timestamp=long_ago)
        await eventually(lambda: gateway.status()["waiting_parts"] == 2)
        assert inbox.messages == []  # aged from when the gateway read them, not the stamp
        wall.at = SENT_AT + timedelta(hours=1)
        sim.deliver(PHONE, "CX", timestamp=wall.at)  # the next read looks at the waiting
        await eventually(lambda: not sim.sim)

    assert sorted(m.body for m in inbox.messages) == [
        "CX",
        "[未收全 2/3] …" + (LONG_CHINESE * 2)[67:],
    ]
    assert {m.phone for m in inbox.messages} == {PHONE}


def test_an_incomplete_text_is_answered_send_it_again():
    from sms.commands import ParseError, incomplete_body
    from sms.grammar import parse
    from sms.replies import Replies

    body = incomplete_body(["ZC 11010519491231002X 张", None])
    assert body == "[未收全 1/2] ZC 11010519491231002X 张…"
    assert parse(body) == ParseError("incomplete")
    assert Replies().parse_error(parse(body)) == "您的长短信没有收全，请重新发送一次。"


UNDECODABLE = "0891683108100005F0" + "04FF"  # an SMSC, then a TPDU that stops short


async def test_an_undecodable_pdu_is_kept_in_the_database_and_deleted(sim, make_gateway, inbox):
    kept = []

    async def keep(message) -> None:
        await asyncio.sleep(0.01)
        kept.append((message, set(sim.sim)))

    async with running(make_gateway(on_undecodable=keep)):
        await eventually(lambda: "AT+CMGL=4" in sim.commands)
        index = sim.deliver_pdu(UNDECODABLE)
        await eventually(lambda: not sim.sim)

    [(message, on_sim)] = kept
    assert (message.gateway, message.index, message.pdu) == ("modem", index, UNDECODABLE)
    assert message.error
    assert on_sim == {index}  # deleted only after it was kept
    assert inbox.messages == []


async def test_an_undecodable_pdu_that_cannot_be_kept_stays_on_the_sim(sim, make_gateway, caplog):
    async def broken(message) -> None:
        raise RuntimeError("database is locked")

    async with running(make_gateway(on_undecodable=broken, poll_interval=0.05)):
        index = sim.deliver_pdu(UNDECODABLE)
        await eventually(lambda: sim.commands.count("AT+CMGL=4") >= 2)

    assert set(sim.sim) == {index}
    assert "not kept; left on the SIM" in caplog.text


async def test_the_sim_filling_up_is_logged_once_and_its_relief_once(
    sim, make_gateway, inbox, caplog
):
    caplog.set_level(logging.INFO, "sms.modem")
    inbox.fail = 10**6  # nothing is stored: everything stays on the SIM
    async with running(make_gateway(poll_interval=0.05, sim_warn_fraction=0.8)) as gateway:
        for i in range(24):
            sim.deliver(f"+86139000001{i:02d}", "CX")
        await eventually(lambda: gateway.status().get("warning"))
        await eventually(lambda: sim.commands.count("AT+CPMS?") >= 4)
        for index in list(sim.sim)[:10]:
            del sim.sim[index]
        await eventually(lambda: gateway.status()["status"] == "ok")

    assert caplog.text.count("is 24/30 full") == 1
    assert caplog.text.count("has room again (14/30)") == 1
