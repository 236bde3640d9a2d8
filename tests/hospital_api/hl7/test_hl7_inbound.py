"""The HIS's window over HL7 (#13): a real MLLP client (``hl7.mllp.open_hl7_connection``)
sends SIU S14 and S15 to the engine's listener, which acts through the real core on a
SQLite file (and PostgreSQL when there is one). Check-ins, payments and cancellations
follow the booking's life, once each however often they are sent; every bad message gets
an AR or AE naming why, and the connection goes on."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path

import hl7
import pytest
from hl7.mllp import open_hl7_connection

from booking_core import bookings
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import StoreUnavailable
from booking_core.kernel.identity import new_booking_no
from hospital_api.hl7.inbound import MAX_BLOCK_BYTES, Hl7Inbound
from hospital_api.hl7.mllp import field_text
from tests.booking_core.helpers import audit_rows, events, last_event_id
from tests.support.world import first_slot, local

DAY = date(2026, 7, 11)  # the clock stands at 2026-07-10 09:00 in Beijing
CLINIC_MORNING = local(2026, 7, 11, 7, 45)  # the clinic day, before the session: check-in open


def siu(cid: str, no: str, reason: str = "checked_in", trigger: str = "S14", note: str = "") -> str:
    segments = [
        f"MSH|^~\\&|HIS|H001|GUAHAO|H001|20260711074500+0800||SIU^{trigger}^SIU_S12|{cid}|P|2.5.1",
        f"SCH|{no}^HIS|{no}^GUAHAO||||{reason}^^GUAHAO",
    ]
    if note:
        segments.append(f"NTE|1||{note}")
    return "\r".join(segments) + "\r"


class Window:
    """The HIS's end of one MLLP connection."""

    def __init__(self, reader, writer) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, message: str | bytes) -> hl7.Message:
        data = message.encode("utf-8") if isinstance(message, str) else message
        self.writer.writeblock(data)
        await self.writer.drain()
        async with asyncio.timeout(5):
            return await self.reader.readmessage()


@pytest.fixture
async def listener(services):
    inbound = Hl7Inbound(services, "H001")
    await inbound.start("127.0.0.1", 0)
    try:
        yield inbound
    finally:
        await inbound.close()


@pytest.fixture
async def window(listener):
    reader, writer = await open_hl7_connection("127.0.0.1", listener.port, encoding="utf-8")
    try:
        yield Window(reader, writer)
    finally:
        writer.close()


async def two_bookings(world, code: str = "H001") -> list[str]:
    at = world.at(code)
    session = await at.basic(DAY)
    slot = await first_slot(world.services, session.id)
    out = []
    for seq in (1, 2):
        patient = await at.patient(f"患者{seq}")
        view = await at.book(slot, patient.id)
        out.append(view.booking.booking_no)
    return out


def ack(message: hl7.Message) -> tuple[str, str, str, str]:
    """MSA-1, MSA-2, ERR-3's code, ERR-5's code."""
    return (
        field_text(message, "MSA", 1),
        field_text(message, "MSA", 2),
        field_text(message, "ERR", 3),
        field_text(message, "ERR", 5),
    )


async def booking(services, no: str):
    return (await services.read(bookings.get_booking, no, SYSTEM)).booking


async def test_a_check_in_from_the_window_gives_one_queue_number(services, world, clock, window):
    first, second = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    mark = await last_event_id(services)
    answer = await window.send(siu("REG-88", first))
    assert ack(answer) == ("AA", "REG-88", "", "")
    assert field_text(answer, "MSA", 3) == "checked in, queue number 1"
    assert field_text(answer, "MSH", 9) == "ACK"
    assert field_text(answer, "MSH", 9, 2) == "S14"
    for _ in range(3):  # the HIS's resends
        again = await window.send(siu("REG-88", first))
        assert (ack(again), field_text(again, "MSA", 3)) == (
            ack(answer), "checked in, queue number 1"
        )  # fmt: skip
    done = await booking(services, first)
    assert (done.status, done.queue_no) == ("checked_in", 1)
    assert [e.topic for e in await events(services, mark)] == ["booking.checked_in"]
    audited = await audit_rows(services, first)
    assert ("system:hl7-in", "booking.checked_in") in [(r["actor"], r["action"]) for r in audited]

    second_answer = await window.send(siu("REG-89", second))
    assert (ack(second_answer), field_text(second_answer, "MSA", 3)) == (
        ("AA", "REG-89", "", ""), "checked in, queue number 2"
    )  # fmt: skip


