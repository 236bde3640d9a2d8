"""The card reader driver against the card reader simulator on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hardware.devices import (
    CardReader,
    CardUnreadable,
    DeviceBusy,
    DeviceConnectionError,
    IdCard,
    PatientCard,
    SerialCardReader,
)
from hardware.devices.base import PING_TIMEOUT_SECONDS, RECONNECT_INTERVAL_SECONDS
from hardware.devices.frames import encode_frame
from hardware.simulators import CardReaderSimulator
from tests.hardware.helpers import eventually, reconnect, running

ID_NUMBER = "110101199003070011"  # a valid checksum
ENDS_IN_X = "11010119900307002X"
WRONG_CHECKSUM = "110101199003070012"
RECONNECT = RECONNECT_INTERVAL_SECONDS


@pytest.fixture
async def sim(tmp_path):
    async with CardReaderSimulator(link=tmp_path / "ttyCARD0") as simulator:
        yield simulator


@pytest.fixture
def reader(sim, clock) -> SerialCardReader:
    return SerialCardReader(sim.port, sleep=clock.sleep)


async def read(reader: SerialCardReader) -> object:
    async with asyncio.timeout(3):
        return await reader.read()


async def test_a_patient_card_and_an_id_card_are_read(sim, reader):
    async with running(reader):
        waiting = asyncio.create_task(read(reader))
        await asyncio.sleep(0.01)
        sim.swipe_card("000123456789")
        card = await waiting
        sim.swipe_id_card(" 欧阳娜娜 ", ID_NUMBER)
        id_card = await read(reader)

    assert isinstance(reader, CardReader)
    assert sim.frames == [("PING",)]
    assert reader.model == "GH-CR1 simulated"
    assert card == PatientCard("000123456789")
    assert id_card == IdCard("欧阳娜娜", ID_NUMBER)


async def test_an_id_number_that_fails_its_checksum_is_a_misread(sim, reader):
    async with running(reader):
        sim.swipe_id_card("张三", WRONG_CHECKSUM)
        with pytest.raises(CardUnreadable, match="checksum") as misread:
            await read(reader)
        sim.swipe_id_card("张三", "110101199013070015")  # its checksum right, month 13
        with pytest.raises(CardUnreadable, match="parts of the number"):
            await read(reader)
        sim.swipe_id_card("张三", ENDS_IN_X.lower())  # a lower-case x is still an X
        card = await read(reader)

    assert misread.value.code == "card_unreadable"
    assert card == IdCard("张三", ENDS_IN_X)
    assert "110101" not in repr(card)  # masked in log lines
    assert repr(card) == "IdCard(name=张*, id_number=**************002X)"


async def test_the_reader_saying_it_could_not_read_is_a_misread(sim, reader):
    async with running(reader):
        sim.fail_read("芯片读取失败")
        sim.swipe_card("12AB")
        with pytest.raises(CardUnreadable, match="芯片读取失败"):
            await read(reader)
        assert await read(reader) == PatientCard("12AB")
        sim.swipe_card("12-3")  # not a card number
        with pytest.raises(CardUnreadable, match="card number"):
            await read(reader)


async def test_noise_and_broken_frames_are_dropped_logged_once_and_the_next_card_read(
    sim, reader, caplog
):
    caplog.set_level(logging.INFO, "hardware.devices")
    good = encode_frame("CARD", "5566778899")
    async with running(reader):
        sim.send_raw(b"\x00\xffnoise")
        sim.send_raw(good[:7])  # cut short: the next frame starts
        sim.send_raw(encode_frame("CARD", "1111")[:-2] + b"00")  # a wrong checksum
        sim.send_raw(encode_frame("TAP", "1111"))  # no frame of ours
        sim.send_raw(encode_frame("ID", "张三"))  # a field short
        sim.send_raw(good)
        card = await read(reader)

    assert card == PatientCard("5566778899")
    assert reader.bad_input == 5
    warned = [r for r in caplog.records if "sent what it should not" in r.message]
    assert len(warned) == 1
    assert "outside any frame" in warned[0].message
    assert not reader.drop_pending()  # nothing else was taken for a card


async def test_cards_presented_while_nobody_reads_wait_in_order_until_dropped(sim, reader):
    async with running(reader):
        for number in ("1001", "1002", "1003"):
            sim.swipe_card(number)
        await eventually(lambda: len(reader._pending) == 3)
        first = await read(reader)
        dropped = reader.drop_pending()
        sim.swipe_card("2001")
        after = await read(reader)

    assert first == PatientCard("1001")
    assert dropped == 2
    assert after == PatientCard("2001")


async def test_only_one_read_waits_at_a_time(sim, reader):
    async with running(reader):
        waiting = asyncio.create_task(read(reader))
        await asyncio.sleep(0.01)
        with pytest.raises(DeviceBusy):
            await read(reader)
        sim.swipe_card("3003")
        assert await waiting == PatientCard("3003")


async def test_unplugged_while_waiting_then_back(sim, reader, clock, caplog):
    caplog.set_level(logging.INFO, "hardware.devices")
    async with running(reader):
        waiting = asyncio.create_task(read(reader))
        await asyncio.sleep(0.01)
        await sim.vanish()
        with pytest.raises(DeviceConnectionError, match="gone"):
            await waiting
        sim.swipe_card("4004")  # on an unplugged reader: lost
        with pytest.raises(DeviceConnectionError, match="not connected"):
            await read(reader)

        await sim.come_back()
        await reconnect(reader, clock, RECONNECT)
        sim.swipe_card("5005")
        card = await read(reader)

    assert card == PatientCard("5005")
    assert sim.pings == 2
    assert len([r for r in caplog.records if "unavailable on" in r.message]) == 1
    assert len([r for r in caplog.records if "ready on" in r.message]) == 2


async def test_something_on_the_port_that_does_not_answer_ping_is_no_reader(sim, reader, clock):
    sim.silent = True
    async with reader:
        await eventually(lambda: PING_TIMEOUT_SECONDS in clock.sleeping)
        clock.advance(PING_TIMEOUT_SECONDS - 0.1)
        await asyncio.sleep(0.02)
        assert not reader.available
        assert reader.state.detail == "starting"

        clock.advance(0.1)
        await eventually(lambda: "no answer to PING within 2 s" in reader.state.detail)
        assert reader.state.problem == "unavailable"
        sim.silent = False
        await reconnect(reader, clock, RECONNECT)


async def test_swipes_come_from_a_fifo_one_a_line(tmp_path, sim, reader):
    fifo = tmp_path / "card.in"
    sim.listen(fifo)
    try:
        async with running(reader):
            with fifo.open("w") as writer:  # as `echo '…' > card.in` does, twice
                writer.write("000123456789\n")
            with fifo.open("w") as writer:
                writer.write(f"{ID_NUMBER} 王小明\n\n")
            first = await read(reader)
            second = await read(reader)
    finally:
        sim.close()

    assert first == PatientCard("000123456789")
    assert second == IdCard("王小明", ID_NUMBER)
