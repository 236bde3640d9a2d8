"""The engine's kiosk door in process, on both stores: each protocol request run against the
core as the kiosk, refusals with the screen's words, acks and statuses recorded; the
``kiosk`` outbox consumer publishing jobs (a fake link), the re-send sweep, the refund of a
cancelled card payment and the broker's files kept in step with the registry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from booking_core import bookings, kiosks, payments
from booking_core.bus import BookingServices, bootstrap
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.clock import FrozenClock
from booking_core.kernel.errors import ALL_ERRORS, BookingError, StoreUnavailable
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from hardware import protocol
from hardware.hall import background, sending, wording
from hardware.hall.link import NoSubscriber, NotConnected
from hardware.hall.mosquitto import BrokerFiles, EngineAccount, password_matches
from hardware.hall.requests import KioskDoor
from hardware.hall.sending import BrokerSync, JobSender
from hardware.protocol import Ack, Request, Status
from tests.booking_core.kiosks.hall import FEE, HASH, TODAY, TOMORROW, Hall, hall, jobs
from tests.support.fixtures import TEST_PII_KEY
from tests.support.world import local


@pytest.fixture
def clock() -> FrozenClock:
    """The core's clock (this module's tests move store time, not device time)."""
    return FrozenClock(local(2026, 7, 10, 9, 0))


@pytest.fixture
async def services(db_url: str, clock: FrozenClock) -> AsyncIterator[BookingServices]:
    """The core with the kiosks' outbox consumer configured, as the engine runs it."""
    store = make_store(db_url, clock, outbox_consumers=[kiosks.OUTBOX_CONSUMER])
    await store.open()
    try:
        yield bootstrap(store, Cipher.from_base64(TEST_PII_KEY))
    finally:
        await store.close()


