"""The engine's MQTT connection to its kiosks (aiomqtt: the engine side's one module that
imports it), docs/kiosk-protocol.md.

:class:`HallLink` keeps one client per engine process connected: MQTT 5, its own client
id, the engine's user name and password, a persistent session (``clean_start`` never, a
session expiry of ``SESSION_EXPIRY_SECONDS``), QoS 1. On every connect it subscribes to
the kiosks' ``requests``, ``acks`` and ``status`` through shared subscriptions
(``$share/guahao/…``), so that with several engines on one broker each message goes to
exactly one of them; what arrives goes to the :class:`~.inbox.Inbox` (the injected
handlers). When the broker goes away (restarted, network gone, password refused) it tries
again after 1 s, doubling to 30 s, and logs **once** that the broker is unavailable and
once when it is back (:class:`hardware.reconnect.Outage`, as the kiosk's agent does).

:meth:`HallLink.publish_job` and :meth:`HallLink.reply` return once the broker has the
message (its PUBACK), so an outbox delivery marked done after them is one the broker
holds for the kiosk's session. They raise :class:`NotConnected` (no connection, or no
PUBACK within ``PUBLISH_TIMEOUT_SECONDS``), :class:`PublishRefused` (the broker said no:
the ACL), :class:`NoSubscriber` (the broker has no session of that kiosk, so it dropped the
message: the kiosk never connected, or was away longer than its session lasts). aiomqtt
ignores the PUBACK's reason code, so these publishes go through its paho client, here
and nowhere else.

Shared subscriptions and sessions: mosquitto keeps handing a disconnected member of a
share group its turn of the messages while its session lasts, queued for its return. So
:meth:`HallLink.stop` unsubscribes before it disconnects (a stopped engine takes nothing
with it), and the session expiry is short: an engine that dies holds its share of the
kiosks' messages for at most that long (the kiosks ask again, the engines re-send jobs
without an ack, statuses come every minute). Shared subscriptions get no retained
messages: a kiosk's status reaches a starting engine with the kiosk's next status (within
a minute); the core keeps the last one it recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from paho.mqtt.client import MQTT_ERR_SUCCESS, error_string
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hardware import protocol
from hardware.protocol import ACKS, JOBS, KIOSK_ID, REPLIES, REQUESTS, ROOT, STATUS, Unreadable
from hardware.reconnect import Outage, words

from .address import BrokerAddress
from .inbox import Inbox, KioskHandlers

logger = logging.getLogger("hardware.hall.broker")

SHARE_GROUP = "guahao"
SUBSCRIPTIONS = tuple(f"$share/{SHARE_GROUP}/{ROOT}/+/{leaf}" for leaf in (REQUESTS, ACKS, STATUS))
"""What every engine subscribes to: each message goes to one engine of the group."""

KEEPALIVE_SECONDS = 15
"""A broker gone without a word (a cable pulled) is noticed within about 1.5 of these."""
SESSION_EXPIRY_SECONDS = 60
"""Long enough for the engine's reconnect (a broker restart, the back-off's first steps)
and a quick restart of the engine under the same client id, so nothing sent meanwhile is
lost; short, because a dead engine's session goes on receiving its turn of the kiosks'
messages (see the module docstring) until it expires."""
PUBLISH_TIMEOUT_SECONDS = 5.0
"""The broker's PUBACK comes within milliseconds on a hospital LAN; past this the
connection is taken for dead and the caller tries again later."""
LEAVE_TIMEOUT_SECONDS = 2.0
"""Stopping: how long the unsubscribe may take before the engine disconnects anyway."""

NO_MATCHING_SUBSCRIBERS = 0x10


class LinkError(Exception):
    """A message did not reach the broker, or the broker did not take it."""


class NotConnected(LinkError):
    """No connection to the broker now, or it went before the broker's PUBACK."""


class PublishRefused(LinkError):
    """The broker refused the message (MQTT 5 PUBACK reason ≥ 0x80: mostly its ACL)."""


class NoSubscriber(LinkError):
    """The broker took the message but had no session subscribed to it, and dropped it."""


def default_client_id() -> str:
    """``guahao-<host>-<pid>``: unique per engine process (two clients with one id would
    throw each other off the broker in turn)."""
    return f"guahao-{socket.gethostname()}-{os.getpid()}"


@dataclass
class _Connection:
    client: aiomqtt.Client
    pubacks: dict[int, asyncio.Future[Any]] = field(default_factory=dict)


