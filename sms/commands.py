"""The SMS commands (短信指令) as values, and their canonical text.

:mod:`sms.grammar` reads them from what a phone sent; the SMS handler runs them; replies
quote :data:`FORMATS` and word each :class:`ParseError` code. :func:`format` writes the text
that :func:`sms.grammar.parse` reads back to the same value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

#: The ID number replies and docs show in ``ZC`` examples. It passes every check the grammar
#: makes (so a patient who copies the format learns nothing wrong) yet can be nobody's:
#: region 110000 is Beijing as a whole, never a county a number is issued in, and sequence
#: 000 is never issued. All those zeros also look like what they are. Texting it is refused
#: as "that is the example" (``reply.example_id``), and the log keeps it like any other
#: number (last 4 only), while the text sent shows it whole.
EXAMPLE_ID_NUMBER = "110000200001010000"

#: Each command keyword (as ``ParseError.command`` names it) → its canonical example.
FORMATS: dict[str, str] = {
    "GHDH": "GHDH00868,07150830,张三",
    "ZC": f"ZC {EXAMPLE_ID_NUMBER} 张三",
    "CX": "CX 123456786",
    "QX": "QX 123456786",
    "GQ": "GQ 123456786 07160900",
    "KS": "KS 心内",
    "YS": "YS 张",
    "BZ": "BZ",
    "TD": "TD",
    "DY": "DY",
    "SURVEY": "5",
    "SS": "SS 那天住院了",
    "HB": "HB 00868 0715",
    "QH": "QH",
    "QR": "QR 123456786",
}

#: Every ``ParseError.code`` :func:`parse` can return (for the reply catalogue's test).
ERROR_CODES: frozenset[str] = frozenset(
    {
        "empty",
        "unknown_command",
        "too_many_parts",
        "missing_doctor_code",
        "bad_doctor_code",
        "missing_date",
        "ambiguous_date",
        "bad_date",
        "bad_time",
        "missing_name",
        "bad_name",
        "missing_booking_no",
        "bad_booking_no",
        "missing_id_number",
        "bad_id_number",
        "missing_query",
        "bad_query",
        "bad_score",
        "incomplete",
        "missing_reason",
        "bad_reason",
        "missing_day",
        "bad_day",
    }
)

INCOMPLETE_PREFIX = "[未收全 "
"""How a gateway marks a long text (长短信) some of whose parts never came: the body is
``[未收全 1/2] `` and the parts that did, ``…`` for each missing one. The grammar answers
it with ``incomplete`` ("send it again") instead of acting on half a command."""


def incomplete_body(texts: list[str | None]) -> str:
    """The body of a long text whose parts ``texts`` (None: missing) are all there is."""
    got = sum(text is not None for text in texts)
    return f"{INCOMPLETE_PREFIX}{got}/{len(texts)}] " + "".join(
        "…" if text is None else text for text in texts
    )


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class MonthDayTime:
    """A local date and time without a year, typed as MMDDhhmm (月日时分). The handler
    resolves the year against today in the hospital's zone."""

    month: int
    day: int
    hour: int
    minute: int

    def __post_init__(self) -> None:
        problem = when_problem(self.month, self.day, self.hour, self.minute)
        if problem is not None:
            raise ValueError(f"{problem} out of range in {self!r}")

    @property
    def digits(self) -> str:
        return f"{self.month:02d}{self.day:02d}{self.hour:02d}{self.minute:02d}"

    def __str__(self) -> str:
        return self.digits


def when_problem(month: int, day: int, hour: int, minute: int) -> str | None:
    """Which part of a yearless date and time does not exist ("month", "day", "hour",
    "minute"), or ``None``. 29 February exists: the year is not known yet."""
    if not 1 <= month <= 12:
        return "month"
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return "day"
    if not 0 <= hour <= 23:
        return "hour"
    if not 0 <= minute <= 59:
        return "minute"
    return None


@dataclass(frozen=True, slots=True)
class Book:
    """Book a doctor for this phone's patient of that name (短信挂号, GHDH)."""

    KEYWORD: ClassVar[str] = "GHDH"
    doctor_code: str
    when: MonthDayTime
    name: str


@dataclass(frozen=True, slots=True)
class Register:
    """Register this phone for a patient (实名注册, ZC); the reply carries the patient's number."""

    KEYWORD: ClassVar[str] = "ZC"
    id_number: str
    name: str


@dataclass(frozen=True, slots=True)
class MyBookings:
    """List this phone's bookings (查询我的预约, CX); ``page`` 2 and on (``CX2``) list those
    that did not fit before (a reply that leaves some out says which page to ask for)."""

    KEYWORD: ClassVar[str] = "CX"
    page: int = 1


@dataclass(frozen=True, slots=True)
class BookingStatus:
    """One booking's status (查询预约, CX 预约号)."""

    KEYWORD: ClassVar[str] = "CX"
    booking_no: str


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel a booking (取消预约, QX)."""

    KEYWORD: ClassVar[str] = "QX"
    booking_no: str


@dataclass(frozen=True, slots=True)
class Reschedule:
    """Move a booking to another time (改期, GQ)."""

    KEYWORD: ClassVar[str] = "GQ"
    booking_no: str
    when: MonthDayTime


@dataclass(frozen=True, slots=True)
class Departments:
    """List the departments (科室列表, KS)."""

    KEYWORD: ClassVar[str] = "KS"


@dataclass(frozen=True, slots=True)
class DepartmentDoctors:
    """A department's doctors, by department name or code (科室医生, KS 心内 / KS 0101)."""

    KEYWORD: ClassVar[str] = "KS"
    query: str

    @property
    def is_code(self) -> bool:
        return self.query.isascii() and self.query.isdigit()