async def test_a_resend_after_a_restart_is_taken_by_the_core_once(services, world, clock):
    """The listener's memory is gone; the control id is the check-in's reference, so the
    core answers with the same queue number and no second event."""
    [first, _] = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    mark = await last_event_id(services)
    answers = []
    for _ in range(2):
        fresh = Hl7Inbound(services, "H001")
        answers.append(await fresh.answer(b"\x0b" + siu("REG-1", first).encode() + b"\x1c\r"))
    parsed = [hl7.parse(a) for a in answers]
    assert [field_text(p, "MSA", 3) for p in parsed] == ["checked in, queue number 1"] * 2
    assert [e.topic for e in await events(services, mark)] == ["booking.checked_in"]


async def test_a_check_in_before_the_day_is_refused_then_taken_when_it_opens(
    services, world, clock, window
):
    [first, _] = await two_bookings(world)
    early = await window.send(siu("REG-5", first))
    assert ack(early) == ("AE", "REG-5", "207", "check_in_not_open")
    assert field_text(early, "MSA", 3).startswith("check_in_not_open: ")
    clock.set(CLINIC_MORNING)  # a refusal is not remembered: the same message is taken now
    taken = await window.send(siu("REG-5", first))
    assert ack(taken) == ("AA", "REG-5", "", "")


async def test_a_payment_at_the_window_is_paid_once(services, world, window):
    first, second = await two_bookings(world)
    mark = await last_event_id(services)
    note = "amount=5000;method=cash;reference=WIN-0001"
    answer = await window.send(siu("PAY-1", first, "paid", note=note))
    assert ack(answer) == ("AA", "PAY-1", "", "")
    assert field_text(answer, "MSA", 3) == "paid 5000 fen by cash"
    again = await window.send(siu("PAY-1", first, "paid", note=note))
    assert ack(again) == ack(answer)
    # another message (control id) with the same receipt: the core's reference, once
    other = await window.send(siu("PAY-2", first, "paid", note=note))
    assert ack(other) == ("AA", "PAY-2", "", "")
    paid = await booking(services, first)
    assert (paid.status, paid.paid) == ("confirmed", 5000)
    assert [e.topic for e in await events(services, mark)] == ["booking.paid"]

    wrong = await window.send(siu("PAY-3", second, "paid", note="method=card;amount=4999"))
    assert ack(wrong) == ("AE", "PAY-3", "207", "invalid_input")
    assert "5000 fen are due" in field_text(wrong, "MSA", 3)
    reused = await window.send(siu("PAY-4", second, "paid", note=note))  # WIN-0001 again
    assert ack(reused) == ("AE", "PAY-4", "205", "idempotency_key_reused")
    by_card = await window.send(siu("PAY-5", second, "paid", note="method=card;amount=5000"))
    assert ack(by_card) == ("AA", "PAY-5", "", "")  # its reference: the control id
    assert (await booking(services, second)).paid == 5000


async def test_a_cancellation_at_the_window_cancels_as_the_hospital(services, world, window):
    [first, _] = await two_bookings(world)
    mark = await last_event_id(services)
    answer = await window.send(siu("CX-1", first, "", trigger="S15"))
    assert (ack(answer), field_text(answer, "MSA", 3)) == (("AA", "CX-1", "", ""), "cancelled")
    assert ack(await window.send(siu("CX-1", first, "", trigger="S15"))) == ack(answer)
    later = await window.send(siu("CX-2", first, "", trigger="S15"))
    assert (ack(later), field_text(later, "MSA", 3)) == (
        ("AA", "CX-2", "", ""), "cancelled already"
    )  # fmt: skip
    cancelled = [e for e in await events(services, mark) if e.topic == "booking.cancelled"]
    assert len(cancelled) == 1
    assert cancelled[0].payload["reason"] == "hospital"
    assert (await booking(services, first)).status == "cancelled"


async def test_an_unknown_or_another_hospitals_booking_is_not_found(services, world, window):
    await two_bookings(world)
    [theirs, _] = await two_bookings(world, "H002")
    unknown = new_booking_no()
    for cid, no in (("X-1", unknown), ("X-2", theirs)):
        answer = await window.send(siu(cid, no, trigger="S15"))
        assert ack(answer) == ("AE", cid, "204", "not_found")
        assert field_text(answer, "MSA", 3) == f"not_found: No booking {no}."
    assert (await booking(services, theirs)).status == "confirmed"