class FakeLink:
    """What the sender publishes through: records each job, or raises what it is told."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.fail: Exception | None = None

    async def publish_job(self, kiosk_id: str, job: Any) -> None:
        if self.fail is not None:
            raise self.fail
        read = protocol.read_job(protocol.dump(job))
        assert isinstance(read, protocol.Job), read
        self.published.append((kiosk_id, job))

    def ids(self) -> list[str]:
        return [job["job_id"] for _, job in self.published]


async def ask(door: KioskDoor, h: Hall, kind: str, **fields: Any) -> dict[str, Any]:
    return dict(await door.on_request(h.kiosk.kiosk_id, Request("r1", kind, fields)))


async def paid_booking(h: Hall, slot_id: int | None = None) -> str:
    await h.services.handle(payments.TopUp(patient_id=h.patient.id, amount=FEE))
    booking_no = await h.book(slot_id)
    await h.services.handle(bookings.PayBooking(booking_no=booking_no, method="balance"))
    return booking_no


# --- the wording --------------------------------------------------------------------------


def test_every_core_error_and_door_code_has_words_for_the_screen():
    codes = {error.code for error in ALL_ERRORS} | set(wording.DOOR_CODES)
    missing = sorted(code for code in codes if not wording.WORDS.get(code))
    assert missing == []
    assert all(words.strip() and words.isprintable() for words in wording.WORDS.values())


def test_refinements_name_what_was_not_found_and_times_are_hospital_local():
    assert wording.message("not_found", {"entity": "booking"}) == "未找到该预约，请核对预约号"
    assert wording.message("not_found", {"entity": "teapot"}) == wording.WORDS["not_found"]
    opens = local(2026, 7, 10, 13, 30).astimezone(local(2026, 7, 10).tzinfo)
    assert "07月10日 13:30" in wording.message("check_in_not_open", {"opens_at": opens})


# --- requests -------------------------------------------------------------------------------


async def test_a_swipe_answers_the_patient_masked_and_today_s_bookings(services):
    h = await hall(services)
    booking_no = await paid_booking(h)
    door = KioskDoor(services)
    reply = await ask(door, h, "swipe", card={"type": "patient_card", "card_no": h.patient.card_no})
    assert reply["ok"] is True
    assert reply["patient"] == {"masked_name": "李*", "card_no": h.patient.card_no}
    assert [(b["booking_no"], b["status"], b["paid"]) for b in reply["bookings"]] == [
        (booking_no, "confirmed", True)
    ]
    by_id = await ask(
        door, h, "swipe", card={"type": "id_card", "name": "李四", "id_number": h.id_number}
    )
    assert by_id["bookings"] == reply["bookings"]
    wrong = await ask(
        door, h, "swipe", card={"type": "id_card", "name": "王五", "id_number": h.id_number}
    )
    assert (wrong["ok"], wrong["code"], wrong["message"]) == (
        False,
        "not_found",
        wording.NOT_FOUND["patient"],
    )
    assert h.id_number not in str(wrong)  # the number is never echoed


async def test_a_check_in_answers_the_queue_number_and_queues_the_ticket(services):
    h = await hall(services)
    booking_no = await paid_booking(h)
    reply = await ask(KioskDoor(services), h, "check_in", booking_no=booking_no)
    assert (reply["ok"], reply["queue_no"]) == (True, 1)
    [job] = await jobs(services, kind="print_ticket")
    assert (job.job_id, job.booking_no, job.status) == (reply["job_id"], booking_no, "queued")


async def test_a_ticket_the_printer_never_gave_is_printed_again_when_the_patient_asks(services):
    """Paper ran out: the swipe says the checked-in booking's ticket was not printed and the
    kiosk asks ``reprint``; the door makes a new print job at this kiosk. A booking not
    checked in is refused with the screen's words; a missing booking number is bad."""
    h = await hall(services)
    door = KioskDoor(services)
    booking_no = await paid_booking(h)
    first = await ask(door, h, "check_in", booking_no=booking_no)
    await door.on_ack(h.kiosk.kiosk_id, Ack(first["job_id"], "failed", "paper_out"))
    swiped = await ask(
        door, h, "swipe", card={"type": "patient_card", "card_no": h.patient.card_no}
    )
    assert [(b["status"], b["ticket_printed"]) for b in swiped["bookings"]] == [
        ("checked_in", False)
    ]
    again = await ask(door, h, "reprint", booking_no=booking_no)
    assert again["ok"] is True, again
    assert again["job_id"] != first["job_id"]
    printing = [j for j in await jobs(services, kind="print_ticket") if j.status == "queued"]
    assert [(j.job_id, j.kiosk_id, j.booking_no) for j in printing] == [
        (again["job_id"], h.kiosk.kiosk_id, booking_no)
    ]

    not_yet = await h.book(h.tomorrow[0])
    refused = await ask(door, h, "reprint", booking_no=not_yet)
    assert (refused["ok"], refused["code"]) == (False, "invalid_state")
    assert refused["message"]
    bad = await ask(door, h, "reprint")
    assert (bad["ok"], bad["code"], bad["params"]["field"]) == (False, "bad_request", "booking_no")


async def test_pay_slots_book_and_top_up_each_reach_the_core(services):
    h = await hall(services)
    door = KioskDoor(services)
    held = await h.book(h.tomorrow[0])  # booked without paying: the API's is confirmed unpaid
    slots = await ask(door, h, "slots", department="101", day=TOMORROW.isoformat())
    assert slots["ok"] is True, slots
    assert [s["slot_id"] for s in slots["slots"]] == h.tomorrow  # two places each: all free
    assert slots["slots"][0]["fee"] == FEE
    book = await ask(door, h, "book", slot_id=h.today[0], name="李四", id_number=h.id_number)
    assert book["ok"] is True, book
    assert (book["booking"]["status"], book["booking"]["queue_no"]) == ("checked_in", 1)
    assert book["registered"] is False
    [ticket] = await jobs(services, kind="print_ticket")
    assert book["ticket_job"] == ticket.job_id
    top_up = await ask(door, h, "top_up", card_no=h.patient.card_no, amount=10_000)
    assert (top_up["ok"], top_up["amount"]) == (True, 10_000)
    [charge] = await jobs(services, kind="charge")
    assert (charge.job_id, charge.purpose, charge.amount) == (top_up["job_id"], "top_up", 10_000)
    pay = await ask(door, h, "pay", booking_no=held)
    assert pay["ok"] is False  # confirmed, not held: nothing to pay at the kiosk
    assert (pay["code"], pay["message"]) == ("invalid_state", wording.WORDS["invalid_state"])


