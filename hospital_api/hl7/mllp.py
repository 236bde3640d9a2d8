"""MLLP links to HIS endpoints (HL7 接口连接): one connection per ``host:port``, one message
at a time on it, each answered by its ACK or given up on.

Built on the ``hl7`` package (python-hl7, maintained, BSD): its asyncio MLLP streams frame
the blocks (``<VT> message <FS><CR>``) and its parser reads the ACKs. ``hl7apy`` would
validate messages against the standard's structures too, but has no MLLP client for
asyncio (only a threaded server), and the messages here are few and fixed
(:mod:`hospital_api.hl7.messages`), checked by the tests with ``hl7.parse``.

:meth:`MllpLinks.send` never raises for network trouble: every attempt comes back as an
:class:`~booking_core.feeds.AttemptResult` —

* ``AA`` / ``CA`` → delivered;
* ``AE`` / ``CE`` → retry (the HIS had an error; it may not next time), with its words;
* ``AR`` / ``CR`` → rejected when the error code says the message itself is unacceptable
  (:data:`REJECT_CODES`: dead-lettered for a person), else retry (``206`` record locked,
  ``207`` internal error, or no code at all);
* no ACK within the timeout, a refused, reset or dropped connection → retry, and the
  connection is closed, so the next attempt connects afresh (a late ACK can then never be
  taken for the next message's).

An ACK whose MSA-2 names another control id (a late answer to an earlier message) is
logged and skipped; the wait goes on for this message's own.

Logging: every AE or AR at WARNING with its control id and the HIS's words; an endpoint
that stops answering (refused, dropped, silent) once at WARNING when it starts, at DEBUG
while it lasts, and once at INFO when it answers again — a HIS down for a day is two
lines, not one per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import hl7
from hl7.mllp import HL7StreamReader, HL7StreamWriter, InvalidBlockError, open_hl7_connection

from booking_core import feeds

log = logging.getLogger(__name__)

ENCODING = "utf-8"  # MSH-18 UNICODE UTF-8: the names are Chinese

ACCEPTED = frozenset({"AA", "CA"})
ERROR = frozenset({"AE", "CE"})
REJECTED = frozenset({"AR", "CR"})

REJECT_CODES = frozenset({"100", "101", "102", "103", "104", "200", "201", "202", "203"})
"""HL7 table 0357 codes that say the message itself is unacceptable, so sending it again
cannot help: segment sequence (100), required field missing (101), data type (102), table
value not found (103), value too long (104), unsupported message type (200), event code
(201), processing id (202), version id (203). Every other code (206 record locked, 207
internal error, 204 unknown key …) is the HIS's trouble of the moment: retried."""

MAX_ERROR_CHARS = 300  # the delivery log keeps the HIS's words short


