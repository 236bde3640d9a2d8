"""The GSM modem gateway (短信猫网关): :class:`sms.gateway.Gateway` over a serial port.

Sending: each part of a message (a long one, 长短信, goes as concatenated parts) is
``AT+CMGS=<length>``, the ``> `` prompt, the PDU and Ctrl-Z, answered by
``+CMGS: <reference>``. A modem error is retried with exponential backoff, then reported
as ``GatewayError(retry=True)``, or at once with ``retry=False`` when it says the number
or the message itself is wrong.

Receiving: the modem stores each incoming part on the SIM and says ``+CMTI: "SM",<i>``;
the gateway reads it with ``AT+CMGR``, keeps the parts of a long message until all have
come (in any order), hands the whole message to the :data:`~sms.gateway.IncomingHandler`,
and deletes its parts with ``AT+CMGD`` only after the handler returned. Everything on the
SIM is listed again (``AT+CMGL=4``) after every (re)connect and every
``poll_interval``: a lost ``+CMTI``, or a message whose handler failed, is read again.

The SIM holds some 30 messages, so nothing may stay on it for ever. A part of a long text
whose other parts have not come ``part_timeout`` after the gateway first read it (a
phone that gave up, or a stranger's; the service centre's time stamp is not trusted for
this, as some centres' clocks are hours off) is handed over as it is, marked incomplete
(:func:`sms.commands.incomplete_body`: the texter is asked to send it again), and
deleted. A PDU that cannot be decoded goes to ``on_undecodable`` (the engine keeps it,
encrypted, in the database) and is deleted once that returned. After every listing the
gateway asks how full the SIM is (``AT+CPMS?``): :meth:`ModemGateway.status` says it, for
``/healthz``, and a warning is logged once when it passes ``sim_warn_fraction``.

A modem cannot be asked whether a message left (``can_check = False``): the message
references it gives are per-modem counters, not ids the network will answer about.

:meth:`ModemGateway.run` keeps the port open: when it vanishes (a USB modem unplugged or
reset), the gateway closes it, logs once that the modem is unavailable, tries again every
``reconnect_interval`` and logs once more when it is back. Sending while it is down fails
at once with ``GatewayError(retry=True)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

import serial_asyncio_fast

from booking_core.kernel.identity import mask_phone
from sms.commands import incomplete_body
from sms.gateway import GatewayError, Incoming, IncomingHandler, Outgoing, Sent

from .at import LIST_TIMEOUT_SECONDS, SEND_TIMEOUT_SECONDS, AtChannel, ModemError, ModemUnavailable
from .pdu import Deliver, EncodedPdu, PduError, decode_deliver, encode_submit, join_parts

logger = logging.getLogger(__name__)

MIN_INTERVAL_SECONDS = 5.0
"""A modem manages about one message every few seconds on the air; sending faster only
queues in the modem and draws ``+CMS ERROR``s."""

RECONNECT_INTERVAL_SECONDS = 10.0
"""A USB modem that was reset re-enumerates within a few seconds; trying more often only
spins, and a message waits in the outbox meanwhile."""

POLL_INTERVAL_SECONDS = 60.0
"""How soon a message whose ``+CMTI`` was lost, or whose handler failed, is read again."""

RETRY_DELAYS_SECONDS = (2.0, 4.0, 8.0)
"""Backoff between attempts at one part after a modem error: ~14 s in all, then the
notifier's own, slower retry takes over."""

PART_TIMEOUT_SECONDS = 3600.0
"""How long the parts of a long text (长短信) wait for the others. A network delivers the
parts of one text within seconds, a few minutes when it retries; a part alone after an
hour is from a phone that gave up, and on the SIM it holds a slot the next patient needs."""

SIM_WARN_FRACTION = 0.8
"""Warn when the SIM is this full: with ~30 slots, 24 taken leaves room for a burst of
texts while someone looks, and a full SIM loses what comes next."""

OPEN_TIMEOUT_SECONDS = 5.0
"""Opening a tty takes milliseconds; a stuck driver must not stall the reconnect loop."""