async def test_a_held_booking_is_paid_by_a_charge_job(services):
    h = await hall(services, prepay=True)
    booking_no = await h.book(h.tomorrow[0])
    reply = await ask(KioskDoor(services), h, "pay", booking_no=booking_no)
    assert (reply["ok"], reply["amount"]) == (True, FEE)
    [charge] = await jobs(services, kind="charge")
    assert charge.job_id == reply["job_id"]


@pytest.mark.parametrize(
    ("kind", "fields", "code", "field"),
    [
        ("dance", {}, "unknown_kind", None),
        ("check_in", {}, "bad_request", "booking_no"),
        ("check_in", {"booking_no": 384759261}, "bad_request", "booking_no"),
        ("check_in", {"booking_no": "9" * 5000}, "bad_request", "booking_no"),
        ("book", {"slot_id": 10**40, "name": "李四", "id_number": "x"}, "bad_request", "slot_id"),
        ("book", {"slot_id": True, "name": "李四", "id_number": "x"}, "bad_request", "slot_id"),
        ("top_up", {"card_no": "P1", "amount": 10**30}, "bad_request", "amount"),
        ("top_up", {"card_no": "P1", "amount": 12.5}, "bad_request", "amount"),
        ("swipe", {"card": "P1"}, "bad_request", "card"),
        ("swipe", {"card": {"type": "magic"}}, "bad_request", "card"),
        ("slots", {"department": "1; DROP", "day": "2026-07-11"}, "bad_request", "department"),
        ("slots", {"department": "001", "day": "tomorrow"}, "bad_request", "day"),
    ],
)
async def test_bad_input_is_refused_with_words_and_nothing_done(
    services, kind, fields, code, field
):
    h = await hall(services)
    reply = await ask(KioskDoor(services), h, kind, **fields)
    assert (reply["ok"], reply["code"]) == (False, code)
    assert reply["message"] == wording.WORDS[code]
    assert reply["params"].get("field") == field
    assert await jobs(services) == []


async def test_core_refusals_carry_code_params_and_words(services):
    h = await hall(services)
    door = KioskDoor(services)
    missing = await ask(door, h, "check_in", booking_no="000000000")
    assert (missing["code"], missing["message"]) == ("not_found", wording.NOT_FOUND["booking"])
    assert missing["params"] == {"entity": "booking", "key": "000000000"}
    too_far = await ask(
        door, h, "slots", department="101", day=(TODAY + timedelta(days=5)).isoformat()
    )
    assert too_far["code"] == "invalid_input"
    protocol.dump(protocol.reply("r1", too_far))  # every refusal is JSON the kiosk reads
    stranger = await door.on_request(
        "k99999999", Request("r2", "swipe", {"card": {"type": "patient_card", "card_no": "P1"}})
    )
    assert (stranger["code"], stranger["message"]) == ("not_found", wording.NOT_FOUND["kiosk"])
    await services.handle(kiosks.DisableKiosk(kiosk_id=h.kiosk.kiosk_id))
    disabled = await ask(door, h, "check_in", booking_no="000000000")
    assert (disabled["code"], disabled["message"]) == (
        "forbidden",
        wording.FORBIDDEN["kiosk_disabled"],
    )


# --- acks and statuses ---------------------------------------------------------------------


async def test_an_ack_is_recorded_and_another_kiosk_s_job_id_is_refused_quietly(services):
    h = await hall(services)
    booking_no = await paid_booking(h)
    door = KioskDoor(services)
    checked = await ask(door, h, "check_in", booking_no=booking_no)
    other = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H001", name="2号机", password_hash=HASH)
    )
    await door.on_ack(other.kiosk_id, Ack(checked["job_id"], "done"))  # not its job
    [job] = await jobs(services, kind="print_ticket")
    assert job.status == "queued"
    await door.on_ack(h.kiosk.kiosk_id, Ack("J-no-such-job", "done"))  # logged, no raise
    await door.on_ack(h.kiosk.kiosk_id, Ack(checked["job_id"], "done"))
    await door.on_ack(h.kiosk.kiosk_id, Ack(checked["job_id"], "failed", "paper_out"))  # repeat
    [job] = await jobs(services, kind="print_ticket")
    assert (job.status, job.reason) == ("done", "")