@dataclass(frozen=True, slots=True)
class FindDoctors:
    """Doctors by name or specialty, fuzzy (查医生, YS 关键词)."""

    KEYWORD: ClassVar[str] = "YS"
    keyword: str


@dataclass(frozen=True, slots=True)
class Help:
    """What can I send? (帮助, BZ / ? / 帮助 / HELP)."""

    KEYWORD: ClassVar[str] = "BZ"


@dataclass(frozen=True, slots=True)
class OptOut:
    """No more reminders or satisfaction surveys to this phone (退订, TD / STOP)."""

    KEYWORD: ClassVar[str] = "TD"


@dataclass(frozen=True, slots=True)
class OptIn:
    """Reminders and surveys again (订阅, DY / START)."""

    KEYWORD: ClassVar[str] = "DY"


@dataclass(frozen=True, slots=True)
class MonthDay:
    """A local date without a year, typed as MMDD (月日); the handler resolves the year."""

    month: int
    day: int

    def __post_init__(self) -> None:
        problem = when_problem(self.month, self.day, 0, 0)
        if problem is not None:
            raise ValueError(f"{problem} out of range in {self!r}")

    @property
    def digits(self) -> str:
        return f"{self.month:02d}{self.day:02d}"


@dataclass(frozen=True, slots=True)
class JoinWaitlist:
    """Wait for a full day of a doctor (候补, HB 工号 MMDD [姓名]): the doctor's earliest
    full session that day; ``name`` picks one of this phone's patients (needed only when
    the phone has several)."""

    KEYWORD: ClassVar[str] = "HB"
    doctor_code: str
    day: MonthDay
    name: str | None = None


@dataclass(frozen=True, slots=True)
class LeaveWaitlist:
    """Leave the waitlist (退出候补, QH): every line this phone's patients wait in, or with
    ``QH 工号 MMDD`` only that doctor's that day."""

    KEYWORD: ClassVar[str] = "QH"
    doctor_code: str | None = None
    day: MonthDay | None = None


@dataclass(frozen=True, slots=True)
class ConfirmOffer:
    """Take a place offered from the waitlist (确认候补, QR 预约号): confirmed, or paid from
    the card's prepaid balance where the hospital requires prepayment."""

    KEYWORD: ClassVar[str] = "QR"
    booking_no: str


@dataclass(frozen=True, slots=True)
class SurveyScore:
    """A reply to the satisfaction survey after a visit (满意度评分), 1 (worst) to 5 (best)."""

    KEYWORD: ClassVar[str] = "SURVEY"
    score: int


@dataclass(frozen=True, slots=True)
class AppealBan:
    """Appeal against the suspension of this phone's patient(s) (申诉, SS 理由): the reason
    as words separated by single spaces (an administrator decides; the answer is texted)."""

    KEYWORD: ClassVar[str] = "SS"
    reason: str


Command: TypeAlias = (
    Book
    | Register
    | MyBookings
    | BookingStatus
    | Cancel
    | Reschedule
    | Departments
    | DepartmentDoctors
    | FindDoctors
    | Help
    | OptOut
    | OptIn
    | SurveyScore
    | AppealBan
    | JoinWaitlist
    | LeaveWaitlist
    | ConfirmOffer
)


@dataclass(frozen=True, slots=True)
class ParseError:
    """What was wrong with a message (指令格式错误): a stable ``code`` (one of
    :data:`ERROR_CODES`), the ``command`` keyword it was about (``None`` when no command was
    recognised) and ``params`` for the wording."""

    code: str
    command: str | None = None
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def example(self) -> str | None:
        """The right format to quote back, if the error was about a known command."""
        return FORMATS.get(self.command) if self.command else None


def format(command: Command) -> str:
    """The canonical text of a command, as replies quote it and :func:`parse` reads it back."""
    match command:
        case Book(doctor_code, when, name):
            return f"GHDH{doctor_code},{when.digits},{name}"
        case Register(id_number, name):
            return f"ZC {id_number} {name}"
        case MyBookings(page):
            return "CX" if page == 1 else f"CX{page}"
        case BookingStatus(booking_no):
            return f"CX {booking_no}"
        case Cancel(booking_no):
            return f"QX {booking_no}"
        case Reschedule(booking_no, when):
            return f"GQ {booking_no} {when.digits}"
        case Departments():
            return "KS"
        case DepartmentDoctors(query):
            return f"KS {query}"
        case FindDoctors(keyword):
            return f"YS {keyword}"
        case Help():
            return "BZ"
        case OptOut():
            return "TD"
        case OptIn():
            return "DY"
        case SurveyScore(score):
            return str(score)
        case AppealBan(reason):
            return f"SS {reason}"
        case JoinWaitlist(doctor_code, day, name):
            return f"HB {doctor_code} {day.digits}" + (f" {name}" if name else "")
        case LeaveWaitlist(doctor_code, day):
            return "QH" if doctor_code is None or day is None else f"QH {doctor_code} {day.digits}"
        case ConfirmOffer(booking_no):
            return f"QR {booking_no}"
    raise TypeError(f"not an SMS command: {command!r}")
