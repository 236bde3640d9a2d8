"""A resident ID number typed on the phone is never kept or shown in the clear (#10 item 4):
not in the call's steps or state, the transfer's context, the outbox or the audit, nor on
the desk (page, JSON twin, live stream); the agent still sees the patient the IVR found."""

from __future__ import annotations

import asyncio

import pytest

from booking_core.kernel.identity import mask_long_digits, mask_long_digits_in
from booking_core.kernel.unit import rows
from tests.ivr.helpers import Twilio, make_root
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)
from tests.support.world import World, resident_id

ID_NUMBER = resident_id(608)  # ends in X: typed with * on a keypad
TYPED = ID_NUMBER[:-1] + "*"
STRANGER = "+8613700009999"  # a number registered to nobody
TYPED_SID, REPLAY_SID, BAD_SID = (f"CA{n:032x}" for n in (0xA1, 0xA2, 0xA3))


@pytest.fixture
async def wang(services, desk_world):
    assert ID_NUMBER.endswith("X")
    return await World(services, "HA").patient("王小红", "13811112222", id_number=ID_NUMBER)


@pytest.fixture
async def voice(aiohttp_client, services, desk_world) -> Twilio:
    client = await aiohttp_client(make_root(services, hospital_code="HA"))
    return Twilio(client, services)


async def _every_text(services) -> str:
    """Every stored value of the tables a call writes to, as one text."""

    def read(tx):
        out = []
        for table in ("calls", "call_steps", "outbox", "audit"):
            for row in (yield rows(f"SELECT * FROM {table}")):
                out += [str(v) for v in dict(row).values()]
        return out

    return "\n".join(await services.read(read))


def test_long_digit_runs_are_kept_to_their_last_four():
    assert mask_long_digits(TYPED) == "*" * 14 + TYPED[-4:]
    assert mask_long_digits("id 110105198001016081 card 1234567890") == (
        "id **************6081 card 1234567890"
    )
    assert mask_long_digits_in({"a": [ID_NUMBER], "n": 3}) == {
        "a": ["*" * 14 + ID_NUMBER[-4:]],
        "n": 3,
    }


async def test_an_id_number_typed_then_transferred_is_stored_and_shown_masked(
    agent, services, voice, wang, monkeypatch
):
    phone = voice.call(STRANGER, sid=TYPED_SID)
    await phone.dial()
    await phone.press("1")  # book: who is the patient?
    await phone.press(TYPED)
    assert "王女士，您好" in phone.text()  # found: addressed by family name and title
    assert "王**" not in phone.text()  # the masked name is the agent's screen's, never said
    await phone.press("0")  # an agent
    assert phone.kind() == "enqueue"

    stored = await _every_text(services)
    assert ID_NUMBER[:15] not in stored, "a typed ID number is stored in the clear"

    status, body = await agent.get("/desk")
    assert status == 200, body
    [row] = [r for r in body["calls"] if r["call_sid"] == TYPED_SID]
    assert (row["patient_id"], row["patient_name"]) == (wang.id, "王**")
    assert ID_NUMBER[:15] not in str(body)
    stream = (await agent.get("/desk/calls/stream.json"))[1]
    assert ID_NUMBER[:15] not in str(stream)
    async with agent.client.get("/console/desk") as resp:
        assert ID_NUMBER[:15] not in await resp.text()
    async with agent.client.get("/console/desk/calls/stream") as resp:
        chunk = b""
        while b"event: calls" not in chunk or not chunk.endswith(b"\n\n"):
            chunk += await asyncio.wait_for(resp.content.readany(), 5)
    assert TYPED_SID in chunk.decode()
    assert ID_NUMBER[:15] not in chunk.decode()

    status, taken = await agent.post(f"/desk/calls/{TYPED_SID}/take")
    assert status == 200, taken
    status, record = await agent.get(f"/desk/patients/{wang.id}", params={"call": TYPED_SID})
    assert status == 200, record
    assert record["patient"]["id"] == wang.id
    assert ID_NUMBER[:15] not in str(record["call"])
    assert ID_NUMBER[:15] not in await _every_text(services)


async def test_a_replayed_id_step_gets_the_same_answer_and_acts_once(services, voice, wang):
    phone = voice.call(STRANGER, sid=REPLAY_SID)
    await phone.dial()
    await phone.press("1")
    action = phone.doc.find("./Gather").get("action")
    first = await voice.post(
        action[len("https://ivr.example-hospital.test") :], phone.params(Digits=TYPED)
    )
    again = await voice.post(
        action[len("https://ivr.example-hospital.test") :], phone.params(Digits=TYPED)
    )
    assert first == again
    assert first[0] == 200
    steps = await services.read(
        lambda tx: (yield rows("SELECT digits FROM call_steps WHERE call_sid = ?", REPLAY_SID))
    )
    keys = [r["digits"] for r in steps]
    assert len(keys) == len(set(keys)) == 3  # incoming, "1", the ID step (once)
    assert all(ID_NUMBER[:6] not in k for k in keys)


async def test_a_wrong_id_number_typed_to_the_end_reaches_the_agent_masked(agent, services, voice):
    bad = ID_NUMBER[:-1] + "5"  # a wrong check digit, three times: an agent
    phone = voice.call(STRANGER, sid=BAD_SID)
    await phone.dial()
    await phone.press("1")
    for _ in range(3):
        await phone.press(bad)
    assert phone.kind() == "enqueue"
    [row] = [r for r in (await agent.get("/desk"))[1]["calls"] if r["call_sid"] == BAD_SID]
    assert row["digits"] == "*" * 14 + bad[-4:]
    assert row["reason"] == "wrong_input"
    assert bad[:15] not in await _every_text(services)
