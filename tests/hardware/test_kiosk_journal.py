"""The kiosk's job journal on a real SQLite file: what it promises survives a reopen."""

from __future__ import annotations

import asyncio
import os
import time

from hardware.agent.journal import KEEP_SECONDS, Journal
from hardware.agent.screen import TextScreen, View


async def test_a_job_is_known_once_and_kept_across_a_reopen(tmp_path):
    path = tmp_path / "journal.sqlite3"
    journal = await Journal.open(path)
    assert await journal.add("J1", b"{}")
    assert not await journal.add("J1", b"{}")  # delivered again: not queued again
    assert await journal.add("J2", b"{}")
    await journal.start("J1", "req-1")
    await journal.close()

    journal = await Journal.open(path)  # a crash, a restart
    first = await journal.next_to_run()
    assert first is not None
    assert (first.job_id, first.state, first.request_id) == ("J1", "running", "req-1")
    await journal.start("J1", "req-2")  # resumed: the request id written first is kept
    assert (await journal.get("J1")).request_id == "req-1"
    await journal.finish("J1", b'{"outcome":"done"}')
    assert (await journal.next_to_run()).job_id == "J2"
    assert await journal.unsent_acks() == [("J1", b'{"outcome":"done"}')]
    await journal.ack_sent("J1", b'{"outcome":"done"}')
    assert await journal.unsent_acks() == []
    await journal.ack_again("J1")
    assert await journal.unsent_acks() == [("J1", b'{"outcome":"done"}')]
    await journal.close()


async def test_a_reversal_is_written_with_why_its_charge_failed(tmp_path):
    journal = await Journal.open(tmp_path / "journal.sqlite3")
    await journal.add("J1", b"{}")
    await journal.start("J1", "charge-1")
    await journal.add_reversal("J1", "rev-1", "charge-1", {"reason": "timeout", "message": "m"})
    entry = await journal.get("J1")
    assert (entry.reversal_id, entry.failure) == ("rev-1", {"reason": "timeout", "message": "m"})
    (pending,) = await journal.pending_reversals()
    assert (pending.charge_request_id, pending.state) == ("charge-1", "pending")
    await journal.reversal_done("rev-1", 5000, "100000000002")
    assert await journal.pending_reversals() == []
    await journal.close()


async def test_old_finished_jobs_are_forgotten_but_not_those_still_owed_something(tmp_path):
    journal = await Journal.open(tmp_path / "journal.sqlite3")
    for job_id in ("old-acked", "old-unacked", "old-again", "new"):
        await journal.add(job_id, b"{}")
        await journal.finish(job_id, b"{}", again=job_id == "old-again")
        if job_id != "old-unacked":
            await journal.ack_sent(job_id, b"{}")
    later = time.time() + KEEP_SECONDS + 60
    assert await journal.prune(now=later - 120) == 0  # nothing is 8 days old yet
    assert await journal.prune(now=later) == 2  # "old-acked" and "new" (all are old by then)
    assert await journal.get("old-acked") is None
    assert await journal.get("old-unacked") is not None  # its ack is still owed
    assert await journal.get("old-again") is not None  # it may run again
    await journal.close()


async def test_the_text_screen_shows_views_and_takes_touches_from_its_fifo(tmp_path):
    async with TextScreen(tmp_path) as screen:
        assert (tmp_path / "screen.txt").read_text().startswith("请刷就诊卡或身份证")
        view = View("请选择", choices=("08:30 心血管内科", "10:00 神经内科"))
        fd = os.open(tmp_path / "touch.in", os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"1\n")  # touched before the choices were shown: no answer
        await asyncio.sleep(0.05)
        choosing = asyncio.create_task(screen.choose(view, seconds=5))
        await asyncio.sleep(0.05)
        assert "[2] 10:00 神经内科" in (tmp_path / "screen.txt").read_text()
        os.write(fd, b"9\nabc\n2\n")
        assert await choosing == 1
        os.write(fd, b"0\n")
        assert await screen.choose(view, seconds=5) is None  # cancelled
        assert await screen.choose(view, seconds=0.05) is None  # nobody touched
        os.close(fd)
        screen.show(View("请取走凭条"), seconds=0.05)
        await asyncio.sleep(0.15)
        assert (tmp_path / "screen.txt").read_text().startswith("请刷就诊卡或身份证")
