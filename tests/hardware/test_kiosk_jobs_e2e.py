"""``guahao-kiosk run`` end to end: a real broker, the agent as a process, simulators on
ptys, and a fake engine publishing jobs as the real one will."""

from __future__ import annotations

import asyncio

import pytest

from hardware.devices.ticket import ticket_from_printout
from tests.hardware.kiosk_world import TICKET, KioskWorld, eventually

pytestmark = pytest.mark.slow


async def test_a_job_delivered_twice_prints_one_ticket_and_is_acked_alike(kiosk: KioskWorld):
    engine = kiosk.engine
    job_id = await engine.job("print_ticket", TICKET)
    await engine.job("print_ticket", TICKET, job_id=job_id)  # the broker delivers it again
    first = await engine.ack(job_id)
    assert first["outcome"] == "done"
    await engine.job("print_ticket", TICKET, job_id=job_id)  # the engine re-sends it later
    await eventually(lambda: len(engine.acks(job_id)) >= 2, what="the ack again")
    assert all(ack == first for ack in engine.acks(job_id))
    assert len(kiosk.printer.printed) == 1
    ticket = ticket_from_printout(kiosk.printer.printed[0])
    assert (ticket.queue_no, ticket.booking_no, ticket.masked_name) == (12, "384759261", "李*")
    assert "job " + job_id + " came again" in kiosk.agent.log()


async def test_a_broker_restart_mid_job_prints_once_and_acks_after_the_reconnect(
    kiosk: KioskWorld,
):
    engine, printer = kiosk.engine, kiosk.printer
    printer.hold_after_next_job = True  # the job is in hand: printed, its last status held
    job_id = await engine.job("print_ticket", TICKET)
    await eventually(lambda: printer.holding, what="the ticket on paper")
    await asyncio.to_thread(kiosk.broker.stop)
    printer.release()  # the job finishes while the broker is away
    await eventually(lambda: "job " + job_id + " (print_ticket) done" in kiosk.agent.log())
    await asyncio.sleep(1.5)  # the agent's first retries find no broker
    await asyncio.to_thread(kiosk.broker.start_again)
    ack = await engine.ack(job_id, seconds=20)
    assert ack["outcome"] == "done"
    assert [r.connection for r in engine.received if r.leaf == "acks"] == [2]  # after it
    assert len(printer.printed) == 1
    log = kiosk.agent.log()
    assert log.count("broker unavailable at") == 1  # however many retries it took
    assert log.count("broker back at") == 1
    await kiosk.ready()  # and the status says online again


async def test_paper_out_fails_the_job_and_the_status_says_so_until_paper_is_back(
    kiosk: KioskWorld,
):
    engine, printer = kiosk.engine, kiosk.printer
    printer.paper_out = True
    job_id = await engine.job("print_ticket", TICKET)
    ack = await engine.ack(job_id)
    assert (ack["outcome"], ack["reason"]) == ("failed", "paper_out")
    await eventually(lambda: engine.device("printer") == "paper_out", what="paper_out shown")
    assert "打印机缺纸" in kiosk.screen()
    assert printer.printed == []

    printer.paper_out = False  # someone put paper in; the console re-prints
    again = await engine.job("print_ticket", TICKET)
    assert (await engine.ack(again))["outcome"] == "done"
    await eventually(lambda: engine.device("printer") == "ok", what="the printer ok again")
    assert len(printer.printed) == 1


async def test_garbage_on_the_jobs_topic_is_logged_once_acked_where_it_can_and_survived(
    kiosk: KioskWorld,
):
    engine = kiosk.engine
    for payload in (b"\xff\xfe{not json", b"nor this", b"[1, 2]", b'"a string"'):
        await engine.publish("k0000000a", "jobs", payload)
    await engine.publish("k0000000a", "jobs", {"v": 2, "job_id": "J-v2", "kind": "print_ticket"})
    await engine.publish("k0000000a", "jobs", {"v": "1", "job_id": "J-v-text"})
    await engine.publish("k0000000a", "jobs", {"v": 1, "job_id": "J-no-kind"})
    await engine.publish("k0000000a", "jobs", {"v": 1, "kind": "print_ticket"})  # no id
    await engine.job("dance", {}, job_id="J-unknown")
    await engine.job("print_ticket", TICKET | {"queue_no": "12"}, job_id="J-bad-ticket")
    await engine.job("print_ticket", TICKET | {"room": "312\x1b@"}, job_id="J-escape")
    await engine.job("charge", {"amount": -5, "purpose": "booking"}, job_id="J-bad-charge")
    good = await engine.job("print_ticket", TICKET)
    assert (await engine.ack(good))["outcome"] == "done"  # after all of it, in order

    reasons = {ack["job_id"]: ack["reason"] for ack in engine.of("acks") if ack["job_id"] != good}
    assert reasons == {
        "J-v2": "bad_payload",
        "J-v-text": "bad_payload",
        "J-no-kind": "bad_payload",
        "J-unknown": "unknown_kind",
        "J-bad-ticket": "bad_payload",
        "J-escape": "bad_payload",
        "J-bad-charge": "bad_payload",
    }
    assert len(kiosk.printer.printed) == 1
    assert kiosk.terminal.requests == [r for r in kiosk.terminal.requests if r[0] == "PING"]
    log = kiosk.agent.log()
    assert log.count("a job that is not JSON") == 1  # two of them, logged once
    assert log.count("a job that is not a JSON object") == 1
    assert log.count("a job that is an unknown version") == 1
    assert kiosk.agent.alive


async def test_a_printer_unplugged_mid_job_fails_it_and_is_used_again_once_back(
    kiosk: KioskWorld,
):
    engine, printer = kiosk.engine, kiosk.printer
    printer.vanish_after(300)  # the pty closes part-way through the ticket
    job_id = await engine.job("print_ticket", TICKET)
    ack = await engine.ack(job_id)
    assert (ack["outcome"], ack["reason"]) == ("failed", "unavailable")
    await eventually(lambda: engine.device("printer") == "unavailable", what="shown as gone")
    assert printer.printed == []

    await printer.come_back()
    await eventually(lambda: engine.device("printer") == "ok", what="the printer back")
    again = await engine.job("print_ticket", TICKET)
    assert (await engine.ack(again))["outcome"] == "done"
    assert len(printer.printed) == 1
    log = kiosk.agent.log()
    assert log.count("printer unavailable on") == 1  # however many tries it took
    assert log.count("printer ready on") == 2  # at start, and once back
    assert kiosk.agent.alive


async def test_jobs_run_one_at_a_time_in_the_order_they_came(kiosk: KioskWorld):
    engine = kiosk.engine
    job_ids = [await engine.job("print_ticket", TICKET | {"queue_no": n}) for n in (31, 32, 33)]
    for job_id in job_ids:
        await engine.ack(job_id)
    printed = [ticket_from_printout(p).queue_no for p in kiosk.printer.printed]
    assert printed == [31, 32, 33]
    acked = [ack["job_id"] for ack in engine.of("acks")]
    assert acked == job_ids
