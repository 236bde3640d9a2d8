"""The engine's inbox in process, with fake handlers: each request answered once and within
the protocol's 5 s (busy only when nothing was done), acks and statuses in order per kiosk,
and what cannot be read logged once per kiosk and dropped, never stopping the inbox."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from booking_core.kernel.errors import StoreUnavailable
from booking_core.store.budget import current
from hardware import protocol
from hardware.hall import answers
from hardware.hall.answers import Answers
from hardware.hall.inbox import Inbox
from hardware.protocol import Ack, Request, Status
from tests.hardware.kiosk_world import KIOSK_A, KIOSK_B, eventually

ROOT = "guahao/v1/kiosk"
BUSY = {"ok": False, "code": "store_unavailable", "params": {}, "message": "系统繁忙，请稍后再试"}


def request(request_id: str = "r1", kind: str = "check_in") -> Request:
    return Request(request_id, kind, {"booking_no": "384759261"})


def fields(reply: bytes) -> dict[str, Any]:
    value = json.loads(reply)
    del value["v"], value["request_id"]
    return value


class Counting:
    """A request handler that counts its runs; ``hold`` says a change is under way (the
    core's point of no return) before it takes ``seconds``."""

    def __init__(
        self, seconds: float = 0.0, *, hold: bool = False, raises: Exception | None = None
    ):
        self.runs = 0
        self.finished = 0
        self.seconds = seconds
        self.hold = hold
        self.raises = raises

    async def __call__(self, kiosk_id: str, req: Request) -> dict[str, Any]:
        self.runs += 1
        if self.hold:
            budget = current()
            assert budget is not None
            budget.hold()
        await asyncio.sleep(self.seconds)
        if self.raises is not None:
            raise self.raises
        self.finished += 1
        return {"ok": True, "queue_no": self.runs, "kiosk": kiosk_id}


# --- answers --------------------------------------------------------------------------------


async def test_a_repeated_request_id_is_answered_as_the_first_without_running_it_again():
    handler = Counting(0.05)
    answers = Answers(handler)
    now = time.monotonic
    first, copy = await asyncio.gather(
        answers.answer(KIOSK_A, request(), now()), answers.answer(KIOSK_A, request(), now())
    )
    later = await answers.answer(KIOSK_A, request(), now())
    assert first == copy == later
    assert json.loads(first) == {
        "v": 1,
        "request_id": "r1",
        "ok": True,
        "queue_no": 1,
        "kiosk": KIOSK_A,
    }
    assert handler.runs == 1
    # another request id, or the same id from another kiosk, is another request
    await answers.answer(KIOSK_A, request("r2"), now())
    await answers.answer(KIOSK_B, request(), now())
    assert handler.runs == 3


async def test_busy_when_the_budget_runs_out_before_a_change_and_a_copy_is_told_the_same():
    handler = Counting(2.0)
    answers = Answers(handler, within_seconds=0.2)
    started = time.monotonic()
    reply = await answers.answer(KIOSK_A, request(), started)
    assert time.monotonic() - started < 1.0
    assert fields(reply) == BUSY
    assert handler.finished == 0  # cut short before it changed anything
    # the kiosk was told busy and stopped waiting: its copy must not do something unheard of
    assert await answers.answer(KIOSK_A, request(), time.monotonic()) == reply
    assert handler.runs == 1


async def test_a_change_past_its_point_of_no_return_is_answered_with_its_outcome_late():
    handler = Counting(0.5, hold=True)
    answers = Answers(handler, within_seconds=0.2)
    started = time.monotonic()
    reply = await answers.answer(KIOSK_A, request(), started)
    assert time.monotonic() - started >= 0.5
    assert fields(reply) == {"ok": True, "queue_no": 1, "kiosk": KIOSK_A}


async def test_a_request_that_waited_past_the_budget_is_answered_busy_unrun():
    handler = Counting()
    reply = await Answers(handler).answer(KIOSK_A, request(), time.monotonic() - 4.5)
    assert fields(reply) == BUSY
    assert handler.runs == 0


@pytest.mark.parametrize(
    ("raises", "code"),
    [
        (StoreUnavailable("the database is gone"), "store_unavailable"),
        (RuntimeError("a bug"), "internal_error"),
        (TimeoutError("the handler's own wait"), "internal_error"),
    ],
)
async def test_our_failures_are_answered_busy_only_when_nothing_was_done(raises, code, caplog):
    handler = Counting(raises=raises)
    reply = await Answers(handler).answer(KIOSK_A, request(), time.monotonic())
    assert fields(reply)["code"] == code
    assert fields(reply)["ok"] is False
    if code == "internal_error":
        assert fields(reply)["message"] == "系统出错，请到人工窗口办理"
        assert any(r.exc_info for r in caplog.records)  # the traceback is in the log


async def test_a_reply_body_that_cannot_be_sent_is_answered_internal_error():
    async def no_ok(kiosk_id: str, req: Request) -> dict[str, Any]:
        return {"queue_no": 12}

    async def not_json(kiosk_id: str, req: Request) -> dict[str, Any]:
        return {"ok": True, "at": object()}

    for handler in (no_ok, not_json):
        reply = await Answers(handler).answer(KIOSK_A, request(), time.monotonic())
        assert fields(reply)["code"] == "internal_error"


async def test_a_reply_is_kept_a_minute_and_the_oldest_go_first_beyond_the_most():
    now = [1000.0]
    handler = Counting()
    answers = Answers(handler, clock=lambda: now[0], most_kept=3)
    await answers.answer(KIOSK_A, request("r1"), now[0])
    now[0] += 59
    await answers.answer(KIOSK_A, request("r1"), now[0])
    assert handler.runs == 1
    now[0] += 2  # 61 s after it was answered
    await answers.answer(KIOSK_A, request("r1"), now[0])
    assert handler.runs == 2
    for rid in ("r2", "r3", "r4", "r5"):
        await answers.answer(KIOSK_A, request(rid), now[0])
    await answers.answer(KIOSK_A, request("r5"), now[0])
    assert handler.runs == 6
    await answers.answer(KIOSK_A, request("r1"), now[0])  # forgotten: the oldest of 5 > 3
    assert handler.runs == 7


# --- the inbox ------------------------------------------------------------------------------


class Handlers:
    def __init__(self) -> None:
        self.acks: list[tuple[str, Ack]] = []
        self.statuses: list[tuple[str, Status]] = []
        self.requests: list[tuple[str, Request]] = []
        self.replies: list[tuple[str, dict[str, Any]]] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.running: set[str] = set()
        self.overlapped = False
        self.fail_on: str | None = None

    async def on_request(self, kiosk_id: str, req: Request) -> dict[str, Any]:
        self.requests.append((kiosk_id, req))
        return {"ok": True, "kind": req.kind}

    async def on_ack(self, kiosk_id: str, ack: Ack) -> None:
        if ack.job_id == self.fail_on:
            raise RuntimeError("the store is in a mood")
        self.acks.append((kiosk_id, ack))

    async def on_status(self, kiosk_id: str, status: Status) -> None:
        self.overlapped |= kiosk_id in self.running
        self.running.add(kiosk_id)
        try:
            gate = self.gates.get(kiosk_id)
            if gate is not None:
                await gate.wait()
            self.statuses.append((kiosk_id, status))
        finally:
            self.running.discard(kiosk_id)

    async def reply(self, kiosk_id: str, data: bytes) -> None:
        self.replies.append((kiosk_id, json.loads(data)))


def inbox_for(handlers: Handlers) -> Inbox:
    return Inbox(handlers, handlers.reply)


def status(n: int) -> bytes:
    return protocol.dump({"v": 1, "online": n % 2 == 0, "reason": str(n)})


async def test_the_reply_to_a_request_goes_to_the_kiosk_that_asked():
    handlers = Handlers()
    inbox = inbox_for(handlers)
    inbox.take(f"{ROOT}/{KIOSK_B}/requests", protocol.dump(protocol.request("r7", "swipe")))
    await eventually(lambda: handlers.replies, 3)
    assert handlers.replies == [
        (KIOSK_B, {"v": 1, "request_id": "r7", "ok": True, "kind": "swipe"})
    ]
    await inbox.close()


async def test_a_kiosk_s_statuses_are_handled_one_at_a_time_in_order_and_kiosks_side_by_side():
    handlers = Handlers()
    handlers.gates[KIOSK_A] = asyncio.Event()
    inbox = inbox_for(handlers)
    for n in range(5):
        inbox.take(f"{ROOT}/{KIOSK_A}/status", status(n))
    inbox.take(f"{ROOT}/{KIOSK_B}/status", status(9))
    await eventually(lambda: handlers.statuses, 3)  # B is not held up behind A
    assert handlers.statuses == [(KIOSK_B, Status(False, reason="9"))]
    handlers.gates[KIOSK_A].set()
    await eventually(lambda: len(handlers.statuses) == 6, 3)
    assert [s.reason for k, s in handlers.statuses if k == KIOSK_A] == ["0", "1", "2", "3", "4"]
    assert not handlers.overlapped
    await inbox.close()


GARBAGE = [
    ("requests", b"\xff\xfe"),
    ("requests", b'{"v": 2, "request_id": "r1", "kind": "swipe"}'),
    ("acks", b"[1, 2]"),
    ("acks", b'{"v": 1, "outcome": "done"}'),
    ("status", b'"online"'),
    ("status", b'{"v": 1, "online": "very"}'),
]


async def test_what_cannot_be_read_is_logged_once_per_kiosk_and_dropped(caplog):
    handlers = Handlers()
    inbox = inbox_for(handlers)
    with caplog.at_level(logging.DEBUG, logger="hardware.hall.inbox"):
        for leaf, data in GARBAGE * 3:
            inbox.take(f"{ROOT}/{KIOSK_A}/{leaf}", data)
        inbox.take(f"{ROOT}/{KIOSK_B}/acks", b"not json")
        inbox.take(f"{ROOT}/{KIOSK_A}/acks", protocol.dump(protocol.ack_done("J1")))
        inbox.take(f"{ROOT}/{KIOSK_A}/requests", protocol.dump(protocol.request("r2", "swipe")))
        await eventually(lambda: handlers.acks and handlers.replies, 3)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(r.args[0] for r in warnings) == [KIOSK_A, KIOSK_B]  # once per kiosk
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == len(GARBAGE) * 3 - 1
    assert handlers.acks == [(KIOSK_A, Ack("J1", "done"))]  # the inbox went on
    assert [(k, r.request_id) for k, r in handlers.requests] == [(KIOSK_A, "r2")]
    assert handlers.statuses == []
    await inbox.close()


async def test_an_ack_that_cannot_be_read_but_names_its_job_is_recorded_as_failed(caplog):
    handlers = Handlers()
    inbox = inbox_for(handlers)
    inbox.take(f"{ROOT}/{KIOSK_A}/acks", b'{"v": 3, "job_id": "J42", "outcome": "done"}')
    await eventually(lambda: handlers.acks, 3)
    [(kiosk, ack)] = handlers.acks
    assert (kiosk, ack.job_id, ack.outcome, ack.reason, ack.bad) == (
        KIOSK_A,
        "J42",
        "failed",
        "bad_payload",
        True,
    )
    assert "job J42 failed bad_payload" in caplog.text
    await inbox.close()


async def test_a_message_on_another_topic_is_dropped(caplog):
    handlers = Handlers()
    inbox = inbox_for(handlers)
    for topic in (f"{ROOT}/{KIOSK_A}/jobs", f"{ROOT}/nobody/acks", "elsewhere"):
        inbox.take(topic, protocol.dump(protocol.ack_done("J1")))
    await asyncio.sleep(0.05)
    assert handlers.acks == []
    assert caplog.text.count("none of the kiosks' topics") == 3
    await inbox.close()


async def test_a_handler_that_raises_is_logged_and_the_next_message_goes_on(caplog):
    handlers = Handlers()
    handlers.fail_on = "J1"
    inbox = inbox_for(handlers)
    for job_id in ("J1", "J2"):
        inbox.take(f"{ROOT}/{KIOSK_A}/acks", protocol.dump(protocol.ack_done(job_id)))
    await eventually(lambda: handlers.acks, 3)
    assert [a.job_id for _, a in handlers.acks] == ["J2"]
    assert "the acks handler failed on kiosk k0000000a's message" in caplog.text
    await inbox.close()


async def test_closing_lets_a_request_being_answered_finish_and_its_reply_go_out():
    handlers = Handlers()
    slow = Counting(0.3)
    inbox = Inbox(handlers, handlers.reply, answers=Answers(slow))
    inbox.take(f"{ROOT}/{KIOSK_A}/requests", protocol.dump(protocol.request("r1", "pay")))
    await asyncio.sleep(0.05)
    await inbox.close()
    assert [(k, r["queue_no"]) for k, r in handlers.replies] == [(KIOSK_A, 1)]


def test_the_protocol_says_what_the_engine_answers_when_it_cannot():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "kiosk-protocol.md").read_text()
    section = docs.split("What the engine promises about a reply:")[1].split("## Jobs")[0]
    words = " ".join(section.split())
    assert f'"code": "{answers.BUSY}"' in words
    assert f'("{answers.BUSY_MESSAGE}")' in words
    assert f'`"code": "{answers.INTERNAL_ERROR}"` ("{answers.INTERNAL_ERROR_MESSAGE}")' in words
    assert f"{answers.ANSWER_WITHIN_SECONDS:g} s of the kiosk's 5" in words
    assert "reply it sent for a minute" in words
    assert answers.REPLIES_KEPT_SECONDS == 60
