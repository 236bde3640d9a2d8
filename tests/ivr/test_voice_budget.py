"""The voice door's "busy" is true (issue #9 item 4), with the store slowed on purpose, on
both stores: a caller told "系统繁忙" has no booking, and a booking committed after the
step's budget ran out is said to the caller with its number. The negative control drops a
started unit's outcome when the step stops waiting (``store.unsafe_abandon_started``): the
caller then hears "busy" about a booking that exists."""

from __future__ import annotations

import asyncio

import pytest

from booking_core import calls
from tests.ivr.helpers import Twilio, make_root
from tests.support.slow_store import hold_slot, slow_commits

BUDGET_SECONDS = 0.5
HOLD_SECONDS = 1.5
COMMIT_WITHIN_SECONDS = 15.0


@pytest.fixture
async def tight(aiohttp_client, services, hospital) -> Twilio:
    """The voice door with a half-second budget per step."""
    client = await aiohttp_client(make_root(services, answer_within_seconds=BUDGET_SECONDS))
    return Twilio(client, services)


async def _at_the_confirmation(twilio, patient):
    call = twilio.call()
    await call.dial()
    for digits in ("1", patient.card_no, "101", "00868", "0711", "0830"):
        await call.press(digits)
    assert "挂号费50元" in call.text()
    return call


def spoken(booking_no: str) -> str:
    return "，".join("零一二三四五六七八九"[int(d)] for d in booking_no)


async def _bookings(twilio) -> list[str]:
    from booking_core.kernel.unit import rows

    def q(tx):
        return [r["booking_no"] for r in (yield rows("SELECT booking_no FROM bookings"))]

    return await twilio.services.read(q)


async def _slot_of_the_call(twilio) -> int:
    from booking_core.kernel.unit import val

    def q(tx):
        return (yield val("SELECT min(id) FROM slots WHERE start_time = '08:30'"))

    return await twilio.services.read(q)


async def test_a_caller_told_busy_has_no_booking(tight, patient):
    call = await _at_the_confirmation(tight, patient)
    slow = await hold_slot(tight.services.store, await _slot_of_the_call(tight), HOLD_SECONDS)

    await call.press("1")
    await slow
    await asyncio.sleep(0)

    assert "系统繁忙" in call.text()
    assert await _bookings(tight) == []


async def _confirm_on_a_slow_commit(twilio, patient, monkeypatch):
    call = await _at_the_confirmation(twilio, patient)
    await slow_commits(monkeypatch, twilio.services.store, calls.ClaimStepAndBook, BUDGET_SECONDS)
    await call.press("1")
    # the commit the step stopped waiting for lands a budget later; on a loaded machine
    # (the whole suite on two cores) later still: wait for it, up to a bound
    async with asyncio.timeout(COMMIT_WITHIN_SECONDS):
        while not (made := await _bookings(twilio)):  # noqa: ASYNC110 - the database
            await asyncio.sleep(0.05)
    return call, made


async def test_a_booking_committed_past_the_budget_is_said_with_its_number(
    tight, patient, monkeypatch
):
    call, made = await _confirm_on_a_slow_commit(tight, patient, monkeypatch)

    assert len(made) == 1
    assert "系统繁忙" not in call.text()
    assert call.text().count(spoken(made[0])) == 2


async def test_control_without_the_guard_the_caller_hears_busy_and_is_booked(
    tight, patient, monkeypatch
):
    tight.services.store.unsafe_abandon_started = True
    call, made = await _confirm_on_a_slow_commit(tight, patient, monkeypatch)

    lied = "系统繁忙" in call.text() and len(made) == 1
    assert lied, "the case cannot fail: it proves nothing"
