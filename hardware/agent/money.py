"""Money jobs at the card terminal (银联 POS): ``charge``, ``reversal`` (冲正), ``refund`` (退货).

Every terminal request id is in the journal before the request goes to the terminal, and
the terminal answers a repeated id with its first answer, so:

- a charge resumed after a crash repeats its request id: the terminal answers what it
  answered the first time (or, if the request never reached it, takes it now) — never a
  second charge; a terminal still reconnecting is waited for ``REVERSAL_WAIT_SECONDS``
  first, as a reversal would wait;
- a charge whose answer never came (``DeviceTimeout``, or the terminal gone mid-request:
  ``outcome_unknown``) is reversed **by its request id** before the job is acked failed;
  the reversal's own id is journaled first. If the terminal is gone it is waited for
  ``REVERSAL_WAIT_SECONDS``; after that the job is acked with ``"reversal": "pending"``
  and :class:`ReversalSettler` sends the same reversal once the terminal is back;
- a refund or reversal job whose answer never came is acked failed with
  ``outcome_unknown`` in its detail and runs again, with the same request id, if the
  engine sends the job again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hardware import protocol
from hardware.devices import CardTerminal, DeviceConnectionError, DeviceError, PaymentDeclined
from hardware.devices.base import Sleep
from hardware.devices.ticket import fen_to_yuan

from . import payloads
from .journal import Journal, Reversal
from .kiosk_devices import KioskDevices
from .screen import DEVICE_WORDS, View
from .work import Outcome, Run

logger = logging.getLogger("hardware.agent.money")

KINDS = frozenset({"charge", "reversal", "refund"})
REVERSAL_WAIT_SECONDS = 15.0
"""A terminal that vanished mid-charge (its USB adapter reset, a power blip) is usually back
within a reconnect or two (5 s each); the patient is still at the kiosk then. Longer, and
the job is acked with the reversal pending rather than holding every other job."""
SETTLE_INTERVAL_SECONDS = 60.0
"""Pending reversals are tried again this often (and whenever the terminal comes back)."""
RESULT_SECONDS = 8.0


async def charge(run: Run) -> Outcome:
    request = payloads.parse_charge(run.job.payload)
    terminal = run.devices.terminal_or_fail()
    request_id, job_id = run.entry.request_id, run.job.job_id
    assert request_id is not None  # written by the runner before the handler runs
    if run.entry.reversal_id is not None:  # it stopped while reversing: finish that
        failure = run.entry.failure or {"reason": "timeout", "message": "no answer"}
        return await _failed(run, run.entry.reversal_id, failure)
    if run.resumed and run.job.expired(run.now()):
        return await _reverse(run, protocol.EXPIRED, "expired while the kiosk was stopped")
    amount = f"￥{fen_to_yuan(request.amount)}"
    run.screen.show(View("请在刷卡机上刷卡或插卡付款", (f"金额：{amount}",)))
    try:
        if run.resumed and not terminal.available:
            # the agent restarted and its terminal is still reconnecting: asked now, the
            # charge would find nobody and be reversed, where the terminal holds its answer
            await _ready_within(terminal, REVERSAL_WAIT_SECONDS, run.devices.sleep)
        async with run.devices.terminal_lock:
            approval = await terminal.charge(request_id, request.amount)
    except PaymentDeclined as err:
        run.screen.show(View(DEVICE_WORDS[err.code], (err.reason,)), RESULT_SECONDS)
        detail = {"answer_code": err.answer_code, "request_id": request_id}
        return Outcome(protocol.ack_failed(job_id, err.code, err.reason, detail))
    except DeviceError as err:
        if not err.outcome_unknown:  # nothing reached the bank
            run.screen.show(View(DEVICE_WORDS[err.code]), RESULT_SECONDS)
            return Outcome(protocol.ack_failed(job_id, err.code, err.reason))
        return await _reverse(run, err.code, err.reason)
    if approval.amount != request.amount:
        logger.error(
            "charge %s: asked %d fen, the terminal took %d",
            request_id,
            request.amount,
            approval.amount,
        )
    run.screen.show(View("支付成功", (f"金额：{amount}", f"卡号：{approval.card}")), RESULT_SECONDS)
    detail = {
        "terminal_ref": approval.reference,
        "amount": approval.amount,
        "card": approval.card,
        "request_id": request_id,
    }
    return Outcome(protocol.ack_done(job_id, detail))


async def _reverse(run: Run, reason: str, message: str) -> Outcome:
    """The charge's outcome is unknown: reverse it by its request id (journaled first)."""
    assert run.entry.request_id is not None
    reversal_id = run.new_request_id()
    failure = {"reason": reason, "message": message}
    await run.journal.add_reversal(run.job.job_id, reversal_id, run.entry.request_id, failure)
    logger.warning(
        "charge %s of job %s: %s; reversing it by its request id",
        run.entry.request_id,
        run.job.job_id,
        message,
    )
    return await _failed(run, reversal_id, failure)