async def test_an_ack_with_a_huge_number_fails_its_job_bad_payload_instead_of_crashing(services):
    h = await hall(services, prepay=True)
    booking_no = await h.book(h.tomorrow[0])
    door = KioskDoor(services)
    paid = await ask(door, h, "pay", booking_no=booking_no)
    detail = {"terminal_ref": "100000000001", "amount": 10**40}
    ack = protocol.read_ack(protocol.dump(protocol.ack_done(paid["job_id"], detail)))
    assert isinstance(ack, Ack)  # read as the inbox reads it: the job failed bad_payload
    await door.on_ack(h.kiosk.kiosk_id, ack)
    job = await services.read(kiosks.kiosk_job, paid["job_id"], SYSTEM)
    assert (job.status, job.reason) == ("failed", "bad_payload")
    assert (await services.read(bookings.get_booking, booking_no, SYSTEM)).booking.status == "held"


async def test_a_kiosk_coming_online_has_its_unacked_jobs_sent_again_once(services):
    h = await hall(services)
    came: list[str] = []

    async def on_came_online(kiosk_id: str) -> None:
        came.append(kiosk_id)

    door = KioskDoor(services, on_came_online=on_came_online)
    online = Status(True, {"printer": {"state": "ok"}}, at=local(2026, 7, 10, 9, 0))
    await door.on_status(h.kiosk.kiosk_id, online)
    await door.on_status(h.kiosk.kiosk_id, online)  # the same again: not "came online"
    await door.on_status(h.kiosk.kiosk_id, Status(False, reason="lost"))
    await door.on_status("k99999999", online)  # an unknown kiosk: logged, nothing more
    assert came == [h.kiosk.kiosk_id]
    await door.on_status(h.kiosk.kiosk_id, Status(True, {"printer": {"state": "paper_out"}}))
    assert came == [h.kiosk.kiosk_id] * 2
    [overview] = await services.read(kiosks.kiosks, SYSTEM)
    assert [(d.device, d.state) for d in overview.devices] == [("printer", "paper_out")]


# --- the outbox consumer and the re-send sweep -------------------------------------------


async def test_a_queued_job_is_published_then_marked_sent_and_resent_after_30_s(services, clock):
    h = await hall(services)
    link = FakeLink()
    sender = JobSender(services, link)
    booking_no = await paid_booking(h)
    reply = await ask(KioskDoor(services), h, "check_in", booking_no=booking_no)
    assert await sender.run_once() > 0
    assert link.ids() == [reply["job_id"]]
    kiosk_id, job = link.published[0]
    assert (kiosk_id, job["kind"], job["payload"]["booking_no"]) == (
        h.kiosk.kiosk_id,
        "print_ticket",
        booking_no,
    )
    [sent] = await jobs(services, kind="print_ticket")
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert await sender.run_once() == 0  # delivered: not again

    await services.handle(kiosks.RecordKioskStatus(kiosk_id=h.kiosk.kiosk_id, online=True))
    assert await sender.resend_due() == 0  # too soon
    clock.advance(seconds=kiosks.RESEND_AFTER_SECONDS)
    assert await sender.resend_due() == 1
    assert link.ids() == [reply["job_id"]] * 2
    [again] = await jobs(services, kind="print_ticket")
    assert (again.status, again.attempts) == ("sent", 2)
    await KioskDoor(services).on_ack(h.kiosk.kiosk_id, Ack(reply["job_id"], "done"))
    clock.advance(seconds=kiosks.RESEND_AFTER_SECONDS)
    assert await sender.resend_due() == 0  # acked: never again


async def test_a_round_full_of_other_events_is_followed_at_once_by_the_next(services, monkeypatch):
    """Every event goes to every consumer: at the 07:30 rush most of what the kiosk
    consumer claims is check-ins, payments and acks. drain() claims round after round while
    they come back full, so a job behind them is not kept a poll interval per round (the
    bench measured 26 check-ins/s and 8 s to the ticket before, 294/s and 0.6 s after)."""
    monkeypatch.setattr(sending, "BATCH", 2)
    h = await hall(services)
    link = FakeLink()
    sender = JobSender(services, link)
    booking_no = await paid_booking(h)  # a top-up, a booking, a payment: events ahead
    reply = await ask(KioskDoor(services), h, "check_in", booking_no=booking_no)
    claimed = await sender.drain()
    assert claimed > 2  # more than one round
    assert link.ids() == [reply["job_id"]]
    assert await sender.drain() == 0


