"""POST /bookings with an Idempotency-Key: a retry gets the first answer, never a second
booking; the same key with another body is refused."""

from __future__ import annotations

import asyncio

import pytest

from tests.hospital_api.helpers import hospital_with_session
from tests.support.world import World, first_slot


@pytest.fixture
async def ready(api):
    session = await hospital_with_session(api.services, "H001", places=5)
    slot_id = await first_slot(api.services, session.id)
    first = await World(api.services).patient(seq=1)
    second = await World(api.services).patient("李四", seq=2)
    return {
        "his": await api.token("his", "H001"),
        "slot": slot_id,
        "body": {"slot_id": slot_id, "patient_id": first.id},
        "other_body": {"slot_id": slot_id, "patient_id": second.id},
    }


async def book(api, auth, body, key):
    return await api.call("POST", "/bookings", auth, json=body, headers={"Idempotency-Key": key})


async def test_same_key_twice_gives_the_same_booking(api, ready):
    status, first = await book(api, ready["his"], ready["body"], "key-1")
    assert status == 201
    # the same request, written differently (key order, an explicit null), is the same request
    retry = {"patient_name": None, **dict(reversed(ready["body"].items()))}
    status, again = await book(api, ready["his"], retry, "key-1")
    assert status == 201
    assert again == first
    assert (await api.rows("bookings"))["bookings"] == 1
    assert (await api.rows("idempotency_keys"))["idempotency_keys"] == 1
    assert [result for _, result in api.outcomes] == ["created", "replayed"]


async def test_same_key_with_another_body_is_refused(api, ready):
    status, _ = await book(api, ready["his"], ready["body"], "key-2")
    assert status == 201
    before = await api.rows()
    status, problem = await book(api, ready["his"], ready["other_body"], "key-2")
    assert status == 422
    assert problem["code"] == "idempotency_key_reused"
    assert problem["key"] == "key-2"
    assert await api.rows() == before
    assert api.outcomes[-1] == ("his", "idempotency_key_reused")


async def test_keys_belong_to_their_token(api, ready):
    status, first = await book(api, ready["his"], ready["body"], "shared")
    assert status == 201
    other_token = await api.token("his", "H001", name="second HIS")
    status, second = await book(api, other_token, ready["other_body"], "shared")
    assert status == 201
    assert second["booking_no"] != first["booking_no"]


async def test_bad_key_is_refused(api, ready):
    status, problem = await book(api, ready["his"], ready["body"], "x" * 201)
    assert status == 422
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert (await api.rows("bookings"))["bookings"] == 0


async def test_twenty_parallel_retries_make_one_booking(api, ready):
    answers = await asyncio.gather(
        *(book(api, ready["his"], ready["body"], "storm") for _ in range(20))
    )
    assert [status for status, _ in answers] == [201] * 20
    assert len({body["booking_no"] for _, body in answers}) == 1
    assert (await api.rows("bookings"))["bookings"] == 1
    results = sorted(result for _, result in api.outcomes)
    assert results == ["created"] + ["replayed"] * 19


async def test_parallel_different_bodies_with_one_key_make_one_booking(api, ready):
    answers = await asyncio.gather(
        book(api, ready["his"], ready["body"], "race"),
        book(api, ready["his"], ready["other_body"], "race"),
    )
    assert sorted(status for status, _ in answers) == [201, 422]
    assert {body["code"] for status, body in answers if status == 422} == {"idempotency_key_reused"}
    assert (await api.rows("bookings"))["bookings"] == 1