async def _failed(run: Run, reversal_id: str, failure: dict[str, str]) -> Outcome:
    reversal = await settle(run.journal, run.devices, reversal_id, wait=REVERSAL_WAIT_SECONDS)
    detail: dict[str, Any] = {"request_id": reversal.charge_request_id}
    if reversal.state == "pending":
        detail["reversal"] = "pending"
        run.reversal_pending()
    elif reversal.amount is None:
        detail["reversal"] = "refused"
    else:
        detail |= {"reversal": "done", "reversed": reversal.amount}
    words = "支付未完成，如已扣款将自动退回" if reversal.amount != 0 else "支付未完成，未扣款"
    run.screen.show(View(words, ("请到人工窗口咨询",)), RESULT_SECONDS)
    reason = failure.get("reason", "timeout")
    return Outcome(protocol.ack_failed(run.job.job_id, reason, failure.get("message", ""), detail))


async def reversal(run: Run) -> Outcome:
    reference = payloads.parse_reversal(run.job.payload)
    return await _ask(run, lambda t, rid: t.reverse(rid, reference=reference))


async def refund(run: Run) -> Outcome:
    amount, reference = payloads.parse_refund(run.job.payload)
    return await _ask(run, lambda t, rid: t.refund(rid, reference, amount))


async def _ask(run: Run, request: Any) -> Outcome:
    """A reversal or refund the engine asked for; answered by the terminal, or failed with
    ``outcome_unknown`` (run again, same request id, if the job comes again)."""
    terminal = run.devices.terminal_or_fail()
    request_id, job_id = run.entry.request_id, run.job.job_id
    try:
        async with run.devices.terminal_lock:
            approval = await request(terminal, request_id)
    except PaymentDeclined as err:
        detail = {"answer_code": err.answer_code, "request_id": request_id}
        return Outcome(protocol.ack_failed(job_id, err.code, err.reason, detail))
    except DeviceError as err:
        detail = {"request_id": request_id, "outcome_unknown": err.outcome_unknown}
        ack = protocol.ack_failed(job_id, err.code, err.reason, detail)
        return Outcome(ack, again=err.outcome_unknown)
    detail = {
        "terminal_ref": approval.reference,
        "amount": approval.amount,
        "request_id": request_id,
    }
    return Outcome(protocol.ack_done(job_id, detail))


async def settle(
    journal: Journal, devices: KioskDevices, reversal_id: str, *, wait: float = 0.0
) -> Reversal:
    """Send a pending reversal (waiting up to ``wait`` s for the terminal); the row after."""
    pending = await journal.reversal(reversal_id)
    assert pending is not None
    terminal = devices.terminal
    if pending.state == "done" or terminal is None:
        return pending
    charge_id = pending.charge_request_id
    try:
        if wait and not terminal.available:
            await _ready_within(terminal, wait, devices.sleep)
        async with devices.terminal_lock:
            approval = await terminal.reverse(reversal_id, charge_request_id=charge_id)
    except PaymentDeclined as err:
        logger.error(
            "the terminal refused reversal %s of charge %s (%s %s): check its records by hand",
            reversal_id,
            charge_id,
            err.answer_code,
            err.reason,
        )
        await journal.reversal_done(reversal_id, None, f"refused {err.answer_code}")
    except DeviceError as err:
        logger.warning(
            "reversal %s of charge %s not done yet (%s): sent again when the terminal is back",
            reversal_id,
            charge_id,
            err,
        )
        return pending
    else:
        await journal.reversal_done(reversal_id, approval.amount, approval.reference)
        logger.info("charge %s reversed: %d fen went back", charge_id, approval.amount)
    done = await journal.reversal(reversal_id)
    assert done is not None
    return done


async def _ready_within(terminal: CardTerminal, seconds: float, sleep: Sleep) -> None:
    """Wait until the terminal is back, at most ``seconds`` (of the drivers' clock)."""
    ready = asyncio.ensure_future(terminal.wait_ready())
    alarm = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait((ready, alarm), return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
        alarm.cancel()
    if not terminal.available:
        raise DeviceConnectionError("card terminal", f"not back within {seconds:g} s")


class ReversalSettler:
    """Sends pending reversals once the terminal is there: when it comes back
    (:meth:`wake`) and every ``SETTLE_INTERVAL_SECONDS``."""

    def __init__(
        self,
        journal: Journal,
        devices: KioskDevices,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._on_change = on_change
        self._journal = journal
        self._devices = devices
        self._wake = asyncio.Event()
        self.pending = 0
        """Reversals waiting for the terminal (the status shows them)."""

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            pending = await self._journal.pending_reversals()
            terminal = self._devices.terminal
            if terminal is not None and terminal.available:
                for reversal in pending:
                    await settle(self._journal, self._devices, reversal.reversal_id)
                pending = await self._journal.pending_reversals()
            if len(pending) != self.pending:
                self.pending = len(pending)
                self._on_change()  # the status shows it
            try:
                async with asyncio.timeout(SETTLE_INTERVAL_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                pass