BAD = [
    (b"hello, world", "AR", "100"),
    (b"\xff\xfe MSH|^~\\&", "AR", "102"),  # not UTF-8
    (b"PID|1||123", "AR", "100"),
    (b"MSH|^~\\&|HIS|H001|GUAHAO|H001|20260711||ADT^A01|A-1|P|2.5.1\r", "AR", "200"),
    (siu("S12-1", "123456786", trigger="S12").encode(), "AR", "201"),
    (siu("", "123456786").encode(), "AR", "101"),
    (siu("N-1", "").encode(), "AR", "101"),
    (siu("N-2", "123456789").encode(), "AR", "102"),  # a wrong check digit
    (siu("N-3", "１２３４５６７８６").encode(), "AR", "102"),  # not ASCII digits
    (siu("N-4", "123456786", "").encode(), "AR", "101"),
    (siu("N-5", "123456786", "arrived").encode(), "AR", "102"),
    (siu("N-6", "123456786", "paid").encode(), "AR", "101"),  # no NTE
    (siu("N-7", "123456786", "paid", note="method=cash").encode(), "AR", "101"),
    (siu("N-8", "123456786", "paid", note="amount=5000;method=cheque").encode(), "AR", "102"),
    (siu("N-9", "123456786", "paid", note="amount=50.00;method=cash").encode(), "AR", "102"),
    (siu("N-10", "123456786" + "9" * 70_000).encode(), "AR", "102"),  # over the block limit
    (siu("N-11", "1" * 20_000).encode(), "AR", "102"),  # a huge field under it
    (siu("N" * 101, "123456786").encode(), "AR", "102"),
]


async def test_a_bad_message_is_refused_and_the_connection_goes_on(services, world, clock, window):
    [first, _] = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    assert len(BAD[-3][0]) > MAX_BLOCK_BYTES
    for raw, code, error in BAD:
        answer = await window.send(raw)
        got = (field_text(answer, "MSA", 1), field_text(answer, "ERR", 3))
        assert got == (code, error), raw[:80]
        assert field_text(answer, "ERR", 8)  # the words why
    taken = await window.send(siu("REG-1", first))
    assert ack(taken) == ("AA", "REG-1", "", "")


async def test_noise_between_blocks_is_dropped(services, world, clock, window):
    [first, _] = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    window.writer.write(b"\r\n\x00noise")  # not framed: read with the next block
    assert ack(await window.send(siu("REG-1", first))) == ("AA", "REG-1", "", "")


async def test_a_control_id_reused_for_another_message_is_refused(services, world, clock, window):
    first, second = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    assert ack(await window.send(siu("REG-1", first))) == ("AA", "REG-1", "", "")
    reused = await window.send(siu("REG-1", second, trigger="S15"))
    assert (field_text(reused, "MSA", 1), field_text(reused, "ERR", 3)) == ("AR", "205")
    assert (await booking(services, second)).status == "confirmed"


async def test_a_peer_outside_the_allowed_networks_is_refused(services, world, caplog):
    await two_bookings(world)
    inbound = Hl7Inbound(services, "H001", ("10.20.0.0/16", "::1/128"))
    await inbound.start("127.0.0.1", 0)
    try:
        with caplog.at_level(logging.WARNING, "hospital_api.hl7.inbound"):
            for _ in range(2):
                reader, writer = await open_hl7_connection("127.0.0.1", inbound.port)
                writer.writeblock(siu("REG-1", "123456786").encode())
                with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
                    async with asyncio.timeout(5):
                        await reader.readmessage()
                writer.close()
        refused = [r for r in caplog.records if "refused, outside hl7_listen_peers" in r.message]
        assert len(refused) == 1
        assert "127.0.0.1" in refused[0].message
    finally:
        await inbound.close()
    assert inbound.allowed("10.20.3.4")
    assert inbound.allowed("::ffff:10.20.3.4")
    assert not inbound.allowed("10.21.0.1")
    assert not inbound.allowed("not an address")


def doc_examples() -> dict[str, str]:
    """docs/hl7.md's examples of the HIS's messages, by their comment's name."""
    doc = (Path(__file__).parents[3] / "docs" / "hl7.md").read_text(encoding="utf-8")
    found = {}
    for part in doc.split("<!-- example: ")[1:]:
        name, rest = part.split(" -->", 1)
        if name.endswith("from the HIS, kept true by tests/hospital_api/hl7/test_hl7_inbound.py"):
            block = rest.split("```hl7\n", 1)[1].split("```", 1)[0]
            found[name.split(" from the HIS")[0]] = block.replace("\n", "\r")
    return found