INIT_COMMANDS = (
    "AT",
    "ATE0",  # no echo
    "AT+CMEE=1",  # numeric +CME ERROR codes
    "AT+CMGF=0",  # PDU mode
    "AT+CNMI=2,1,0,0,0",  # store incoming messages on the SIM, announce with +CMTI
)

PERMANENT_CMS_ERRORS = frozenset({1, 8, 10, 21, 28, 29, 30, 50, 96, 304})
"""TS 24.011 / 27.005 causes that another attempt cannot fix: unassigned number (1),
operator barring (8), call barred (10), transfer rejected (21), unidentified or unknown
subscriber (28, 30), facility rejected or not subscribed (29, 50), invalid mandatory
information (96), invalid PDU parameter (304). Network out of order (38), congestion
(42), network timeout (332) and the rest are worth another try."""

Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A message on the SIM that is no SMS-DELIVER we can read (its raw ``pdu`` may hold
    personal data: keep it as carefully as a text)."""

    gateway: str
    index: int
    pdu: str
    error: str


UndecodableHandler = Callable[[Undecodable], Awaitable[None]]

_CPMS = re.compile(r'\+CPMS:\s*"?[A-Z]*"?\s*,\s*(\d+)\s*,\s*(\d+)')


def masked(phone: str) -> str:
    """A phone number fit for a log line: ``138****5678`` (also for ``+86…``)."""
    return mask_phone(phone.removeprefix("+86"))


def provider_id(first_part: Deliver, body: str) -> str:
    """The id of an incoming message: the same each time it is read from the SIM. The
    SMSC time stamp has whole seconds, so two texts a phone sends within one second are
    told apart by their text (the same text twice in a second counts once)."""
    concat = first_part.concat
    ref = f"{concat.reference}/{concat.total}" if concat else "-"
    raw = f"{first_part.sender}|{first_part.timestamp.isoformat()}|{ref}|{body}"
    return "modem-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def _message_list(lines: list[str]) -> list[tuple[int | None, int, str]]:
    """(index, status, PDU) from ``+CMGL: <i>,<stat>,,<len>`` / ``+CMGR: <stat>,,<len>``
    lines, each followed by its PDU line."""
    found = []
    for head, pdu in itertools.pairwise([*lines, ""]):
        if head.startswith(("+CMGL:", "+CMGR:")):
            fields = [f.strip() for f in head.partition(":")[2].split(",")]
            with contextlib.suppress(ValueError):
                if head.startswith("+CMGL:"):
                    found.append((int(fields[0]), int(fields[1]), pdu))
                else:
                    found.append((None, int(fields[0]), pdu))
    return found


class ModemGateway:
    """:class:`sms.gateway.Gateway` over a GSM modem (短信猫) on ``port`` (a tty path such as
    ``/dev/ttyUSB0`` or a stable ``/dev/serial/by-id/…`` link). Run :meth:`run` as a
    background task, or use ``async with``; ``on_incoming`` receives incoming messages
    (without it they are left on the SIM), ``on_undecodable`` what cannot be read
    (without it that is left on the SIM). ``now`` is the wall clock parts are aged by."""

    name = "modem"
    can_check = False

    def __init__(
        self,
        port: str,
        *,
        on_incoming: IncomingHandler | None = None,
        baudrate: int = 115200,
        min_interval: float = MIN_INTERVAL_SECONDS,
        retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
        reconnect_interval: float = RECONNECT_INTERVAL_SECONDS,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        part_timeout: float = PART_TIMEOUT_SECONDS,
        sim_warn_fraction: float = SIM_WARN_FRACTION,
        on_undecodable: UndecodableHandler | None = None,
        sleep: Sleep = asyncio.sleep,
        now: Now = lambda: datetime.now(UTC),
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.min_interval = min_interval
        self._on_incoming = on_incoming
        self._retry_delays = tuple(retry_delays)
        self._reconnect_interval = reconnect_interval
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._now = now
        self._part_timeout = timedelta(seconds=part_timeout)
        self._sim_warn_fraction = sim_warn_fraction
        self._on_undecodable = on_undecodable
        self._sim: tuple[int, int] | None = None  # (used, total) at the last AT+CPMS?
        self._sim_warned = False
        self._channel: AtChannel | None = None  # open, maybe still initialising
        self._ready: AtChannel | None = None  # initialised: sends may use it
        self._ready_event = asyncio.Event()
        self._available: bool | None = None  # None: not tried yet
        self._send_lock = asyncio.Lock()
        self._references = itertools.count(secrets.randbelow(256))  # concatenation references
        self._new_indexes: asyncio.Queue[int] = asyncio.Queue()
        self._parts: dict[tuple[str, int, int], dict[int, tuple[int, Deliver]]] = {}
        self._first_seen: dict[tuple[str, int, int], datetime] = {}  # kept over reconnects
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether the modem is open and initialised right now."""
        return self._ready is not None

    def status(self) -> dict[str, object]:
        """For ``/healthz``: whether the modem is up, how full its SIM was at the last
        look (``sim_used`` of ``sim_total``), the parts of long texts still waiting for
        the rest, and ``warning`` when the SIM is fuller than ``sim_warn_fraction``."""
        used, total = self._sim if self._sim is not None else (None, None)
        status: dict[str, object] = {
            "status": "ok" if self.available else "unavailable",
            "sim_used": used,
            "sim_total": total,
            "waiting_parts": sum(len(parts) for parts in self._parts.values()),
        }
        if self._sim_full():
            status["status"] = "warn" if self.available else status["status"]
            status["warning"] = f"SIM {used}/{total} full: texts that come next may be lost"
        return status

    def _sim_full(self) -> bool:
        if self._sim is None or not self._sim[1]:
            return False
        used, total = self._sim
        return used >= total * self._sim_warn_fraction

    async def wait_ready(self) -> None:
        """Wait until the modem is ready (put it under :func:`asyncio.timeout`)."""
        await self._ready_event.wait()

    async def __aenter__(self) -> ModemGateway:
        self._task = asyncio.create_task(self.run(), name=f"modem {self.port}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Keep the modem open and read what comes in, until cancelled."""
        try:
            while True:
                try:
                    channel = await self._connect()
                except (OSError, ModemError, TimeoutError) as err:
                    await self._disconnect()
                    self._set_available(False, str(err) or type(err).__name__)
                    await self._sleep(self._reconnect_interval)
                    continue
                self._set_available(True)
                inbox = asyncio.create_task(self._inbox(channel), name="modem-inbox")
                try:
                    await channel.wait_closed()
                finally:
                    inbox.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await inbox
                    await self._disconnect()
                self._set_available(False, channel.close_reason)
                await self._sleep(self._reconnect_interval)
        finally:
            await self._disconnect()

    async def _connect(self) -> AtChannel:
        async with asyncio.timeout(OPEN_TIMEOUT_SECONDS):
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self.baudrate
            )
        channel = self._channel = AtChannel(reader, writer, self._on_urc)
        self._parts.clear()  # everything on the SIM is listed again below
        while not self._new_indexes.empty():
            self._new_indexes.get_nowait()
        channel.write_raw("\x1b")  # leave a PDU prompt a previous run may have left open
        for command in INIT_COMMANDS:
            await channel.command(command)
        self._ready = channel
        self._ready_event.set()
        return channel

    async def _disconnect(self) -> None:
        channel, self._channel, self._ready = self._channel, None, None
        self._ready_event.clear()
        if channel is not None:
            await channel.close()

    def _set_available(self, available: bool, reason: str = "") -> None:
        """Log a change only: once when the modem goes away, once when it is back."""
        if available == self._available:
            logger.debug("modem on %s still %s: %s", self.port, available, reason)
            return
        self._available = available
        if available:
            logger.info("GSM modem ready on %s", self.port)
        else:
            logger.warning(
                "GSM modem unavailable on %s (%s); trying again every %g s",
                self.port,
                reason,
                self._reconnect_interval,
            )

    # --- sending ----------------------------------------------------------------------

    async def send(self, message: Outgoing) -> Sent:
        number = message.phone.strip().replace(" ", "").replace("-", "")
        if number.startswith("00"):
            number = "+" + number[2:]
        try:
            pdus = encode_submit(number, message.body, reference=next(self._references))
        except ValueError as err:
            raise GatewayError(f"cannot send to {masked(number)}: {err}", retry=False) from err
        async with self._send_lock:
            references = [await self._send_part(pdu, number) for pdu in pdus]
        logger.info("SMS to %s sent in %d part(s) via modem", masked(number), len(pdus))
        return Sent(provider_id=",".join(references), parts=len(pdus))

    async def find_sent(self, message: Outgoing, since: datetime) -> Sent | None:
        return None  # a modem keeps no record it can be asked about

    async def _send_part(self, pdu: EncodedPdu, number: str) -> str:
        delays = iter(self._retry_delays)
        while True:
            channel = self._ready
            if channel is None:
                raise GatewayError("GSM modem unavailable", retry=True)
            try:
                lines = await channel.command(
                    f"AT+CMGS={pdu.tpdu_length}", pdu=pdu.hex, seconds=SEND_TIMEOUT_SECONDS
                )
            except ModemError as err:
                if err.cms in PERMANENT_CMS_ERRORS:
                    raise GatewayError(
                        f"modem refused the SMS to {masked(number)}: {err.result}", retry=False
                    ) from err
                delay = next(delays, None)
                if delay is None:
                    raise GatewayError(f"modem error: {err.result}", retry=True) from err
                logger.info(
                    "modem error %s sending to %s, again in %g s", err.result, masked(number), delay
                )
                await self._sleep(delay)
                continue
            except (ModemUnavailable, TimeoutError) as err:
                raise GatewayError(f"GSM modem unavailable: {err}", retry=True) from err
            answer = next((line for line in lines if line.startswith("+CMGS:")), "")
            return answer.partition(":")[2].strip()

    # --- receiving --------------------------------------------------------------------

    def _on_urc(self, line: str) -> None:
        if line.startswith("+CMTI:"):
            index = line.rpartition(",")[2].strip()
            if index.isdigit() and self._on_incoming is not None:
                self._new_indexes.put_nowait(int(index))
        elif line.startswith(("+CMT:", "+CDS:")):
            logger.warning("modem delivered a message without storing it (%s): ignored", line[:5])
        else:
            logger.debug("modem says %s", line)

    async def _inbox(self, channel: AtChannel) -> None:
        """Read what is on the SIM, then each new message, and everything again every
        ``poll_interval``. Ends when the channel closes."""
        try:
            await self._read_all(channel)
            while True:
                try:
                    async with asyncio.timeout(self._poll_interval):
                        index = await self._new_indexes.get()
                except TimeoutError:
                    await self._read_all(channel)
                    continue
                try:
                    lines = await channel.command(f"AT+CMGR={index}")
                except ModemError as err:  # 321: the slot is empty (already read and deleted)
                    level = logging.DEBUG if err.cms == 321 else logging.WARNING
                    logger.log(level, "cannot read SIM message %d: %s", index, err.result)
                    continue
                for _, status, pdu in _message_list(lines):
                    await self._take(channel, index, status, pdu)
                await self._expire(channel)
                await self._check_fill(channel)
        except (ModemUnavailable, TimeoutError) as err:
            logger.debug("modem inbox stops: %s", err)  # run() reconnects
        except Exception as err:
            logger.exception("reading messages from the modem failed; reopening the port")
            channel.abort(f"inbox failed: {err!r}")

    async def _read_all(self, channel: AtChannel) -> None:
        if self._on_incoming is None:
            return
        try:
            lines = await channel.command("AT+CMGL=4", seconds=LIST_TIMEOUT_SECONDS)
        except ModemError as err:
            logger.warning("cannot list SIM messages: %s", err.result)
            return
        for index, status, pdu in _message_list(lines):
            if index is not None:
                await self._take(channel, index, status, pdu)
        await self._expire(channel)
        await self._check_fill(channel)

    async def _expire(self, channel: AtChannel) -> None:
        """Hand over, marked incomplete, the long texts still missing parts whose first
        part came ``part_timeout`` ago (their parts leave the SIM)."""
        now = self._now()
        for key, parts in list(self._parts.items()):
            if now - self._first_seen.setdefault(key, now) < self._part_timeout:
                continue
            del self._parts[key]
            del self._first_seen[key]
            total = key[2]
            logger.info(
                "long SMS from %s: %d of %d parts after %s; handed over incomplete",
                masked(key[0]),
                len(parts),
                total,
                self._part_timeout,
            )
            await self._hand_over(channel, [parts[seq] for seq in sorted(parts)], total=total)

    async def _check_fill(self, channel: AtChannel) -> None:
        try:
            lines = await channel.command("AT+CPMS?")
        except ModemError as err:
            logger.debug("modem does not say how full the SIM is: %s", err.result)
            return
        found = next((m for line in lines if (m := _CPMS.match(line))), None)
        if found is None:
            return
        self._sim = (int(found.group(1)), int(found.group(2)))
        full = self._sim_full()
        if full and not self._sim_warned:
            logger.warning(
                "SIM of the modem on %s is %d/%d full: texts that come next may be lost",
                self.port,
                *self._sim,
            )
        elif not full and self._sim_warned:
            logger.info("SIM of the modem on %s has room again (%d/%d)", self.port, *self._sim)
        self._sim_warned = full

    async def _take(self, channel: AtChannel, index: int, status: int, pdu: str) -> None:
        """One message (part) from SIM slot ``index``: hand it over once complete."""
        if status not in (0, 1) or self._on_incoming is None:  # 2, 3: stored outgoing
            return
        try:
            part = decode_deliver(pdu)
        except PduError as err:
            await self._set_aside(channel, Undecodable(self.name, index, pdu, str(err)))
            return
        if part.concat is None:
            await self._hand_over(channel, [(index, part)])
            return
        key = (part.sender, part.concat.reference, part.concat.total)
        parts = self._parts.setdefault(key, {})
        parts[part.concat.seq] = (index, part)
        self._first_seen.setdefault(key, self._now())
        if len(parts) == part.concat.total:
            del self._parts[key]
            self._first_seen.pop(key, None)
            await self._hand_over(channel, [parts[seq] for seq in sorted(parts)])

    async def _set_aside(self, channel: AtChannel, message: Undecodable) -> None:
        """An undecodable PDU: kept by ``on_undecodable``, then deleted from the SIM."""
        if self._on_undecodable is None:
            logger.warning(
                "SIM message %d cannot be decoded (%s); left on the SIM",
                message.index,
                message.error,
            )
            return
        try:
            await self._on_undecodable(message)
        except Exception:
            logger.exception("undecodable SIM message %d not kept; left on the SIM", message.index)
            return
        logger.warning(
            "SIM message %d cannot be decoded (%s); kept in the database and deleted",
            message.index,
            message.error,
        )
        await self._delete(channel, [message.index])

    async def _hand_over(
        self, channel: AtChannel, parts: list[tuple[int, Deliver]], *, total: int | None = None
    ) -> None:
        """Hand ``parts`` over as one text; ``total``: of that many parts, some missing."""
        assert self._on_incoming is not None
        first = parts[0][1]
        if total is None:
            body = join_parts(part.text for _, part in parts)
        else:
            by_seq = {p.concat.seq: p.text for _, p in parts if p.concat is not None}
            body = incomplete_body([by_seq.get(seq) for seq in range(1, total + 1)])
        message = Incoming(
            gateway=self.name,
            provider_id=provider_id(first, body),
            phone=first.sender,
            body=body,
            received_at=first.timestamp.astimezone(UTC),
        )
        try:
            await self._on_incoming(message)
        except Exception:
            logger.exception(
                "incoming SMS %s from %s not stored; left on the SIM, read again later",
                message.provider_id,
                masked(message.phone),
            )
            return
        await self._delete(channel, [index for index, _ in parts])

    async def _delete(self, channel: AtChannel, indexes: list[int]) -> None:
        for index in indexes:
            try:
                await channel.command(f"AT+CMGD={index}")
            except ModemError as err:  # read (and stored, once) again at the next listing
                logger.warning("cannot delete SIM message %d: %s", index, err.result)
