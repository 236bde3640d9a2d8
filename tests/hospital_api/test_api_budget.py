"""An API client that gives up on a slow booking and retries with its Idempotency-Key gets
the first answer (issue #9 item 4), on both stores with the commit slowed on purpose.

The door has no budget of its own, and the engine serves with ``handler_cancellation`` off,
so a client going away cancels nothing. The test server has it on, which is the harder
case: the first request is cancelled mid-unit, and the store either finishes it (past its
point of no return; the retry is then its replay) or rolls it back (before it; the retry
then books). Either way there is one booking and the retry's answer is that booking."""

from __future__ import annotations

import asyncio

import pytest

from booking_core import bookings
from booking_core.kernel.unit import rows, val
from tests.hospital_api.helpers import hospital_with_session
from tests.support.slow_store import slow_commits
from tests.support.world import World, first_slot

CLIENT_GIVES_UP_SECONDS = 0.2
SLOW_SECONDS = 0.5


@pytest.fixture
async def ready(api):
    session = await hospital_with_session(api.services, "H001", places=5)
    slot_id = await first_slot(api.services, session.id)
    patient = await World(api.services).patient(seq=1)
    return {
        "his": await api.token("his", "H001"),
        "body": {"slot_id": slot_id, "patient_id": patient.id},
    }


async def book(api, ready, key):
    headers = {"Idempotency-Key": key}
    return await api.call("POST", "/bookings", ready["his"], json=ready["body"], headers=headers)


async def test_a_client_that_timed_out_retries_with_its_key_and_gets_the_first_booking(
    api, ready, monkeypatch
):
    await slow_commits(monkeypatch, api.services.store, bookings.BookSlot, SLOW_SECONDS)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(CLIENT_GIVES_UP_SECONDS):
            await book(api, ready, "slow-1")

    status, again = await book(api, ready, "slow-1")

    assert status == 201
    (made,) = await _bookings(api)
    assert again["booking_no"] == made  # the one booking there is, whichever request made it
    await _settled(api)
    heard = [result for _, result in api.outcomes]  # the cancelled first request may say nothing
    assert heard.count("created") <= 1
    assert set(heard) <= {"created", "replayed"}


async def _bookings(api) -> list[str]:
    def q(tx):
        return [r["booking_no"] for r in (yield rows("SELECT booking_no FROM bookings"))]

    return await api.services.read(q)


async def _settled(api) -> None:
    """Until the first request's handler is over (it may commit or roll back: see below)."""
    await api.services.store.write(_nothing)


def _nothing(tx):
    yield val("SELECT 1")
