"""A call served by several engine processes (one store): each process keeps the state it
stored last and skips reading it back; a call moved on by another process is still
answered right, and a step acts once."""

from __future__ import annotations

from booking_core import calls
from booking_core.kernel.unit import rows
from tests.ivr.helpers import Twilio, make_root, path_of


async def _engine(aiohttp_client, services) -> Twilio:
    return Twilio(await aiohttp_client(make_root(services)), services)


def _count_reads(services) -> list[str]:
    seen: list[str] = []
    read = services.read

    async def spy(fn, *args, **kwargs):
        seen.append(fn.__name__)
        return await read(fn, *args, **kwargs)

    services.read = spy
    return seen


async def test_the_process_that_answered_a_step_does_not_read_the_call_back(twilio, patient):
    call = twilio.call()
    await call.dial()
    reads = _count_reads(twilio.services)
    await call.press("1")  # 1 = book: asks for the card number
    await call.press("2")  # …and a wrong key there: asked again
    assert calls.call_step.__name__ not in reads


async def test_another_process_takes_the_next_step_and_a_stale_replay_is_answered_the_same(
    aiohttp_client, services, patient
):
    a = await _engine(aiohttp_client, services)
    b = await _engine(aiohttp_client, services)
    on_a = a.call()
    await on_a.dial()  # A answered the call: it remembers step 1
    step1 = path_of(on_a.doc.find("./Gather").get("action"))
    on_b = b.call(sid=on_a.sid)
    status, answer_b = await b.post(step1, on_b.params(Digits="1"))  # B takes step 1
    assert status == 200
    status, answer_a = await a.post(step1, on_a.params(Digits="1"))  # Twilio's retry hits A
    assert status == 200
    assert answer_a == answer_b  # A's memory was stale: the store's answer wins
    steps = await services.read(
        lambda tx: (yield rows("SELECT step, digits FROM call_steps WHERE call_sid = ?", on_a.sid))
    )
    assert sorted((r["step"], r["digits"]) for r in steps) == [(0, "!incoming"), (1, "1")]