class GatedLink(FakeLink):
    """A link whose publishes to one kiosk wait for a gate (that kiosk's network is slow)."""

    def __init__(self, slow_kiosk: str) -> None:
        super().__init__()
        self.slow_kiosk = slow_kiosk
        self.gate = asyncio.Event()
        self.others_published = asyncio.Event()
        self.held = 0  # publishes waiting at the gate

    async def publish_job(self, kiosk_id: str, job: Any) -> None:
        if kiosk_id == self.slow_kiosk:
            self.held += 1
            await self.gate.wait()
            self.held -= 1
        await super().publish_job(kiosk_id, job)
        if kiosk_id != self.slow_kiosk:
            self.others_published.set()


async def test_a_slow_kiosk_holds_up_only_its_own_jobs_which_keep_their_order(services):
    """Within a round the kiosks' jobs are published side by side, each kiosk's in the order
    they were made: a kiosk whose PUBACKs are slow delays no other kiosk's ticket."""
    h = await hall(services)
    other = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H001", name="二楼2号机", password_hash=HASH)
    )
    booking_no = await paid_booking(h)
    first = await ask(KioskDoor(services), h, "check_in", booking_no=booking_no)
    second_patient = await h.world.patient("王五", "13900000055")
    second_no = await h.book(h.today[1], patient=second_patient)
    second = await ask(KioskDoor(services), h, "check_in", booking_no=second_no)
    elsewhere = await services.handle(
        kiosks.ReprintTicket(booking_no=booking_no, kiosk_id=other.kiosk_id)
    )
    link = GatedLink(slow_kiosk=h.kiosk.kiosk_id)
    sender = JobSender(services, link)
    round_ = asyncio.create_task(sender.run_once())
    async with asyncio.timeout(5):
        await link.others_published.wait()
    assert link.ids() == [elsewhere.job_id]
    assert not round_.done()  # the slow kiosk's first job is still waiting
    link.gate.set()
    await round_
    assert link.ids() == [elsewhere.job_id, first["job_id"], second["job_id"]]


async def test_a_re_send_and_a_round_never_interleave_one_kiosk_s_jobs(services):
    """The engine reconnects and publishes a kiosk's two unacknowledged jobs again while a
    round brings it a new one: the kiosk gets them in the order they were made (each kiosk's
    lock is held for the whole re-send, and for the whole of its part of a round)."""
    h = await hall(services)
    door = KioskDoor(services)
    first = await ask(door, h, "check_in", booking_no=await paid_booking(h))
    second_patient = await h.world.patient("王五", "13900000056")
    second = await ask(
        door, h, "check_in", booking_no=await h.book(h.today[1], patient=second_patient)
    )
    link = GatedLink(slow_kiosk=h.kiosk.kiosk_id)
    sender = JobSender(services, link)
    link.gate.set()
    await sender.run_once()
    assert link.ids() == [first["job_id"], second["job_id"]]
    await services.handle(kiosks.RecordKioskStatus(kiosk_id=h.kiosk.kiosk_id, online=True))

    link.gate.clear()
    resending = asyncio.create_task(sender.resend_open())
    async with asyncio.timeout(5):
        while not link.held:  # noqa: ASYNC110 - the first re-send is at the gate
            await asyncio.sleep(0.01)
    top_up = await services.handle(
        kiosks.TopUpAtKiosk(kiosk_id=h.kiosk.kiosk_id, card_no=h.patient.card_no, amount=10_000)
    )
    round_ = asyncio.create_task(sender.run_once())
    for _ in range(50):  # the round has read its job and is as far as it can go
        await asyncio.sleep(0.01)
    link.gate.set()
    assert await resending == 2
    await round_
    assert link.ids()[2:] == [first["job_id"], second["job_id"], top_up.job_id]


