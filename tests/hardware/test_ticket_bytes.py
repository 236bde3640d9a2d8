"""The ticket (取号凭条) as ESC/POS bytes and back: what the printer simulator decodes is
the ticket that was asked for, and what it draws is a ticket a person can read."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from hardware.devices.escpos_render import render, render_ticket
from hardware.devices.printout import Line, PrintItem, Printout, QrCode, Span
from hardware.devices.ticket import Ticket, fen_to_yuan, ticket_from_printout, ticket_layout
from hardware.simulators import ticket_image
from hardware.simulators.escpos_decoder import EscPosDecoder
from tests.hardware.helpers import make_ticket

TEXT = st.text(
    st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=24
).filter(str.strip)


def decode(data: bytes, chunk: int = 4096) -> tuple[Printout, list[int], EscPosDecoder]:
    items: list[PrintItem] = []
    cuts: list[int] = []
    statuses: list[int] = []
    decoder = EscPosDecoder(
        on_item=items.append, on_cut=lambda: cuts.append(len(items)), on_status=statuses.append
    )
    for start in range(0, len(data), chunk):
        decoder.feed(data[start : start + chunk])
    assert cuts == [len(items)], "one cut, at the end"
    return Printout(tuple(items)), statuses, decoder


@st.composite
def tickets(draw: st.DrawFn) -> Ticket:
    return Ticket(
        hospital=draw(TEXT),
        department=draw(TEXT),
        doctor=draw(TEXT),
        doctor_title=draw(TEXT),
        room=draw(TEXT),
        day=draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))),
        start=draw(st.times()).replace(second=0, microsecond=0),
        end=draw(st.times()).replace(second=0, microsecond=0),
        queue_no=draw(st.integers(1, 9999)),
        booking_no=draw(st.from_regex(r"[0-9]{1,12}", fullmatch=True)),
        masked_name=draw(TEXT) + "*",
        fee=draw(st.integers(0, 10**7)),
        paid_by=draw(TEXT),
        printed_at=draw(st.datetimes(timezones=st.just(UTC))).replace(year=2026),
    )


@settings(max_examples=100)
@given(tickets(), st.integers(1, 64))
def test_a_ticket_decodes_back_to_itself(ticket, chunk):
    printout, statuses, decoder = decode(render_ticket(ticket), chunk)

    assert ticket_from_printout(printout) == ticket
    assert statuses == []
    assert decoder.unknown == []


def test_the_bytes_are_gb18030_in_chinese_mode_with_a_bold_headline_a_big_number_and_a_qr():
    data = render_ticket(make_ticket())

    assert data.startswith(b"\x1b@\x1c&")  # ESC @, then FS &: Chinese character mode
    assert "首都医科大学附属北京安贞医院".encode("gb18030") in data
    assert "￥50.00".encode("gb18030") in data
    assert b"\x1d(k\x0c\x001P0384759261" in data  # GS ( k: store the booking number
    assert data.endswith(b"\x1dV\x00")  # GS V: cut
    printout, _, _ = decode(data)
    headline, queue = printout.items[0], printout.items[4]
    assert isinstance(headline, Line)
    assert isinstance(queue, Line)
    assert headline.spans == (Span("首都医科大学附属北京安贞医院", bold=True, width=2, height=2),)
    assert headline.align == "center"
    assert queue.spans == (Span("12号", bold=True, width=3, height=3),)
    assert [i for i in printout.items if isinstance(i, QrCode)] == [
        QrCode("384759261", module_size=6, error="M", align="center")
    ]
    assert "患者：李*" in printout.lines
    assert "费用：￥50.00" in printout.lines
    assert "支付：银行卡 尾号0123" in printout.lines


def test_printed_at_is_in_hospital_local_time():
    ticket = make_ticket()  # 00:12:05 UTC
    elsewhere = make_ticket(tz="Asia/Urumqi")

    assert "打印时间：2026-07-10 08:12:05" in decode(render_ticket(ticket))[0].lines
    assert "打印时间：2026-07-10 06:12:05" in decode(render_ticket(elsewhere))[0].lines
    assert ticket.printed_at == ticket.printed_at.astimezone(UTC)


def test_without_chinese_mode_the_same_bytes_are_garbage():
    """What ``FS &`` is for: the simulator, like a printer, reads GB18030 only after it."""
    data = render_ticket(make_ticket()).replace(b"\x1c&", b"", 1)

    printout, _, _ = decode(data)

    assert "首都医科大学附属北京安贞医院" not in printout.lines
    with pytest.raises(ValueError, match=r"^no .* line$"):
        ticket_from_printout(printout)


def test_a_fee_is_printed_in_yuan_with_two_decimals():
    assert [fen_to_yuan(f) for f in (0, 5, 50, 2550, 100000)] == [
        "0.00",
        "0.05",
        "0.50",
        "25.50",
        "1000.00",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"department": "心内\x1b@科"}, "control character"),  # an ESC/POS command
        ({"doctor": "张\n建国"}, "control character"),
        ({"room": " "}, "empty"),
        ({"masked_name": "李四"}, "masked"),
        ({"booking_no": "38475926X"}, "digits"),
        ({"queue_no": 0}, "queue_no"),
        ({"fee": -1}, "fen"),
        ({"start": time(8, 30, 15)}, "whole minute"),
        ({"tz": "Mars/Olympus"}, "time zone"),
    ],
)
def test_a_ticket_that_would_print_wrong_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        make_ticket(**changes)


def test_printed_at_is_kept_to_the_second():
    ticket = make_ticket(printed_at=make_ticket().printed_at + timedelta(microseconds=999))

    assert ticket.printed_at.microsecond == 0


def test_a_printout_that_is_not_a_ticket_says_what_is_missing():
    items = list(ticket_layout(make_ticket()))
    without_qr = Printout(tuple(i for i in items if not isinstance(i, QrCode)))
    without_fee = Printout(
        tuple(i for i in items if not (isinstance(i, Line) and i.text.startswith("费用")))
    )

    with pytest.raises(ValueError, match="QR code"):
        ticket_from_printout(without_qr)
    with pytest.raises(ValueError, match="no 费用"):
        ticket_from_printout(without_fee)


def test_other_commands_are_skipped_by_their_length():
    data = (
        b"\x1b@"
        + b"\x1dv0\x00\x02\x00\x03\x00"
        + b"\xff" * 6  # a 16x3 raster image
        + b"\x1dk\x04123456\x00"  # a CODE39 barcode
        + b"\x1d(L\x04\x000p\x01\x01"  # a GS ( L graphics setting
        + b"after\n\x1dV\x41\x03"
    )

    printout, _, decoder = decode(data)

    assert printout.lines == ["after"]
    assert decoder.unknown == ["GS v 0 (image)", "GS ( 'L'"]


# --- the picture ---------------------------------------------------------------------


@pytest.fixture
def font() -> str:
    found = ticket_image.find_cjk_font()
    assert found is not None, "the test machine has a CJK font (fonts-noto-cjk or fonts-wqy)"
    return found


def test_the_ticket_is_drawn_with_its_qr_code_readable(tmp_path, font):
    printout, _, _ = decode(render_ticket(make_ticket()))

    assert ticket_image.save_png(printout, tmp_path / "ticket.png", font_path=font)

    paper = Image.open(tmp_path / "ticket.png").convert("L")
    assert paper.width == ticket_image.PRINTABLE_DOTS + 2 * ticket_image.MARGIN_DOTS
    assert _qr_modules(paper, 6) == _matrix("384759261", "M")


def test_text_is_drawn_in_its_size_and_place(font):
    small = ticket_image.draw(Printout((Line((Span("号"),)),)), font)
    large = ticket_image.draw(Printout((Line((Span("号", width=3, height=3),)),)), font)
    centred = ticket_image.draw(Printout((Line((Span("号"),), "center"),)), font)

    def ink(image: Image.Image) -> tuple[int, int, int, int]:
        box = Image.eval(image, lambda v: 255 - v).getbbox()
        assert box is not None, "something is drawn"
        return box

    assert ink(large)[2] - ink(large)[0] > 2.5 * (ink(small)[2] - ink(small)[0])
    assert ink(small)[0] < ticket_image.MARGIN_DOTS + 4
    assert abs((ink(centred)[0] + ink(centred)[2]) / 2 - centred.width / 2) < 3


def test_without_a_cjk_font_nothing_is_drawn_and_nothing_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(ticket_image, "find_cjk_font", lambda: None)
    printout, _, _ = decode(render(ticket_layout(make_ticket())))

    assert ticket_image.save_png(printout, tmp_path / "ticket.png") is False
    assert not (tmp_path / "ticket.png").exists()


def _matrix(data: str, error: str) -> list[list[bool]]:
    code = segno.make_qr(data, error=error, boost_error=False)  # a printer boosts nothing
    return [[bool(m) for m in row] for row in code.matrix]


def _qr_modules(paper: Image.Image, size: int) -> list[list[bool]]:
    """Read the QR code on the paper back, module by module, from the centre of each: it is
    centred, and its first row starts and ends with a finder pattern's 7 dark modules."""
    for top in range(paper.height):
        row = [paper.getpixel((x, top)) == 0 for x in range(paper.width)]
        if True not in row:
            continue
        left = row.index(True)
        right = len(row) - row[::-1].index(True)
        count = (right - left) // size
        finder = [True] * (7 * size)
        if (
            count >= 21
            and row[left : left + 7 * size] == finder
            and row[right - 7 * size : right] == finder
            and not row[left + 7 * size]
        ):
            return [
                [
                    paper.getpixel((left + x * size + size // 2, top + y * size + size // 2)) == 0
                    for x in range(count)
                ]
                for y in range(count)
            ]
    raise AssertionError("no QR code on the paper")
