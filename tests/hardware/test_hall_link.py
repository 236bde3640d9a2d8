"""The engine's link to the kiosks' broker, against a real mosquitto with the passwords and
the ACL the engine writes: shared between engines, through a broker restart, publishing
only what the broker took, and never stopped by what a kiosk sends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import pytest

from hardware import protocol
from hardware.hall.address import BrokerAddress
from hardware.hall.link import HallLink, NoSubscriber, NotConnected, PublishRefused
from hardware.protocol import Ack, Request, Status
from hardware.reconnect import FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS
from tests.hardware.helpers import ManualClock
from tests.hardware.kiosk_world import (
    ENGINE,
    KIOSK_A,
    KIOSK_B,
    PASSWORDS,
    ROOT,
    eventually,
    make_tls,
    mqtt_client,
    start_broker,
)
from tests.support.services import PrivateBroker

pytestmark = pytest.mark.slow


class Recorder:
    """The engine's handlers, faked: what each engine was handed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: list[tuple[str, Request]] = []
        self.acks: list[tuple[str, Ack]] = []
        self.statuses: list[tuple[str, Status]] = []

    async def on_request(self, kiosk_id: str, request: Request) -> dict[str, Any]:
        self.requests.append((kiosk_id, request))
        return {"ok": True, "engine": self.name}

    async def on_ack(self, kiosk_id: str, ack: Ack) -> None:
        self.acks.append((kiosk_id, ack))

    async def on_status(self, kiosk_id: str, status: Status) -> None:
        self.statuses.append((kiosk_id, status))


def link_to(broker: PrivateBroker, handlers: Recorder, **kw: Any) -> HallLink:
    address = kw.pop("address", BrokerAddress(broker.host, broker.port, tls=False))
    return HallLink(
        address,
        user=kw.pop("user", ENGINE),
        password=kw.pop("password", PASSWORDS[ENGINE]),
        handlers=handlers,
        client_id=kw.pop("client_id", f"engine-{handlers.name}"),
        **kw,
    )


@contextlib.asynccontextmanager
async def running(link: HallLink) -> AsyncIterator[HallLink]:
    async with link:
        async with asyncio.timeout(10):
            await link.connected.wait()
        yield link


@contextlib.asynccontextmanager
async def kiosk(broker: PrivateBroker, kiosk_id: str = KIOSK_A) -> AsyncIterator[aiomqtt.Client]:
    """A kiosk's own connection (its persistent session), reading its jobs and replies."""
    async with mqtt_client(broker, kiosk_id, identifier=kiosk_id) as client:
        for leaf in ("jobs", "replies"):
            await client.subscribe(f"{ROOT}/{kiosk_id}/{leaf}", qos=1)
        yield client


async def collect(client: aiomqtt.Client, into: list[tuple[str, Any]]) -> None:
    async for message in client.messages:
        assert isinstance(message.payload, bytes)
        into.append((str(message.topic).rsplit("/", 1)[1], json.loads(message.payload)))


def job(job_id: str) -> dict[str, Any]:
    return {"v": 1, "job_id": job_id, "kind": "show_message", "payload": {"text": "您好"}}


@pytest.fixture
def broker(tmp_path) -> PrivateBroker:
    broker = start_broker(tmp_path, persistence=True)
    yield broker
    broker.stop()


async def test_two_engines_share_the_kiosks_and_each_message_is_handled_by_one(broker):
    one, two = Recorder("one"), Recorder("two")
    replies: list[tuple[str, Any]] = []
    async with (
        running(link_to(broker, one)),
        running(link_to(broker, two)),
        kiosk(broker, KIOSK_A) as a,
        kiosk(broker, KIOSK_B) as b,
    ):
        reading = [asyncio.create_task(collect(c, replies)) for c in (a, b)]
        for n in range(10):
            for name, client in ((KIOSK_A, a), (KIOSK_B, b)):
                base = f"{ROOT}/{name}"
                ack = protocol.ack_done(f"J{n}")
                await client.publish(f"{base}/acks", protocol.dump(ack), qos=1)
                await client.publish(f"{base}/status", protocol.dump(protocol.GOODBYE), qos=1)
                request = protocol.request(f"{name}-r{n}", "swipe")
                await client.publish(f"{base}/requests", protocol.dump(request), qos=1)

        def handled(kind: str) -> list[tuple[str, Any]]:
            return [*getattr(one, kind), *getattr(two, kind)]

        await eventually(lambda: len(handled("acks")) >= 20 and len(replies) >= 20)
        await eventually(lambda: len(handled("statuses")) >= 20)
        await asyncio.sleep(0.3)  # a second copy would come now
        for task in reading:
            task.cancel()
    acks = Counter((kiosk_id, ack.job_id) for kiosk_id, ack in handled("acks"))
    assert len(acks) == 20
    assert set(acks.values()) == {1}
    assert len(handled("statuses")) == 20
    asked = Counter((kiosk_id, r.request_id) for kiosk_id, r in handled("requests"))
    assert len(asked) == 20
    assert set(asked.values()) == {1}
    assert Counter(r["request_id"] for _, r in replies) == Counter({rid: 1 for _, rid in asked})
    for engine in (one, two):  # both took their share of each
        assert engine.acks
        assert engine.statuses
        assert engine.requests