async def test_on_connecting_every_open_job_of_online_kiosks_is_published_at_once(services):
    h = await hall(services)
    link = FakeLink()
    sender = JobSender(services, link)
    booking_no = await paid_booking(h)
    reply = await ask(KioskDoor(services), h, "check_in", booking_no=booking_no)
    await sender.run_once()
    assert await sender.resend_open() == 0  # the kiosk is not online
    await services.handle(kiosks.RecordKioskStatus(kiosk_id=h.kiosk.kiosk_id, online=True))
    assert await sender.resend_open() == 1  # just sent: sent again all the same
    assert link.ids() == [reply["job_id"]] * 2
    [job] = await jobs(services, kind="print_ticket")
    assert job.attempts == 2


async def test_no_broker_leaves_the_event_undelivered_and_the_job_unsent(services, clock):
    h = await hall(services)
    link = FakeLink()
    sender = JobSender(services, link)
    booking_no = await paid_booking(h)
    await ask(KioskDoor(services), h, "check_in", booking_no=booking_no)
    link.fail = NotConnected("not connected")
    await sender.run_once()
    [job] = await jobs(services, kind="print_ticket")
    assert job.status == "queued"
    assert await sender.run_once() == 0  # waits its retry delay
    link.fail = None
    clock.advance(seconds=5)
    await sender.run_once()
    assert link.ids() == [job.job_id]
    [job] = await jobs(services, kind="print_ticket")
    assert job.status == "sent"


async def test_a_kiosk_without_a_session_gets_its_job_when_it_comes_online(services, clock):
    h = await hall(services)
    link = FakeLink()
    sender = JobSender(services, link)
    door = KioskDoor(services, on_came_online=sender.resend_kiosk)
    booking_no = await paid_booking(h)
    await ask(door, h, "check_in", booking_no=booking_no)
    link.fail = NoSubscriber("no session")
    await sender.run_once()
    [job] = await jobs(services, kind="print_ticket")
    assert (job.status, link.ids()) == ("queued", [])
    link.fail = None
    clock.advance(seconds=5)
    assert await sender.run_once() == 0  # the event is delivered: the kiosk's status brings it
    await door.on_status(h.kiosk.kiosk_id, Status(True, {}, at=local(2026, 7, 10, 9, 0)))
    assert link.ids() == [job.job_id]
    [job] = await jobs(services, kind="print_ticket")
    assert job.status == "sent"


async def test_a_job_acked_or_failed_before_its_event_is_delivered_is_not_published(services):
    h = await hall(services)
    link = FakeLink()
    booking_no = await paid_booking(h)
    await ask(KioskDoor(services), h, "check_in", booking_no=booking_no)
    await services.handle(kiosks.DisableKiosk(kiosk_id=h.kiosk.kiosk_id))  # fails it unsent
    await JobSender(services, link).run_once()
    assert link.published == []


async def test_a_cancelled_card_payment_is_refunded_at_the_kiosk_that_took_it(services):
    h = await hall(services, prepay=True)
    link = FakeLink()
    sender = JobSender(services, link)
    booking_no = await h.book(h.tomorrow[0])
    paid = await ask(KioskDoor(services), h, "pay", booking_no=booking_no)
    await sender.run_once()
    await h.charge_done(await services.read(kiosks.kiosk_job, paid["job_id"], SYSTEM))
    await services.handle(bookings.CancelBooking(booking_no=booking_no))
    await sender.run_once()
    [refund] = await jobs(services, kind="refund")
    assert (refund.amount, refund.terminal_ref, refund.kiosk_id) == (
        FEE,
        "100000000001",
        h.kiosk.kiosk_id,
    )
    await sender.run_once()  # the refund's own event: published
    assert refund.job_id in link.ids()
    assert len(await jobs(services, kind="refund")) == 1