class HallLink:
    """One engine's connection to the kiosks' broker; ``async with`` runs it."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        user: str,
        password: str,
        handlers: KioskHandlers,
        client_id: str = "",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.client_id = client_id or default_client_id()
        self._user = user
        self._password = password
        self._sleep = sleep
        self._clock = clock
        self._inbox = Inbox(handlers, self._reply_bytes, clock=clock)
        self.connected = asyncio.Event()
        self._connection: _Connection | None = None
        self._outage = Outage(logger, "kiosk broker", str(address), sleep=sleep, clock=clock)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HallLink:
        self._task = asyncio.create_task(self.run(), name=f"kiosk broker link {self.client_id}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- what the engine sends ------------------------------------------------------------

    async def publish_job(self, kiosk_id: str, job: Mapping[str, Any] | str | bytes) -> None:
        """Publish a job (``{"v": 1, "job_id", "kind", …}``) on the kiosk's ``jobs``, QoS 1,
        and return once the broker has it. ValueError for what is not a readable job."""
        data = _bytes(job)
        if isinstance(read := protocol.read_job(data), Unreadable):
            raise ValueError(f"not a job the kiosk can read: {read.problem} ({read.detail})")
        await self._publish(_topic(kiosk_id, JOBS), data)

    async def reply(self, kiosk_id: str, reply: Mapping[str, Any] | str | bytes) -> None:
        """Publish a reply (``{"v": 1, "request_id", "ok", …}``) on the kiosk's ``replies``;
        return once the broker has it. ValueError for what is not a readable reply."""
        data = _bytes(reply)
        if isinstance(read := protocol.read_reply(data), Unreadable):
            raise ValueError(f"not a reply the kiosk can read: {read.problem} ({read.detail})")
        await self._publish(_topic(kiosk_id, REPLIES), data)

    async def _reply_bytes(self, kiosk_id: str, data: bytes) -> None:
        await self._publish(_topic(kiosk_id, REPLIES), data)

    async def _publish(self, topic: str, data: bytes) -> None:
        connection = self._connection
        if connection is None:
            raise NotConnected(f"not connected to the kiosk broker at {self.address}")
        info = connection.client._client.publish(topic, data, qos=1)
        if info.rc != MQTT_ERR_SUCCESS:
            raise NotConnected(f"publish to {topic} failed: {error_string(info.rc)}")
        # The PUBACK is read on this loop, after this await at the earliest: no race.
        puback = connection.pubacks[info.mid] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                code = await puback
        except TimeoutError:
            raise NotConnected(
                f"no PUBACK for {topic} within {PUBLISH_TIMEOUT_SECONDS:g} s"
            ) from None
        finally:
            if connection.pubacks.get(info.mid) is puback:
                del connection.pubacks[info.mid]
        if getattr(code, "is_failure", False):
            raise PublishRefused(f"the broker refused {topic}: {code}")
        if getattr(code, "value", 0) == NO_MATCHING_SUBSCRIBERS:
            raise NoSubscriber(f"no session subscribed to {topic}: the broker dropped it")

    # --- the connection -------------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected, until cancelled."""
        while True:
            reason = "closed"
            connection = None
            try:
                client = self._new_client()
                connection = _Connection(client)
                self._watch_pubacks(connection)
                async with client:
                    self._outage.reached()
                    await self._serve(connection)
            except aiomqtt.MqttError as err:
                reason = words(err, "kiosk_broker_user and its password")
            finally:
                self._connection = None
                self.connected.clear()
                if connection is not None:
                    for puback in connection.pubacks.values():
                        if not puback.done():
                            puback.set_exception(NotConnected("the connection to the broker went"))
            await self._outage.retry(reason)

    async def stop(self) -> None:
        """Leave the share groups (no new messages come to this engine), let what is being
        handled finish and its replies go out, then disconnect."""
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(LEAVE_TIMEOUT_SECONDS):
                    await connection.client.unsubscribe(list(SUBSCRIPTIONS))
        await self._inbox.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _new_client(self) -> aiomqtt.Client:
        connect = Properties(PacketTypes.CONNECT)
        connect.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        tls = None
        if self.address.tls:
            ca = str(self.address.ca_file) if self.address.ca_file else None
            tls = aiomqtt.TLSParameters(ca_certs=ca)
        return aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=self._user,
            password=self._password,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=connect,
            keepalive=KEEPALIVE_SECONDS,
            tls_params=tls,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )

    def _watch_pubacks(self, connection: _Connection) -> None:
        paho = connection.client._client
        aiomqtt_on_publish = paho.on_publish

        def on_publish(client: Any, userdata: Any, mid: int, code: Any, props: Any) -> None:
            puback = connection.pubacks.get(mid)
            if puback is not None and not puback.done():
                puback.set_result(code)
            if aiomqtt_on_publish is not None:
                aiomqtt_on_publish(client, userdata, mid, code, props)

        paho.on_publish = on_publish

    async def _serve(self, connection: _Connection) -> None:
        client = connection.client
        for subscription in SUBSCRIPTIONS:
            granted = await client.subscribe(subscription, qos=1)
            refused = [code for code in granted if getattr(code, "is_failure", False)]
            if refused:
                raise aiomqtt.MqttError(f"the broker refused {subscription}: {refused[0]}")
        self._connection = connection
        self.connected.set()
        self._outage.serving(self.client_id)
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            self._inbox.take(str(message.topic), payload)


def _topic(kiosk_id: str, leaf: str) -> str:
    if not KIOSK_ID.fullmatch(kiosk_id):
        raise ValueError(f"{kiosk_id!r} is not a kiosk id")
    return protocol.topic(kiosk_id, leaf)


def _bytes(message: Mapping[str, Any] | str | bytes) -> bytes:
    if isinstance(message, bytes):
        return message
    if isinstance(message, str):
        return message.encode("utf-8")
    return protocol.dump(message)