async def test_the_link_keeps_working_through_a_broker_restart(broker, caplog):
    """mosquitto (2.0.11) restores a session's plain subscriptions from its persistence
    file but not its shared ones: the link subscribes again on every connect."""
    clock = ManualClock()
    engine = Recorder("one")
    seen: list[tuple[str, Any]] = []
    link = link_to(broker, engine, sleep=clock.sleep, clock=lambda: clock.now)
    with caplog.at_level(logging.INFO, logger="hardware.hall.broker"):
        async with running(link):
            async with kiosk(broker):  # kiosk A has a session on the broker
                pass
            await asyncio.to_thread(broker.restart)
            await eventually(lambda: clock.sleeping, 10, "the link waiting to try again")
            with pytest.raises(NotConnected):  # it says so; it does not pretend
                await link.publish_job(KIOSK_A, job("J1"))
            clock.advance(FIRST_RETRY_SECONDS)
            async with asyncio.timeout(10):
                await link.connected.wait()
            async with kiosk(broker) as a:
                reading = asyncio.create_task(collect(a, seen))
                await link.publish_job(KIOSK_A, job("J2"))
                ack = protocol.dump(protocol.ack_done("J2"))
                await a.publish(f"{ROOT}/{KIOSK_A}/acks", ack, qos=1)
                await eventually(lambda: engine.acks and ("jobs", job("J2")) in seen)
                reading.cancel()
    assert [ack.job_id for _, ack in engine.acks] == ["J2"]
    messages = [r.getMessage() for r in caplog.records if r.name == "hardware.hall.broker"]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("back at" in m for m in messages) == 1


class Cuttable:
    """A TCP proxy in front of the broker whose connections the test cuts: the network
    between the engine and its broker dropping, the broker itself staying up."""

    def __init__(self, broker: PrivateBroker) -> None:
        self.broker = broker
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Cuttable:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def cut(self) -> None:
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.broker.host, self.broker.port)
        self._writers += [writer, up_writer]

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


async def test_what_kiosks_say_while_the_engine_is_cut_off_reaches_it_once_back(broker):
    """The engine's session (its shared subscriptions with it) outlives its connection:
    the broker keeps the kiosk's ack for it and hands it over when the engine is back."""
    clock = ManualClock()
    engine = Recorder("one")
    async with Cuttable(broker) as proxy:
        address = BrokerAddress("127.0.0.1", proxy.port, tls=False)
        link = link_to(broker, engine, address=address, sleep=clock.sleep, clock=lambda: clock.now)
        async with running(link):
            proxy.cut()
            await eventually(lambda: clock.sleeping, 10, "the link waiting to try again")
            async with kiosk(broker) as a:
                ack = protocol.dump(protocol.ack_done("J0"))
                await a.publish(f"{ROOT}/{KIOSK_A}/acks", ack, qos=1)
            await asyncio.sleep(0.2)
            assert engine.acks == []
            clock.advance(FIRST_RETRY_SECONDS)
            await eventually(lambda: engine.acks, 10, "the ack sent while the engine was away")
    assert [(kiosk_id, ack.job_id) for kiosk_id, ack in engine.acks] == [(KIOSK_A, "J0")]


async def test_the_back_off_doubles_from_1_s_to_30_s_and_says_once_down_and_once_up(broker, caplog):
    clock = ManualClock()
    broker.stop()
    engine = Recorder("one")
    link = link_to(broker, engine, sleep=clock.sleep, clock=lambda: clock.now)
    slept: list[float] = []
    with caplog.at_level(logging.DEBUG, logger="hardware.hall.broker"):
        async with link:
            for _ in range(8):
                await eventually(lambda: clock.sleeping, 5)
                slept.append(clock.sleeping[0])
                clock.advance(clock.sleeping[0])
            await eventually(lambda: clock.sleeping, 5)
            await asyncio.to_thread(broker.start_again)
            clock.advance(clock.sleeping[0])
            async with asyncio.timeout(10):
                await link.connected.wait()
    assert slept == [1, 2, 4, 8, 16, 30, 30, 30]
    assert (FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS) == (1, 30)
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert [level for level, _ in said] == [logging.WARNING, logging.INFO]
    assert "unavailable" in said[0][1]
    assert "doubling up to 30 s" in said[0][1]
    assert said[1][1].startswith(f"kiosk broker back at mqtt://127.0.0.1:{broker.port} after 151 s")