async def test_registering_a_kiosk_writes_the_broker_files_and_disabling_removes_it(
    services, tmp_path: Path
):
    files = BrokerFiles(tmp_path / "passwd", tmp_path / "acl")
    sync = BrokerSync(services, files, EngineAccount("engine", "engine-secret"))
    sender = JobSender(services, FakeLink(), broker_sync=sync)
    await sync.sync()  # at start: the engine alone
    lines = (tmp_path / "passwd").read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["engine"]
    assert password_matches("engine-secret", lines[0].split(":", 1)[1])
    h = await hall(services)  # registers one kiosk (and makes the hospital)
    await sender.run_once()
    assert f"{h.kiosk.kiosk_id}:{HASH}" in (tmp_path / "passwd").read_text()
    assert "pattern read guahao/v1/kiosk/%u/jobs" in (tmp_path / "acl").read_text()
    await services.handle(kiosks.DisableKiosk(kiosk_id=h.kiosk.kiosk_id))
    await sender.run_once()
    assert h.kiosk.kiosk_id not in (tmp_path / "passwd").read_text()


async def test_broker_files_that_cannot_be_written_are_tried_again(services, tmp_path: Path, clock):
    files = BrokerFiles(tmp_path / "gone" / "passwd", tmp_path / "gone" / "acl")
    sender = JobSender(
        services, FakeLink(), broker_sync=BrokerSync(services, files, EngineAccount("engine", "pw"))
    )
    h = await hall(services)
    await sender.run_once()
    (tmp_path / "gone").mkdir()
    assert await sender.run_once() == 0  # waits its retry delay
    clock.advance(seconds=15)
    assert await sender.run_once() == 1
    assert h.kiosk.kiosk_id in (tmp_path / "gone" / "passwd").read_text()


class StoreAway:
    """Services whose store is unavailable for writes."""

    async def read(self, fn, *args, **kwargs):
        return kiosks.Kiosk("k0000000a", 1, "H001", "1号机", "", False, True, None, "", None)

    async def handle(self, command):
        raise StoreUnavailable("the disk is full")


async def test_a_store_away_loses_an_ack_or_status_quietly_to_be_sent_again():
    door = KioskDoor(StoreAway())
    await door.on_ack("k0000000a", Ack("J1", "done"))
    await door.on_status("k0000000a", Status(True, {}))
    with pytest.raises(StoreUnavailable):  # a request's is answered busy by Answers
        await door.on_request("k0000000a", Request("r1", "check_in", {"booking_no": "1"}))


async def test_each_connection_to_the_broker_publishes_the_open_jobs_again(monkeypatch):
    monkeypatch.setattr(background, "CONNECTION_WATCH_SECONDS", 0.01)

    class Link:
        connected = asyncio.Event()

    class Sender:
        rounds = 0

        async def resend_open(self) -> int:
            self.rounds += 1
            return 0

    link, sender = Link(), Sender()
    watching = asyncio.create_task(background._on_each_connect(link, sender))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.05)
        assert sender.rounds == 0  # not connected yet
        link.connected.set()
        await asyncio.sleep(0.05)
        assert sender.rounds == 1  # once per connection, however long it lasts
        link.connected.clear()  # the broker went
        await asyncio.sleep(0.05)
        link.connected.set()  # and came back
        await asyncio.sleep(0.05)
        assert sender.rounds == 2
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)


async def test_broker_files_not_written_at_start_are_tried_again_until_they_are(
    services, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(background, "FILES_RETRY_SECONDS", 0.01)
    h = await hall(services)
    files = BrokerFiles(tmp_path / "later" / "passwd", tmp_path / "later" / "acl")
    sync = BrokerSync(services, files, EngineAccount("engine", "pw"))
    assert await background._sync_files(sync) is False  # the folder is not there yet
    retrying = asyncio.create_task(background._sync_until_done(sync))
    await asyncio.sleep(0.05)
    assert not retrying.done()
    (tmp_path / "later").mkdir()
    async with asyncio.timeout(5):
        await retrying
    assert h.kiosk.kiosk_id in files.password_path.read_text()


async def test_an_error_s_params_named_code_or_message_stay_params():
    class Odd(BookingError):
        code = "invalid_input"

    class Refusing(StoreAway):
        async def handle(self, command):
            raise Odd(code="x", message="y")

    reply = await KioskDoor(Refusing()).on_request(
        "k0000000a", Request("r1", "check_in", {"booking_no": "1"})
    )
    assert reply == {
        "ok": False,
        "code": "invalid_input",
        "params": {"code": "x", "message": "y"},
        "message": wording.WORDS["invalid_input"],
    }
