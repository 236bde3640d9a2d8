"""The MLLP listener for the HIS's window (HL7 接收: 窗口取号、缴费、退号): check-ins,
payments and cancellations done at the hospital's own window, sent by its HIS as SIU S14
and S15, go through the same core commands as ``POST /api/v1/bookings/{no}/check-in``,
``/pay`` and ``/cancel`` — with their idempotency by reference — and each is answered
with an ACK.

* **AA** after the core committed (MSA-3 says what: the queue number, paid, cancelled).
* **AE** when the core refused (the booking is not found — or is another hospital's,
  which reads the same —, check-in not open yet, paid already …): ERR-3 is HL7's code
  (204 unknown key, 205 duplicate key, 207 otherwise), ERR-5 the core's own code
  (``check_in_not_open``), MSA-3 and ERR-8 its words. The store being down is an AE 207
  too, and that answer is not remembered: the resend is tried again.
* **AR** for a message that cannot be taken as it is (:mod:`.inbound_messages`): not MLLP,
  not UTF-8, not HL7, not SIU S14/S15, a field missing (101) or wrong (102), a block
  larger than :data:`MAX_BLOCK_BYTES`.

A message sent again under its control id (MSH-10) is answered as the first was and acts
once: the check-in's reference *is* the control id and the payment's defaults to it, so
the core itself sees the repeat (across restarts too); the last :data:`REMEMBERED` AAs
are also kept here, so an S15 sent again gets its AA again word for word. A refusal (AE)
is not kept: sent again, the message is put to the core again, which may now take it
(check-in has opened). The same control id on a different request is an AR 205.

The connection stays open after any answer, AR included: a bad message never costs the
next one. A peer outside the allowed networks is refused — the connection closed before a
byte is read — and logged once per address. Nothing personal is logged: the control id,
the booking number and the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from hl7.mllp import HL7StreamReader, HL7StreamWriter, start_hl7_server

from booking_core import bookings, catalogue
from booking_core.bookings import BookingView
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import BookingError, GuahaoError, InvalidState

from ..problems import DOMAIN_PROBLEMS, plain
from .inbound_messages import (
    AckError,
    Action,
    Header,
    Unacceptable,
    WindowRequest,
    build_ack,
    read_header,
    read_request,
)
from .mllp import ENCODING

log = logging.getLogger(__name__)

MAX_BLOCK_BYTES = 64 * 1024  # an S14 is about 1 KB; a vendor's extra segments fit many times
REMEMBERED = 10_000  # answers kept by control id: a HIS's resends come within minutes
REFUSED_PEERS_LOGGED = 1_000  # addresses remembered for "logged once"; then logged again
CLOSE_WAIT_SECONDS = 10.0  # a commit under load takes well under a second; then give up
END = b"\x1c\r"
START = b"\x0b"

_HL7_CODES = {"not_found": "204", "idempotency_key_reused": "205"}  # else 207


class Hl7Inbound:
    """One listener for one hospital's HIS: its bookings only (the actor is bound to it)."""

    def __init__(
        self,
        services: BookingServices,
        hospital_code: str,
        peers: Iterable[str] = ("127.0.0.1", "::1"),
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.services = services
        self.hospital_code = hospital_code
        self.networks = [ipaddress.ip_network(p, strict=False) for p in peers]
        self.now = now
        self.port = 0
        self._actor: Actor | None = None
        self._answers: OrderedDict[str, tuple[WindowRequest, str]] = OrderedDict()
        self._refused: set[str] = set()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._working: set[asyncio.Future[str]] = set()  # answers being made (the core's work)

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: a free port); the port."""
        self._server = await start_hl7_server(
            self._client, host, port, encoding=ENCODING, limit=MAX_BLOCK_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("HL7 listener for %s on %s:%s", self.hospital_code, host, self.port)
        return self.port

    async def close(self) -> None:
        """Stop listening and end every connection (a message being acted on is let
        finish: the core's commit is not cancelled halfway)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.wait(self._clients, timeout=CLOSE_WAIT_SECONDS)
        if self._working:  # a cancelled connection's message still reaches the core's answer
            await asyncio.wait(self._working, timeout=CLOSE_WAIT_SECONDS)
        if self._server is not None:
            await self._server.wait_closed()

    def allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    async def _client(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        try:
            if not self.allowed(address):
                self._log_refused(address)
                return
            while True:
                try:
                    block = await read_block(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the HIS closed the connection (or it broke): nothing to answer
                work = asyncio.ensure_future(self.answer(block))
                self._working.add(work)
                work.add_done_callback(self._working.discard)
                ack = await asyncio.shield(work)  # a commit is never cut short
                writer.writeblock(ack.encode(ENCODING))
                await writer.drain()
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._clients.discard(task)

    def _log_refused(self, address: str) -> None:
        if address in self._refused:
            return
        if len(self._refused) >= REFUSED_PEERS_LOGGED:
            self._refused.clear()
        self._refused.add(address)
        log.warning(
            "HL7 listener: a connection from %s refused, outside hl7_listen_peers "
            "(said once per address)",
            address,
        )

    async def answer(self, block: bytes | None) -> str:
        """The ACK for one MLLP block (None: one larger than :data:`MAX_BLOCK_BYTES`)."""
        header: Header | None = None
        try:
            text = _text_of(block)
            message, header = read_header(text)
            request = read_request(message, header)
        except Unacceptable as err:
            cid = header.control_id if header else ""
            log.info("HL7 in %r refused (AR %s): %s", cid, err.error.code, err.error.words)
            return self._ack("AR", header, error=err.error)
        remembered = self._answers.get(header.control_id)
        if remembered is not None:
            if remembered[0] == request:
                return remembered[1]
            words = "this control id was used for another message"
            log.info("HL7 in %r refused (AR 205): %s", header.control_id, words)
            return self._ack("AR", header, error=AckError("205", words, "MSH^1^10"))
        ack, final = await self._act(request, header)
        if final:
            self._answers[header.control_id] = (request, ack)
            while len(self._answers) > REMEMBERED:
                self._answers.popitem(last=False)
        return ack

    async def _act(self, request: WindowRequest, header: Header) -> tuple[str, bool]:
        """The ACK, and whether it is remembered for a resend: an AA only. A refusal changed
        nothing, so the same message sent again is put to the core again (the day may have
        opened for check-in since)."""
        cid = header.control_id
        try:
            actor = await self.actor()
            text = await self._command(request, actor, cid)
        except BookingError as err:
            code, words = err.code, words_of(err)
            log.info("HL7 in %r %s %s: AE %s", cid, request.action, request.booking_no, code)
            error = AckError(_HL7_CODES.get(code, "207"), words, "SCH^1^1", code)
            return self._ack("AE", header, error=error), False  # asked again: asked afresh
        except GuahaoError as err:  # ours: the store down; the HIS sends it again later
            log.warning("HL7 in %r %s not done: %s", cid, request.action, err)
            words = "the engine could not do it now; send it again"
            return self._ack("AE", header, error=AckError("207", words, "", err.code)), False
        except Exception:
            log.exception("HL7 in %r %s failed", cid, request.action)
            words = "the engine failed to do it; send it again"
            return self._ack("AE", header, error=AckError("207", words)), False
        log.info("HL7 in %r %s %s: AA", cid, request.action, request.booking_no)
        return self._ack("AA", header, text=text), True

    async def actor(self) -> Actor:
        """Who acts: the HIS of this listener's hospital (found once; an unknown hospital
        is ``not_found``, an AE, until it is made)."""
        if self._actor is None:
            hospital = await self.services.read(catalogue.hospital, self.hospital_code)
            self._actor = Actor("system", "hl7-in", hospital.id, Channel.HIS)
        return self._actor

    async def _command(self, request: WindowRequest, actor: Actor, control_id: str) -> str:
        """Do it; the words of the AA."""
        no = request.booking_no
        match request.action:
            case Action.CHECK_IN:
                view = await self._handle(
                    bookings.CheckIn(actor=actor, booking_no=no, reference=control_id)
                )
                return f"checked in, queue number {view.booking.queue_no}"
            case Action.PAY:
                view = await self._handle(
                    bookings.PayBooking(
                        actor=actor,
                        booking_no=no,
                        method=request.method or "",
                        amount=request.amount,
                        reference=request.reference,
                    )
                )
                return f"paid {view.booking.paid} fen by {request.method}"
            case Action.CANCEL:
                try:
                    await self._handle(
                        bookings.CancelBooking(actor=actor, booking_no=no, by_hospital=True)
                    )
                except InvalidState as err:
                    if err.params.get("status") == "cancelled":
                        return "cancelled already"  # what the HIS asks for is so
                    raise
                return "cancelled"
        raise AssertionError(request.action)  # pragma: no cover - every Action is matched

    async def _handle(
        self, command: bookings.CheckIn | bookings.PayBooking | bookings.CancelBooking
    ) -> BookingView:
        return await self.services.handle(command)

    def _ack(
        self, code: str, header: Header | None, *, text: str = "", error: AckError | None = None
    ) -> str:
        return build_ack(
            code,
            header,
            hospital_code=self.hospital_code,
            control_id="GHACK" + secrets.token_hex(6),
            sent_at=self.now(),
            text=text,
            error=error,
        )


async def read_block(reader: asyncio.StreamReader) -> bytes | None:
    """The next MLLP block's bytes through its end (``<FS><CR>``); None for one longer than
    the reader's limit, read and dropped to its end, so the stream stays in step."""
    try:
        return await reader.readuntil(END)
    except asyncio.LimitOverrunError as err:
        await reader.readexactly(err.consumed)
    while True:  # drop the rest of the oversized block
        try:
            await reader.readuntil(END)
            return None
        except asyncio.LimitOverrunError as err:
            await reader.readexactly(err.consumed)


def _text_of(block: bytes | None) -> str:
    """The message in a block, decoded; :class:`Unacceptable` when there is none."""
    if block is None:
        raise Unacceptable("102", f"the message is larger than {MAX_BLOCK_BYTES} bytes")
    start = block.rfind(START)  # bytes before the last <VT> are noise between blocks
    if start < 0:
        raise Unacceptable("100", "not an MLLP block (no <VT> before the message)")
    try:
        return block[start + 1 : -len(END)].decode(ENCODING)
    except UnicodeDecodeError:
        raise Unacceptable("102", "the message is not UTF-8 (MSH-18 UNICODE UTF-8)") from None


def words_of(err: GuahaoError) -> str:
    """The core's refusal in the words the API gives it (its problem's detail)."""
    params = {k: plain(v) for k, v in err.params.items()}
    _, title, template = DOMAIN_PROBLEMS.get(err.code, (0, err.code, err.code))
    try:
        detail = template.format(**params)
    except (KeyError, IndexError, ValueError):
        detail = title
    return f"{err.code}: {detail}"
