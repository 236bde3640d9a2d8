"""The senders: queued texts out through a gateway, once, even across a crash between
sending and recording the send (Twilio can be asked; a modem cannot)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import datetime

import pytest

from booking_core.kernel.unit import rows
from booking_core.messages import MarkSent, MessageKind, OutgoingMessage, QueueMessages
from sms.gateway import GatewayError, Outgoing, Sent
from sms.sender import MAX_ATTEMPTS, Sender, e164
from sms.twilio_gateway import TwilioGateway
from tests.fakes.twilio_rest import ACCOUNT, SENDER, TOKEN

PHONE = "13912345678"


@pytest.fixture
async def twilio(fake):
    gateway = TwilioGateway(ACCOUNT, TOKEN, from_=SENDER, api_base=fake.base_url, min_interval=0)
    yield gateway
    await gateway.aclose()


async def _queue(services, *bodies: str, gateway: str = "twilio") -> None:
    messages = tuple(
        OutgoingMessage(
            key=f"k{i}", gateway=gateway, phone=PHONE, body=body, kind=MessageKind.REMINDER
        )
        for i, body in enumerate(bodies)
    )
    await services.handle(QueueMessages(consumer="test", event_ids=(), messages=messages))


async def _statuses(services) -> list[tuple[str, str | None, int]]:
    def read(tx):
        found = yield rows("SELECT status, provider_id, attempts FROM messages ORDER BY id")
        return [(r["status"], r["provider_id"], r["attempts"]) for r in found]

    return await services.store.read(read)


class Died(BaseException):
    """The process stops here (nothing after it runs, nothing catches it)."""


def _die_on(services, command_type):
    handle = services.handle

    async def dying(command):
        if isinstance(command, command_type):
            raise Died
        return await handle(command)

    services.handle = dying
    return handle


async def test_a_queued_text_goes_out_once_and_is_recorded(world, services, fake, twilio):
    await world.hospital()
    await _queue(services, "明天上午8:30 心内科 请准时就诊")
    sender = Sender(services, twilio)
    assert await sender.run_once() == 1
    assert await sender.run_once() == 0
    (create,) = fake.creates
    assert create.form["To"] == "+86" + PHONE
    assert create.form["Body"] == "明天上午8:30 心内科 请准时就诊"
    (sid,) = fake.messages
    assert await _statuses(services) == [("sent", sid, 1)]


async def test_death_between_sending_and_recording_does_not_send_twice(
    world, services, fake, twilio, clock
):
    await world.hospital()
    await _queue(services, "您的预约已取消")
    sender = Sender(services, twilio, lease_seconds=60)
    handle = _die_on(services, MarkSent)
    with pytest.raises(Died):
        await sender.run_once()
    services.handle = handle  # the engine is started again
    assert len(fake.creates) == 1  # it had left
    assert await sender.run_once() == 0  # still leased to the dead sender
    clock.advance(seconds=61)
    assert await Sender(services, twilio).run_once() == 1
    assert len(fake.creates) == 1  # asked Twilio, found it: not sent again
    (sid,) = fake.messages
    assert await _statuses(services) == [("sent", sid, 2)]


async def test_death_before_the_gateway_answered_loses_nothing(
    world, services, fake, twilio, clock
):
    await world.hospital()
    await _queue(services, "停诊通知")
    handle = _die_on(services, MarkSent)
    send = twilio.send

    async def dies_before_sending(message):
        raise Died

    twilio.send = dies_before_sending
    with pytest.raises(Died):
        await Sender(services, twilio).run_once()
    twilio.send = send
    services.handle = handle
    clock.advance(seconds=121)
    assert await Sender(services, twilio).run_once() == 1
    assert len(fake.creates) == 1  # Twilio had nothing: sent now, once
    assert [s for s, _, _ in await _statuses(services)] == ["sent"]


async def test_a_lost_answer_is_checked_before_the_retry(world, services, fake, twilio, clock):
    await world.hospital()
    await _queue(services, "预约成功")
    fake.crash_after_accept(how="drop")  # accepted, answer lost: the sender sees an error
    assert await Sender(services, twilio).run_once() == 1
    assert [s for s, _, _ in await _statuses(services)] == ["queued"]  # to be retried
    clock.advance(seconds=11)
    assert await Sender(services, twilio).run_once() == 1
    assert len(fake.creates) == 1  # the retry asked Twilio first and found it


async def test_a_permanent_error_gives_up_and_a_passing_one_backs_off(
    world, services, fake, twilio, clock, caplog
):
    await world.hospital()
    await _queue(services, "a", "b")
    fake.fail_next(1, status=400, code=21211)  # invalid number: never retried
    fake.fail_next(1, status=503)
    caplog.set_level(logging.WARNING)
    assert await Sender(services, twilio).run_once() == 2
    statuses = await _statuses(services)
    assert [s for s, _, _ in statuses] == ["failed", "queued"]
    assert PHONE not in caplog.text
    assert "139****5678" in caplog.text
    assert await Sender(services, twilio).run_once() == 0  # backing off
    clock.advance(seconds=11)
    assert await Sender(services, twilio).run_once() == 1
    assert [s for s, _, _ in await _statuses(services)] == ["failed", "sent"]
    assert len(fake.messages) == 1


class Flaky:
    """A gateway that cannot be asked (like a modem) and always fails."""

    name = "modem"
    min_interval = 0.0
    can_check = False

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> Sent:
        self.sent.append(message)
        raise GatewayError("+CMS ERROR: 500")

    async def find_sent(self, message: Outgoing, since: datetime) -> Sent | None:
        raise AssertionError("a gateway that cannot check is never asked")


async def test_a_gateway_that_keeps_failing_is_given_up_after_max_attempts(world, services, clock):
    await world.hospital()
    await _queue(services, "x", gateway="modem")
    flaky = Flaky()
    for _ in range(MAX_ATTEMPTS + 2):
        await Sender(services, flaky).run_once()
        clock.advance(seconds=3600)
    assert len(flaky.sent) == MAX_ATTEMPTS
    assert [s for s, _, _ in await _statuses(services)] == ["failed"]


async def test_texts_through_one_gateway_keep_its_pace(world, services):
    await world.hospital()
    await _queue(services, "1", "2", "3", gateway="modem")
    times: list[float] = []

    class Slow(Flaky):
        min_interval = 0.05

        async def send(self, message: Outgoing) -> Sent:
            times.append(asyncio.get_running_loop().time())
            return Sent(provider_id="7")

    assert await Sender(services, Slow()).run_once() == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 2
    assert all(gap >= 0.05 for gap in gaps)


def test_mainland_numbers_get_their_country_code():
    assert e164("13912345678") == "+8613912345678"
    assert e164("+14155550100") == "+14155550100"
