"""How the devices screen words one kiosk (``kiosk_row``), without a store: what is still
open beyond the newest jobs, states and devices it has no words for, and what counts as
money waiting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from agent_console.views.office.devices import kiosk_row
from booking_core.kiosks import DeviceStatus, JobKind, JobStatus, Kiosk, KioskJob, KioskOverview

AT = datetime(2026, 7, 10, 1, 0, tzinfo=UTC)


def _kiosk(disabled: bool = False) -> Kiosk:
    return Kiosk("k0000abcd", 1, "H001", "1号机", "", disabled, True, AT, "", AT)


def _job(n: int, kind: JobKind, status: JobStatus, booking_no: str | None = None) -> KioskJob:
    return KioskJob(f"J{n:016x}", "k0000abcd", 1, kind, {}, status, AT, None, booking_no=booking_no)


def _overview(*, devices=(), jobs=(), failures=(), open_jobs=0, disabled=False) -> KioskOverview:
    return KioskOverview(_kiosk(disabled), tuple(devices), tuple(jobs), tuple(failures), open_jobs)


def test_open_jobs_beyond_the_newest_are_counted_not_listed():
    jobs = [
        _job(1, JobKind.PRINT_TICKET, JobStatus.SENT, "1"),
        _job(2, JobKind.CHARGE, JobStatus.DONE),
    ]
    row = kiosk_row(_overview(jobs=jobs, open_jobs=12), "zh")
    assert [j["job_id"] for j in row["open_jobs"]] == [jobs[0].job_id]
    assert (row["open_count"], row["open_not_listed"]) == (12, 11)


def test_a_state_or_device_without_words_is_shown_as_sent_and_listed_last():
    devices = [
        DeviceStatus("scanner", "warming_up", "", AT),
        DeviceStatus("terminal", "ok", "", AT),
        DeviceStatus("printer", "cover_open", "", AT),
    ]
    row = kiosk_row(_overview(devices=devices), "en")
    assert [(d["device_text"], d["state_text"]) for d in row["devices"]] == [
        ("Ticket printer", "cover open"),
        ("Card terminal", "ok"),
        ("scanner", "warming_up"),
    ]
    failed = _job(3, JobKind.PRINT_TICKET, JobStatus.FAILED, "9")
    failed = replace(failed, reason="jammed")
    assert kiosk_row(_overview(failures=[failed]), "zh")["failures"][0]["reason_text"] == "jammed"


def test_money_is_waiting_for_reversals_the_terminal_holds_and_refunds_not_done():
    assert not kiosk_row(_overview(), "zh")["money_waiting"]
    terminal = DeviceStatus("terminal", "ok", "", AT, pending_reversals=2)
    assert kiosk_row(_overview(devices=[terminal]), "zh")["money_waiting"]
    failed_refund = _job(4, JobKind.REFUND, JobStatus.FAILED)
    row = kiosk_row(_overview(failures=[failed_refund]), "zh")
    assert row["money_waiting"]
    assert row["failures"][0]["money_waiting"]
    done = _job(5, JobKind.REVERSAL, JobStatus.DONE)
    assert not kiosk_row(_overview(jobs=[done]), "zh")["money_waiting"]


def test_only_tickets_of_a_kiosk_in_use_can_be_reprinted():
    jobs = [
        _job(6, JobKind.PRINT_TICKET, JobStatus.DONE, "1"),
        _job(7, JobKind.PRINT_TICKET, JobStatus.SENT, "2"),
        _job(8, JobKind.SHOW_MESSAGE, JobStatus.DONE),
        _job(9, JobKind.PRINT_TICKET, JobStatus.FAILED, "3"),
    ]
    row = kiosk_row(_overview(jobs=jobs), "zh")
    assert [j["reprint"] for j in row["last_jobs"]] == [True, False, False, True]
    disabled = kiosk_row(_overview(jobs=jobs, disabled=True), "zh")
    assert not any(j["reprint"] for j in disabled["last_jobs"])
    assert disabled["state"] == "disabled"
