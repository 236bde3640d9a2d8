"""The ticket a kiosk prints at check-in (取号凭条), and how it is laid out on paper.

:class:`Ticket` is what the engine fills in for a print job; :func:`ticket_layout` puts it
on paper as :mod:`~hardware.devices.printout` items, one labelled line per field, and
:func:`ticket_from_printout` reads a printed ticket back (the printer simulator and the
tests use it: what is printed is what was asked for).

Layout, 48 columns (80 mm paper, font A)::

        心血管病医院                  hospital, bold, double size
          挂号凭条
    ------------------------------------------------
            排队号
             12号                   queue number, bold, triple size
    ------------------------------------------------
    科室：心血管内科
    医生：张建国
    职称：主任医师
    诊室：门诊楼3层 312诊室
    日期：2026-07-10 星期五
    时间：08:30-09:00
    患者：李*
    预约号：123456789
    费用：￥25.00
    支付：银行卡
    ------------------------------------------------

              [QR: the booking number]

    打印时间：2026-07-10 08:12:05        hospital-local time
    请在诊室外候诊，留意叫号。过号请到分诊台。
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .printout import Line, PrintItem, Printout, QrCode, Span

COLUMNS = 48
"""Characters of font A (12 dots wide) on 80 mm paper (576 dots): every kiosk printer we
know of. A CJK character takes two columns."""

SUBTITLE = "挂号凭条"
FOOTER = "请在诊室外候诊，留意叫号。过号请到分诊台。"
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
LABELS = {
    "department": "科室：",
    "doctor": "医生：",
    "doctor_title": "职称：",
    "room": "诊室：",
    "day": "日期：",
    "time": "时间：",
    "masked_name": "患者：",
    "booking_no": "预约号：",
    "fee": "费用：",
    "paid_by": "支付：",
    "printed_at": "打印时间：",
}
HEADLINE_SIZE = 2
QUEUE_SIZE = 3
QR_MODULE_DOTS = 6  # a 21x21 QR (9 digits) is 126 dots, 16 mm: read at arm's length

_TEXT_FIELDS = ("hospital", "department", "doctor", "doctor_title", "room", "paid_by")
_TIME = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
_FEE = re.compile(r"￥(\d+)\.(\d\d)")


@dataclass(frozen=True, slots=True)
class Ticket:
    """One check-in ticket. ``masked_name`` as the engine masks it (``张*``): tickets are
    left on kiosk trays. ``fee`` in fen; ``paid_by`` how it was paid, as printed (预交金,
    银行卡 …). ``printed_at`` an aware instant, printed to the second in ``tz``, the
    hospital's time zone; ``start`` and ``end`` the slot's local times, whole minutes."""

    hospital: str
    department: str
    doctor: str
    doctor_title: str
    room: str
    day: date
    start: time
    end: time
    queue_no: int
    booking_no: str
    masked_name: str
    fee: int
    paid_by: str
    printed_at: datetime
    tz: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for name in (*_TEXT_FIELDS, "masked_name"):
            _check_text(name, getattr(self, name))
        if "*" not in self.masked_name:
            raise ValueError("masked_name must be masked (张*): tickets are left on trays")
        if not self.booking_no.isascii() or not self.booking_no.isdigit():
            raise ValueError(f"booking_no must be digits, not {self.booking_no!r}")
        if self.queue_no < 1 or self.fee < 0:
            raise ValueError("queue_no must be 1 or more and fee (fen) 0 or more")
        for name in ("start", "end"):
            if getattr(self, name).second or getattr(self, name).microsecond:
                raise ValueError(f"{name} must be a whole minute")
        if self.printed_at.tzinfo is None:
            raise ValueError("printed_at must be an aware datetime")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {self.tz!r}") from err
        object.__setattr__(self, "printed_at", self.printed_at.replace(microsecond=0))


def _check_text(name: str, value: str) -> None:
    """One printable line: a control character would be an ESC/POS command."""
    if not value.strip():
        raise ValueError(f"{name} is empty")
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            raise ValueError(f"{name} has a control character {char!r}")


def fen_to_yuan(fen: int) -> str:
    """``2550`` → ``25.50``."""
    return f"{fen // 100}.{fen % 100:02d}"


def ticket_layout(ticket: Ticket, *, columns: int = COLUMNS) -> tuple[PrintItem, ...]:
    """The ticket on paper, as lines and a QR code."""
    rule = Line((Span("-" * columns),))
    local = ticket.printed_at.astimezone(ZoneInfo(ticket.tz))
    values = {
        "department": ticket.department,
        "doctor": ticket.doctor,
        "doctor_title": ticket.doctor_title,
        "room": ticket.room,
        "day": f"{ticket.day.isoformat()} {WEEKDAYS[ticket.day.weekday()]}",
        "time": f"{ticket.start:%H:%M}-{ticket.end:%H:%M}",
        "masked_name": ticket.masked_name,
        "booking_no": ticket.booking_no,
        # ￥ (U+FFE5) is in GB2312, which every Chinese printer's font has; ¥ (U+00A5) is a
        # four-byte GB18030 sequence that printers with only a GBK font print as "?"
        "fee": f"￥{fen_to_yuan(ticket.fee)}",
        "paid_by": ticket.paid_by,
    }
    big, queue = HEADLINE_SIZE, QUEUE_SIZE
    return (
        Line((Span(ticket.hospital, bold=True, width=big, height=big),), "center"),
        Line((Span(SUBTITLE),), "center"),
        rule,
        Line((Span("排队号"),), "center"),
        Line((Span(f"{ticket.queue_no}号", bold=True, width=queue, height=queue),), "center"),
        rule,
        *(Line((Span(LABELS[key] + value),)) for key, value in values.items()),
        rule,
        Line(),  # a blank line above and below: the quiet zone a QR scanner needs
        QrCode(ticket.booking_no, module_size=QR_MODULE_DOTS, error="M"),
        Line(),
        Line((Span(LABELS["printed_at"] + f"{local:%Y-%m-%d %H:%M:%S}"),)),
        Line((Span(FOOTER),)),
    )


def ticket_from_printout(printout: Printout, *, tz: str = "Asia/Shanghai") -> Ticket:
    """Read a printed ticket back (the inverse of :func:`ticket_layout`). Raises
    ``ValueError`` naming what is missing or unreadable."""
    lines = [item for item in printout.items if isinstance(item, Line) and item.spans]
    qr_codes = [item.data for item in printout.items if isinstance(item, QrCode)]
    if len(lines) < 5:
        raise ValueError("not a ticket: fewer than five lines")
    texts = [line.text for line in lines]

    def field(key: str) -> str:
        label = LABELS[key]
        found = next((t for t in texts[1:] if t.startswith(label)), None)
        if found is None:
            raise ValueError(f"no {label} line")
        return found.removeprefix(label)

    queue_at = texts.index("排队号", 1) + 1 if "排队号" in texts[1:] else None
    queue = re.fullmatch(r"(\d+)号", texts[queue_at]) if queue_at else None
    times = _TIME.fullmatch(field("time"))
    fee = _FEE.fullmatch(field("fee"))
    if queue is None or times is None or fee is None:
        raise ValueError("queue number, time or fee unreadable")
    booking_no = field("booking_no")
    if qr_codes != [booking_no]:
        raise ValueError(f"the QR code says {qr_codes}, the ticket {booking_no}")
    zone = ZoneInfo(tz)
    h1, m1, h2, m2 = (int(g) for g in times.groups())
    return Ticket(
        hospital=texts[0],
        department=field("department"),
        doctor=field("doctor"),
        doctor_title=field("doctor_title"),
        room=field("room"),
        day=date.fromisoformat(field("day")[:10]),
        start=time(h1, m1),
        end=time(h2, m2),
        queue_no=int(queue.group(1)),
        booking_no=booking_no,
        masked_name=field("masked_name"),
        fee=int(Decimal(f"{fee.group(1)}.{fee.group(2)}") * 100),
        paid_by=field("paid_by"),
        printed_at=datetime.strptime(field("printed_at"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone),
        tz=tz,
    )