async def test_a_job_is_published_once_the_broker_has_it_for_the_kiosk_s_session(broker):
    seen: list[tuple[str, Any]] = []
    async with kiosk(broker):  # kiosk A has a session, and goes away
        pass
    link = link_to(broker, Recorder("one"))
    with pytest.raises(NotConnected):  # not yet connected: it says so, it does not pretend
        await link.publish_job(KIOSK_A, job("J0"))
    async with running(link):
        await link.publish_job(KIOSK_A, job("J1"))  # A is away: the broker keeps it for A
        with pytest.raises(NoSubscriber):  # B never connected: the broker would drop it
            await link.publish_job(KIOSK_B, job("J1"))
        with pytest.raises(ValueError, match="not a job"):
            await link.publish_job(KIOSK_A, {"v": 1, "job_id": "J 2", "kind": "x"})
        with pytest.raises(ValueError, match="not a kiosk id"):
            await link.publish_job("k0000000a/#", job("J3"))
        with pytest.raises(ValueError, match="not a reply"):
            await link.reply(KIOSK_A, {"v": 1, "request_id": "r1"})
        await link.reply(KIOSK_A, protocol.reply("r1", {"ok": True}))
    async with kiosk(broker) as a:  # back: what the broker took is there
        reading = asyncio.create_task(collect(a, seen))
        await eventually(lambda: len(seen) == 2)
        reading.cancel()
    assert seen == [("jobs", job("J1")), ("replies", protocol.reply("r1", {"ok": True}))]


async def test_what_the_broker_refuses_is_not_taken_for_published(broker):
    """An engine that logged in as a kiosk (a wrong setting): the ACL refuses its jobs for
    another kiosk, and the link says so instead of handing the outbox a success."""
    async with kiosk(broker, KIOSK_B):
        pass
    link = link_to(broker, Recorder("one"), user=KIOSK_A, password=PASSWORDS[KIOSK_A])
    async with running(link):
        with pytest.raises(PublishRefused, match=r"[Nn]ot authori"):
            await link.publish_job(KIOSK_B, job("J1"))


async def test_a_stopped_engine_leaves_the_share_group_and_takes_nothing_with_it(broker):
    one, two = Recorder("one"), Recorder("two")
    async with running(link_to(broker, two)):
        async with running(link_to(broker, one)):
            pass  # stopped on purpose; its session lives on for a minute
        async with kiosk(broker) as a:
            for n in range(10):
                ack = protocol.dump(protocol.ack_done(f"J{n}"))
                await a.publish(f"{ROOT}/{KIOSK_A}/acks", ack, qos=1)
            await eventually(lambda: len(two.acks) == 10)
    assert one.acks == []


async def test_what_a_kiosk_sends_that_cannot_be_read_never_stops_the_link(broker, caplog):
    engine = Recorder("one")
    replies: list[tuple[str, Any]] = []
    async with running(link_to(broker, engine)) as link, kiosk(broker) as a:
        reading = asyncio.create_task(collect(a, replies))
        base = f"{ROOT}/{KIOSK_A}"
        await a.publish(f"{base}/requests", b"\x00garbage", qos=1)
        await a.publish(f"{base}/acks", b'{"v": 2, "job_id": "J7", "outcome": "done"}', qos=1)
        await a.publish(f"{base}/status", b"[]", qos=1)
        await a.publish(f"{base}/requests", protocol.dump(protocol.request("r1", "swipe")), qos=1)
        await eventually(lambda: replies and engine.acks)
        reading.cancel()
        assert link.connected.is_set()
    assert [(r["request_id"], r["engine"]) for _, r in replies] == [("r1", "one")]
    assert [(a.job_id, a.reason, a.bad) for _, a in engine.acks] == [("J7", "bad_payload", True)]
    assert caplog.text.count("kiosk k0000000a sent a") == 1  # the rest at debug level


async def test_the_link_speaks_tls_to_a_broker_its_ca_file_vouches_for(tmp_path):
    """The broker's listener is TLS only, its certificate signed by a CA of the hospital's
    own: the link connects only by using the CA file it was given. (A wrong CA is refused
    by paho's certificate check, shown for the agent in test_kiosk_link_e2e; here it would
    leave paho 2.2's half-made SSLSocket to the garbage collector, a ResourceWarning.)"""
    tls = make_tls(tmp_path, "hospital-ca")
    broker = start_broker(tmp_path, tls=tls)
    url = f"mqtts://{broker.host}:{broker.port}"
    try:
        address = BrokerAddress.from_url(url, tls.ca_file)
        async with running(link_to(broker, Recorder("one"), address=address)) as link:
            assert link.connected.is_set()
    finally:
        broker.stop()
