"""A bank card terminal (银联 POS) on a real pseudo-terminal, for tests and the demo.

:class:`CardTerminalSimulator` speaks the frames of
:mod:`hardware.devices.serial_card_terminal`. Each money request (``SALE``, ``REVERSAL``,
``REFUND``) takes the next outcome queued with :meth:`~CardTerminalSimulator.next_answers`,
approving when none is queued:

- :class:`Approve`, :class:`Decline` (a response code and its words), :class:`Busy`;
- :class:`NoAnswer`: carried out (``done=True``) or not, and the answer never sent;
- :class:`Die`: carried out or not, then the pty closes before the answer (the terminal
  comes back with :meth:`come_back`, its memory intact).

Like a real terminal it remembers every answer by request id (a repeated request gets
the first answer and moves no money), refuses a refund beyond what is left of a charge,
and a reversal by request id of a charge it never saw gives back 0 and bars that charge
from then on. :attr:`~CardTerminalSimulator.journal` is every money movement, so a test
can check that money was never taken twice; :meth:`~CardTerminalSimulator.taken` is the
net amount.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from typing import Literal

from hardware.devices.frames import FrameDecoder, FrameError, encode_frame

from .pty_device import PtyDevice

logger = logging.getLogger(__name__)

CARD = "622848******0123"


@dataclass(frozen=True, slots=True)
class Approve:
    pass


@dataclass(frozen=True, slots=True)
class Decline:
    code: str = "51"
    reason: str = "余额不足"


@dataclass(frozen=True, slots=True)
class Busy:
    reason: str = "正在处理其他交易"


@dataclass(frozen=True, slots=True)
class NoAnswer:
    done: bool = True


@dataclass(frozen=True, slots=True)
class Die:
    done: bool = True


Outcome = Approve | Decline | Busy | NoAnswer | Die


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One money movement: ``amount`` fen taken (charge) or given back (reversal, refund)
    of the charge ``of`` (its reference)."""

    kind: Literal["charge", "reversal", "refund"]
    request_id: str
    reference: str
    amount: int
    of: str = ""


class CardTerminalSimulator(PtyDevice):
    def __init__(self, *, link: str | os.PathLike[str] | None = None, card: str = CARD):
        super().__init__(link=link)
        self.card = card
        self.journal: list[JournalEntry] = []
        self.requests: list[tuple[str, ...]] = []
        """Every frame the driver sent, in order."""
        self._answers: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._barred: set[str] = set()  # charge request ids reversed before they came
        self._outcomes: list[Outcome] = []
        self._references = itertools.count(100000000001)
        self._decoder = FrameDecoder()

    def next_answers(self, *outcomes: Outcome) -> None:
        """The outcomes of the next money requests, in order."""
        self._outcomes += outcomes

    def taken(self) -> int:
        """Fen taken from cards and not given back."""
        return sum(e.amount if e.kind == "charge" else -e.amount for e in self.journal)

    def charges(self) -> list[JournalEntry]:
        return [e for e in self.journal if e.kind == "charge"]

    # --- the pty ------------------------------------------------------------------------

    def _powered_on(self) -> None:
        self._decoder = FrameDecoder()

    def _received(self, data: bytes) -> None:
        for frame in self._decoder.feed(data):
            if isinstance(frame, FrameError):
                logger.warning("simulated card terminal got a bad frame: %s", frame.reason)
                continue
            self.requests.append(frame)
            self._request(frame)

    def _request(self, frame: tuple[str, ...]) -> None:
        kind, request_id = frame[0], frame[1] if len(frame) > 1 else ""
        if kind == "PING" and len(frame) == 2:
            self._answer(("PONG", request_id))
            return
        if request_id in self._answers:
            first_request, first_answer = self._answers[request_id]
            if first_request == frame:
                self._answer(first_answer)  # the first answer again: no money moves twice
            else:
                self._answer(("ERROR", request_id, "request id already used for another request"))
            return
        work = {
            "SALE": (3, self._sale),
            "REVERSAL": (4, self._reversal),
            "REFUND": (4, self._refund),
        }
        if kind not in work or len(frame) != work[kind][0]:
            self._answer(("ERROR", request_id, f"cannot read a {kind} of {len(frame)} fields"))
            return
        outcome = self._outcomes.pop(0) if self._outcomes else Approve()
        if isinstance(outcome, Busy):
            self._answer(("BUSY", request_id, outcome.reason))
            return
        if isinstance(outcome, Decline):
            answer: tuple[str, ...] = ("DECLINED", request_id, outcome.code, outcome.reason)
        elif isinstance(outcome, NoAnswer | Die) and not outcome.done:
            answer = ()
        else:
            answer = work[kind][1](frame)
        if answer:
            self._answers[request_id] = (frame, answer)
        if isinstance(outcome, Die):
            self.power_off()
        elif not isinstance(outcome, NoAnswer):
            self._answer(answer)

    def _answer(self, fields: tuple[str, ...]) -> None:
        self._write(encode_frame(*fields))

    # --- the money ----------------------------------------------------------------------

    def _sale(self, frame: tuple[str, ...]) -> tuple[str, ...]:
        _, request_id, amount = frame
        if not amount.isdigit() or int(amount) <= 0:
            return ("DECLINED", request_id, "13", "金额无效")
        if request_id in self._barred:
            return ("DECLINED", request_id, "R0", "该交易已冲正")
        reference = f"{next(self._references):012d}"
        self.journal.append(JournalEntry("charge", request_id, reference, int(amount)))
        return ("APPROVED", request_id, reference, amount, self.card)

    def _charge(self, reference: str, charge_id: str) -> JournalEntry | None:
        return next(
            (
                e
                for e in self.charges()
                if (reference and e.reference == reference)
                or (not reference and e.request_id == charge_id)
            ),
            None,
        )

    def _left(self, charge: JournalEntry) -> int:
        back = sum(e.amount for e in self.journal if e.of == charge.reference)
        return charge.amount - back

    def _reversal(self, frame: tuple[str, ...]) -> tuple[str, ...]:
        _, request_id, reference, charge_id = frame
        charge = self._charge(reference, charge_id)
        own = f"{next(self._references):012d}"
        if charge is None:
            if reference:
                return ("DECLINED", request_id, "25", "原交易不存在")
            self._barred.add(charge_id)  # it never came: if it comes now, it is refused
            return ("APPROVED", request_id, own, "0", "")
        amount = self._left(charge)
        if amount:
            self.journal.append(JournalEntry("reversal", request_id, own, amount, charge.reference))
        return ("APPROVED", request_id, own, str(amount), self.card)

    def _refund(self, frame: tuple[str, ...]) -> tuple[str, ...]:
        _, request_id, reference, amount = frame
        charge = self._charge(reference, "")
        if charge is None:
            return ("DECLINED", request_id, "25", "原交易不存在")
        if not amount.isdigit() or not 0 < int(amount) <= self._left(charge):
            return ("DECLINED", request_id, "61", "超出可退金额")
        own = f"{next(self._references):012d}"
        self.journal.append(JournalEntry("refund", request_id, own, int(amount), reference))
        return ("APPROVED", request_id, own, amount, self.card)