@dataclass(slots=True)
class _Link:
    """One endpoint's connection, opened lazily, forgotten after any trouble."""

    host: str
    port: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reader: HL7StreamReader | None = None
    writer: HL7StreamWriter | None = None
    down_since: float | None = None  # monotonic: unreachable or silent since then

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def usable(self) -> bool:
        return (
            self.reader is not None
            and self.writer is not None
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def drop(self) -> None:
        """Close the connection without waiting for it (the next send opens a new one)."""
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()

    async def forget(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):  # reset by the other end: closed all the same
                await writer.wait_closed()


class MllpLinks:
    """One open connection per HIS endpoint (``host:port``), opened on first use and again
    after a drop; a lock per connection, so a message waits for its ACK before the next is
    written."""

    def __init__(self, *, timeout_seconds: float = feeds.TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds
        self._links: dict[tuple[str, int], _Link] = {}

    def _link(self, host: str, port: int) -> _Link:
        key = (host, port)
        link = self._links.get(key)
        if link is None:
            link = self._links[key] = _Link(host, port)
        return link

    async def send(
        self, host: str, port: int, message: str, control_id: str
    ) -> feeds.AttemptResult:
        """Send ``message`` (segments ending in CR) to ``host:port`` and wait for the ACK
        whose MSA-2 is ``control_id``; what came of it."""
        link = self._link(host, port)
        async with link.lock:
            started = time.monotonic()
            outcome, error, answered = await self._attempt(link, message, control_id)
            duration_ms = round((time.monotonic() - started) * 1000)
            if answered:
                _answering(link)
                if outcome is not feeds.Outcome.DELIVERED:
                    log.warning(
                        "HL7 %s answered %s: %s (%s)", link.where, control_id, error, outcome
                    )
            else:
                _unreachable(link, error)
        return feeds.AttemptResult(outcome, duration_ms, None, error[:MAX_ERROR_CHARS])

    async def _attempt(
        self, link: _Link, message: str, control_id: str
    ) -> tuple[feeds.Outcome, str, bool]:
        """The outcome, its words, and whether the HIS answered (an ACK, any code)."""
        where = link.where
        phase = "connecting"
        try:
            async with asyncio.timeout(self.timeout_seconds):
                reader, writer = link.reader, link.writer
                if reader is None or writer is None or not link.usable:
                    await link.forget()
                    reader, writer = await open_hl7_connection(
                        link.host, link.port, encoding=ENCODING
                    )
                    link.reader, link.writer = reader, writer
                phase = "sending"
                writer.writeblock(message.encode(ENCODING))
                await writer.drain()
                phase = "waiting for the ACK"
                while True:
                    ack = await reader.readmessage()
                    answered = field_text(ack, "MSA", 2)
                    if answered == control_id:
                        return (*outcome_of(ack), True)
                    log.warning(
                        "HL7 %s: an ACK for %r while waiting for %r: skipped",
                        where,
                        answered,
                        control_id,
                    )
        except asyncio.CancelledError:  # stopped mid-attempt: an ACK may still come on it
            link.drop()
            raise
        except TimeoutError:
            await link.forget()
            if phase == "waiting for the ACK":
                error = f"no ACK within {self.timeout_seconds:g} s from {where}"
            else:
                error = f"timed out {phase} ({where})"
        except asyncio.IncompleteReadError:
            await link.forget()
            error = f"connection closed by {where} while {phase}"
        except (InvalidBlockError, ValueError, hl7.ParseException) as err:
            await link.forget()  # the stream is out of step: start a new one
            error = f"unreadable ACK from {where}: {err}"
        except OSError as err:
            await link.forget()
            words = err.strerror or type(err).__name__
            error = f"connection to {where} failed while {phase}: {words}"
        return feeds.Outcome.RETRY, error, False

    async def close(self) -> None:
        """Close every connection (the engine stopping)."""
        for link in list(self._links.values()):
            async with link.lock:
                await link.forget()
        self._links.clear()


def _unreachable(link: _Link, error: str) -> None:
    """Log an endpoint's trouble once when it starts (then at DEBUG until it answers)."""
    if link.down_since is None:
        link.down_since = time.monotonic()
        log.warning(
            "HL7 %s not answering: %s (said once until it answers again)", link.where, error
        )
    else:
        log.debug("HL7 %s still not answering: %s", link.where, error)


def _answering(link: _Link) -> None:
    """Log once that an endpoint that was not answering answers again."""
    if link.down_since is not None:
        gone = time.monotonic() - link.down_since
        link.down_since = None
        log.info("HL7 %s answering again after %.0f s", link.where, gone)


def field_text(
    message: hl7.Message,
    segment: str,
    index: int,
    component: int = 1,
    sub: int = 1,
    *,
    nth: int = 1,
) -> str:
    """The ``nth`` ``segment``'s field component (or subcomponent) as text, unescaped (by
    ``extract_field``), "" when absent. Used for ACKs here and for the HIS's own messages
    by :mod:`.inbound`."""
    try:
        return str(message.extract_field(segment, nth, index, 1, component, sub))
    except (KeyError, IndexError):
        return ""


def outcome_of(ack: hl7.Message) -> tuple[feeds.Outcome, str]:
    """What an ACK (already matched to its message) says: the outcome and the HIS's words
    (``AE 207: Application internal error; database locked``)."""
    code = field_text(ack, "MSA", 1).upper()
    error_code, words = _error(ack)
    text = " ".join(p for p in (code, error_code) if p)
    if words:
        text += ": " + words
    if code in ACCEPTED:
        return feeds.Outcome.DELIVERED, text if (error_code or words) else ""
    if code in REJECTED and error_code in REJECT_CODES:
        return feeds.Outcome.REJECTED, text
    if code in ERROR or code in REJECTED:
        return feeds.Outcome.RETRY, text
    unknown = f"unknown acknowledgement code {code!r}"
    return feeds.Outcome.RETRY, unknown + (f": {words}" if words else "")


def _error(ack: hl7.Message) -> tuple[str, str]:
    """The first ERR's code (ERR-3, or ERR-1's fourth component as v2.4 and before put it)
    and the words: MSA-3, ERR-3's text (or ERR-1's), ERR-8 (the user message)."""
    code = field_text(ack, "ERR", 3)
    words = [field_text(ack, "MSA", 3), field_text(ack, "ERR", 3, 2)]
    if not code:  # v2.3/2.4: ERR-1 = segment^sequence^field^code&text&table
        code = field_text(ack, "ERR", 1, 4, 1)
        words.append(field_text(ack, "ERR", 1, 4, 2))
    words.append(field_text(ack, "ERR", 8))
    seen: list[str] = []
    for w in words:
        w = w.strip()
        if w and w not in seen:
            seen.append(w)
    return code, "; ".join(seen)
