"""The kiosk's MQTT connection to the engine (aiomqtt; the agent's one module that imports it).

:meth:`BrokerLink.run` keeps one connection up: client id and user name the kiosk id,
MQTT 5 with a persistent session (``clean_start`` never, a session expiry of a day) so
jobs published while the kiosk was away are delivered when it is back, QoS 1 everywhere,
keep-alive 15 s, the last will ``{"online": false, "reason": "lost"}`` retained on the
status topic. On each connect it subscribes to its ``jobs`` and ``replies`` and publishes
its status (retained). When the broker goes away (restarted, network gone, password
refused) it tries again after 1 s, doubling to 30 s, and logs **once** that the broker is
unavailable and once when it is back (:class:`hardware.reconnect.Outage`, as the engine's
link does).

A received job is handed to ``on_job`` and acknowledged to the broker (the PUBACK) only
once that returned, i.e. once the job is in the journal: a crash in between gets the job
delivered again, never lost. aiomqtt has no switch for that, so the PUBACK goes through
its paho client (``manual_ack_set`` / ``ack``), here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hardware import protocol
from hardware.reconnect import Outage, words

from .config import KioskConfig

logger = logging.getLogger("hardware.agent.broker")

KEEPALIVE_SECONDS = 15
"""The broker publishes the last will 1.5 keep-alives after a kiosk vanishes: the console
sees a dead kiosk within ~22 s."""
SESSION_EXPIRY_SECONDS = 86400
"""Jobs wait for a kiosk away less than a day (a night's power cut); the engine re-sends
anything older once the kiosk is back."""
PUBLISH_TIMEOUT_SECONDS = 5.0
"""The broker's PUBACK comes within milliseconds on a hospital LAN; past this the
connection is taken for dead."""
STATUS_INTERVAL_SECONDS = 60.0
"""The protocol's heartbeat: the console shows "last seen" to the minute."""

JobHandler = Callable[[bytes], Awaitable[None]]
ReplyHandler = Callable[[bytes], None]


class NotConnected(Exception):
    """The broker is not reachable now (or did not take the message in time)."""


class BrokerLink:
    def __init__(
        self,
        config: KioskConfig,
        *,
        on_job: JobHandler,
        on_reply: ReplyHandler,
        status: Callable[[], dict[str, Any]],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self._on_job = on_job
        self._on_reply = on_reply
        self._status = status
        self._sleep = sleep
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._status_changed = asyncio.Event()
        self._where = f"{config.broker.host}:{config.broker.port}"
        self._outage = Outage(logger, "broker", self._where, sleep=sleep)
        self._topics = {
            protocol.topic(config.kiosk_id, leaf): leaf
            for leaf in (protocol.JOBS, protocol.REPLIES)
        }

    def status_changed(self) -> None:
        """Publish the status now (a device changed)."""
        self._status_changed.set()

    async def publish(self, leaf: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish on the kiosk's own ``leaf`` topic, QoS 1, and wait for the broker's
        PUBACK. Raises :class:`NotConnected`."""
        client = self._client
        if client is None:
            raise NotConnected(f"not connected to the broker at {self._where}")
        try:
            await client.publish(
                protocol.topic(self._config.kiosk_id, leaf),
                payload,
                qos=1,
                retain=retain,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except aiomqtt.MqttError as err:
            raise NotConnected(f"publish to {leaf} failed: {err}") from err

    async def say_goodbye(self) -> None:
        """Stopping: status offline (``reason: stopped``), retained, if connected."""
        with contextlib.suppress(NotConnected):
            await self.publish(protocol.STATUS, protocol.dump(protocol.GOODBYE), retain=True)

    # --- the connection -----------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected, until cancelled."""
        while True:
            reason = "closed"
            try:
                async with self._new_client() as client:
                    self._outage.reached()
                    await self._serve(client)
            except aiomqtt.MqttError as err:
                reason = words(err, "kiosk_id and the password")
            finally:
                self._client = None
                self.connected.clear()
            await self._outage.retry(reason)

    def _new_client(self) -> aiomqtt.Client:
        config = self._config
        connect = Properties(PacketTypes.CONNECT)
        connect.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        status_topic = protocol.topic(config.kiosk_id, protocol.STATUS)
        tls = None
        if config.broker.tls:
            ca = str(config.broker.ca_file) if config.broker.ca_file else None
            tls = aiomqtt.TLSParameters(ca_certs=ca)
        client = aiomqtt.Client(
            config.broker.host,
            config.broker.port,
            username=config.kiosk_id,
            password=config.password,
            identifier=config.kiosk_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=connect,
            keepalive=KEEPALIVE_SECONDS,
            will=aiomqtt.Will(status_topic, protocol.dump(protocol.LAST_WILL), qos=1, retain=True),
            tls_params=tls,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        client._client.manual_ack_set(True)  # PUBACK once the job is in the journal
        return client

    async def _serve(self, client: aiomqtt.Client) -> None:
        for topic in self._topics:
            await client.subscribe(topic, qos=1)
        self._client = client
        await self.publish(protocol.STATUS, protocol.dump(self._status()), retain=True)
        self._outage.serving(self._config.kiosk_id)
        self.connected.set()
        async for message in client.messages:
            leaf = self._topics.get(str(message.topic))
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                if leaf == protocol.JOBS:
                    await self._on_job(payload)
                elif leaf == protocol.REPLIES:
                    self._on_reply(payload)
            except Exception as err:  # the journal could not take it: no PUBACK, reconnect
                logger.exception("could not take a message on %s", message.topic)
                raise aiomqtt.MqttError(f"a message could not be taken: {err!r}") from err
            client._client.ack(message.mid, message.qos)

    async def report_status(self) -> None:
        """Publish the status on every device change and every minute, until cancelled."""
        while True:
            try:
                async with asyncio.timeout(STATUS_INTERVAL_SECONDS):
                    await self._status_changed.wait()
            except TimeoutError:
                pass
            self._status_changed.clear()
            with contextlib.suppress(NotConnected):  # if not, it is published on connect
                await self.publish(protocol.STATUS, protocol.dump(self._status()), retain=True)