async def test_the_examples_in_the_docs_are_taken(services, world, clock, window):
    examples = doc_examples()
    assert set(examples) == {"S14 checked_in", "S14 paid", "S15"}
    first, second = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    paid = await window.send(examples["S14 paid"].replace("123456786", first))
    assert ack(paid) == ("AA", "PAY-20260711-0007", "", "")
    checked = await window.send(examples["S14 checked_in"].replace("123456786", first))
    assert ack(checked) == ("AA", "REG-20260711-0088", "", "")
    cancelled = await window.send(examples["S15"].replace("123456786", second))
    assert ack(cancelled) == ("AA", "CX-20260710-0003", "", "")
    done = await booking(services, first)
    assert (done.status, done.paid, done.queue_no) == ("checked_in", 5000, 1)
    assert (await booking(services, second)).status == "cancelled"


async def test_one_check_in_sent_on_eight_connections_at_once_is_done_once(
    services, world, clock, listener
):
    [first, _] = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    mark = await last_event_id(services)
    windows = []
    for _ in range(8):
        reader, writer = await open_hl7_connection("127.0.0.1", listener.port, encoding="utf-8")
        windows.append(Window(reader, writer))
    try:
        answers = await asyncio.gather(*(w.send(siu("REG-7", first)) for w in windows))
    finally:
        for w in windows:
            w.writer.close()
    assert {(ack(a), field_text(a, "MSA", 3)) for a in answers} == {
        (("AA", "REG-7", "", ""), "checked in, queue number 1")
    }
    assert [e.topic for e in await events(services, mark)] == ["booking.checked_in"]


class SlowCore:
    """The services, whose commands wait until released."""

    def __init__(self, services) -> None:
        self.services = services
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, command):
        self.entered.set()
        await self.release.wait()
        return await self.services.handle(command)

    async def read(self, *args):
        return await self.services.read(*args)


async def test_closing_lets_a_message_being_acted_on_finish(services, world, clock):
    [first, _] = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    slow = SlowCore(services)
    inbound = Hl7Inbound(slow, "H001")  # type: ignore[arg-type]
    await inbound.start("127.0.0.1", 0)
    _, writer = await open_hl7_connection("127.0.0.1", inbound.port, encoding="utf-8")
    writer.writeblock(siu("REG-9", first).encode())
    await writer.drain()
    async with asyncio.timeout(5):
        await slow.entered.wait()  # the message is with the core
    closing = asyncio.create_task(inbound.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # it waits for the core's answer
    slow.release.set()
    await closing
    writer.close()
    assert (await booking(services, first)).status == "checked_in"


class FailingCore(SlowCore):
    """The services, whose next commands raise what ``failures`` holds, then work."""

    def __init__(self, services, *failures: Exception) -> None:
        super().__init__(services)
        self.failures = list(failures)
        self.release.set()

    async def handle(self, command):
        if self.failures:
            raise self.failures.pop(0)
        return await super().handle(command)


async def test_the_engines_trouble_is_an_ae_and_the_resend_is_done(services, world, clock):
    [first, _] = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    core = FailingCore(services, StoreUnavailable(reason="disk full"), RuntimeError("a bug"))
    inbound = Hl7Inbound(core, "H001")  # type: ignore[arg-type]
    await inbound.start("127.0.0.1", 0)
    reader, writer = await open_hl7_connection("127.0.0.1", inbound.port, encoding="utf-8")
    window = Window(reader, writer)
    try:
        down = await window.send(siu("REG-3", first))
        assert ack(down) == ("AE", "REG-3", "207", "store_unavailable")
        assert "send it again" in field_text(down, "MSA", 3)
        bug = await window.send(siu("REG-3", first))  # not remembered: tried again
        assert ack(bug) == ("AE", "REG-3", "207", "")
        done = await window.send(siu("REG-3", first))  # the same connection goes on
        assert ack(done) == ("AA", "REG-3", "", "")
    finally:
        writer.close()
        await inbound.close()
    assert (await booking(services, first)).queue_no == 1


async def test_nothing_personal_is_logged(services, world, clock, window, caplog):
    [first, _] = await two_bookings(world)
    clock.set(CLINIC_MORNING)
    pid = "PID|1||110105198001010016^^^CHN^NNCHN||张三||||||||13812345678"
    with caplog.at_level(logging.DEBUG):
        for no in ("110105198", first):  # refused (no check digit), then taken
            message = siu(f"P-{no}", no).replace("\rSCH", f"\r{pid}\rSCH")
            await window.send(message)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HL7 in" in logged
    assert "110105198001010016" not in logged
    assert "13812345678" not in logged
    assert "张三" not in logged
