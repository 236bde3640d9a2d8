"""The STX … ETX frames of the card reader and terminal: decoded from any split of the
byte stream, and whatever is broken dropped with a reason while the next frame gets through."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.devices.frames import (
    MAX_BODY_BYTES,
    FrameDecoder,
    FrameError,
    encode_frame,
)

FIELD = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), max_size=20)


def test_a_frame_is_stx_length_body_etx_checksum():
    frame = encode_frame("CARD", "12345")

    assert frame == b"\x02000ACARD\x1f12345\x03" + frame[-2:]
    inner = frame[1:-2]
    checksum = 0
    for byte in inner:
        checksum ^= byte
    assert frame[-2:] == f"{checksum:02X}".encode()


@given(st.lists(st.lists(FIELD, min_size=1, max_size=4), min_size=1, max_size=5), st.data())
def test_frames_come_back_whatever_the_pieces_they_arrive_in(frames, data):
    stream = b"".join(encode_frame(*fields) for fields in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder, found = FrameDecoder(), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        found += decoder.feed(stream[start:end])

    assert found == [tuple(fields) for fields in frames]


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (b"\x00\xff garbage", "outside any frame"),
        (encode_frame("CARD", "12345")[:9], "cut short"),  # the next frame's STX cuts it
        (encode_frame("CARD", "12345")[:-1], "cut short"),  # its checksum half there
        (encode_frame("CARD", "12345")[:-2] + b"00", "checksum"),
        (b"\x020003CARD\x03" + b"00", "length says 3"),
        (b"\x02000XCARD\x03" + b"00", "not hex"),
        (b"\x020002\xff\xfe\x03" + f"{0x30 ^ 0x32 ^ 0xFF ^ 0xFE ^ 0x03:02X}".encode(), "UTF-8"),
        (b"\x020001\x07\x03" + f"{0x30 ^ 0x31 ^ 0x07 ^ 0x03:02X}".encode(), "control"),
    ],
)
def test_a_broken_frame_is_dropped_with_its_reason_and_the_next_one_read(broken, reason):
    decoder = FrameDecoder()

    found = decoder.feed(broken + encode_frame("CARD", "67890"))

    assert len(found) == 2
    assert isinstance(found[0], FrameError)
    assert reason in found[0].reason
    assert found[1] == ("CARD", "67890")


def test_an_stx_in_noise_starts_nothing_for_ever():
    decoder = FrameDecoder()

    found = decoder.feed(b"\x02" + b"x" * (MAX_BODY_BYTES + 20))
    found += decoder.feed(encode_frame("PONG", "m"))

    assert isinstance(found[0], FrameError)
    assert "no ETX" in found[0].reason
    assert found[-1] == ("PONG", "m")


def test_a_frame_still_coming_is_kept_for_the_next_bytes():
    frame = encode_frame("ID", "张三", "110101199003070012")
    decoder = FrameDecoder()

    assert decoder.feed(frame[:-1]) == []
    assert decoder.feed(frame[-1:]) == [("ID", "张三", "110101199003070012")]


def test_fields_with_control_characters_cannot_be_sent():
    with pytest.raises(ValueError, match="control character"):
        encode_frame("CARD", "12\x0345")


def test_the_example_frame_in_the_docs_is_a_real_frame():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "kiosk-devices.md").read_text()
    example = docs.split("Example, a patient card `12345`:")[1].split("```")[1]
    hex_line = example.strip().splitlines()[0]

    assert bytes.fromhex(hex_line) == encode_frame("CARD", "12345")
    assert FrameDecoder().feed(bytes.fromhex(hex_line)) == [("CARD", "12345")]
