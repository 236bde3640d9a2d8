"""The SMS command grammar (短信指令): what a patient's phone sent → a command, or a precise
parse error.

Pure: no I/O, no clock, no wording. :func:`parse` never raises; a refusal is a
:class:`ParseError` with a stable ``code``, its ``params`` and the ``command`` keyword it was
about, so the SMS door can word it and quote ``FORMATS[command]``. :func:`format` writes the
canonical text, and ``parse(format(c)) == c`` for every valid command.

Commands (keywords are case-insensitive; aliases in brackets)::

    GHDH00868,07150830,张三      Book           挂号: doctor work number, MMDDhhmm, name
    ZC 身份证号 姓名              Register       注册本手机 (the name may also come first)
    CX  /  CX2  /  CX 预约号      MyBookings (page) / BookingStatus   查询
    QX 预约号                    Cancel         取消
    GQ 预约号 MMDDhhmm           Reschedule     改期
    KS  /  KS 科室名或代码        Departments / DepartmentDoctors   科室
    YS 关键词                    FindDoctors    医生 (name or specialty)
    BZ  [? 帮助 HELP]            Help           帮助 (anything after it is ignored)
    TD  [退订 STOP UNSUBSCRIBE]  OptOut         退订提醒与回访
    DY  [订阅 START]             OptIn          重新订阅
    1 … 5                        SurveyScore    满意度评分
    SS 理由  [申诉]               AppealBan      申诉 (against a suspension, 黑名单)
    HB 工号 MMDD [姓名]          JoinWaitlist   候补: the doctor's earliest full session that day
    QH  /  QH 工号 MMDD          LeaveWaitlist  退出候补 (every line, or that doctor's that day)
    QR 预约号                    ConfirmOffer   确认候补: take the place offered

What is tolerated
-----------------
- Only the first 500 characters are looked at.
- NFKC: full-width digits, letters and punctuation become half-width, the ideographic
  space a space. Control and format characters (zero-width spaces, BOMs, lone surrogates)
  are dropped.
- Separators: any run of spaces, ``,`` ``，`` ``、`` ``;`` ``；``.
- A keyword may be glued to its argument (``KS心内``, ``QX123456786``, ``GHDH00868``) unless
  the argument starts with a Latin letter (``KSenia`` is not ``KS enia``).
- Glued or spaced-out parts where the split is unambiguous: ``GHDH0086807150830张三``;
  a date as ``0715 0830``; an ID number typed in groups (``110105 19491231 002X``) or glued
  to the name; a booking number in groups (``CX 123 456 786``); ``GQ`` + 17 glued digits.
- Signatures are dropped:
  a ``【…】``, ``[…]``, ``〖…〗`` or ``〔…〕`` block at the start or end of a line (also an
  unclosed trailing ``【…``);
  everything from ``--``, a dash (``—`` ``–`` ``―`` ``─``) or a `` -`` (space, hyphen) on;
  trailing ``.`` ``。`` ``!`` ``?`` ``~``.
- A text a gateway marked incomplete (``[未收全 1/2] …``: parts of a long text never came)
  is ``incomplete``, whatever the parts that came say.
- Lines: the first non-empty line is the command when it parses on its own (what follows
  is taken for a signature, e.g. "发自我的iPhone"); otherwise, if all lines joined by
  spaces parse, that command; otherwise the first line's error.

What is strict
--------------
- ``CX`` with 1 or 2 digits (1–99) asks for that page of the bookings list.
- Doctor work number: exactly 5 digits. Booking number: 9 digits whose last is a Damm
  check digit. ID number: 18 characters, valid checksum, birth date and region.
- ``HB`` / ``QH``: a 5-digit work number, then MMDD (exactly 4 digits, the month and day
  must exist: ``missing_day``, ``bad_day``); glued ``HB008680715`` is read too.
- MMDDhhmm: exactly 8 digits. 6 or 7 digits is ``ambiguous_date`` (``7150830`` could be
  07-15 08:30 or nothing at all); the month, day (29 February allowed: there is no year
  yet), hour and minute must exist.
- A name is 1–20 letters (any script) with ``·`` between parts (``•`` ``・`` ``‧`` are
  read as ``·``); a digit in a name is refused.
- Apart from ``BZ``, a command takes exactly the parts its format has; anything more is
  ``too_many_parts``. ``KS`` and ``YS`` read all their words as one query (at most 20
  letters, digits, ``·`` and spaces).
"""

from __future__ import annotations

import re
import unicodedata

from booking_core.kernel.errors import InvalidIdNumber
from booking_core.kernel.identity import is_booking_no, normalize_id_number

from .commands import (
    ERROR_CODES,
    FORMATS,
    INCOMPLETE_PREFIX,
    AppealBan,
    Book,
    BookingStatus,
    Cancel,
    Command,
    ConfirmOffer,
    DepartmentDoctors,
    Departments,
    FindDoctors,
    Help,
    JoinWaitlist,
    LeaveWaitlist,
    MonthDay,
    MonthDayTime,
    MyBookings,
    OptIn,
    OptOut,
    ParseError,
    Register,
    Reschedule,
    SurveyScore,
    format,
    when_problem,
)

__all__ = [
    "ERROR_CODES",
    "FORMATS",
    "AppealBan",
    "Book",
    "BookingStatus",
    "Cancel",
    "Command",
    "ConfirmOffer",
    "DepartmentDoctors",
    "Departments",
    "FindDoctors",
    "Help",
    "JoinWaitlist",
    "LeaveWaitlist",
    "MonthDay",
    "MonthDayTime",
    "MyBookings",
    "OptIn",
    "OptOut",
    "ParseError",
    "Register",
    "Reschedule",
    "SurveyScore",
    "format",
    "parse",
]

MAX_INPUT_CHARS = 500
MAX_NAME_CHARS = 20
MAX_QUERY_CHARS = 20
MAX_REASON_CHARS = 200  # an appeal's reason: what the core keeps (blacklist.appeals)
_MAX_ECHO_CHARS = 20  # how much of what was received an error carries back

# --- normalising what phones send -------------------------------------------------------

_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_SEPARATORS = re.compile(r"[\s,、;]+")
_LEADING_BLOCK = re.compile(r"^(?:【[^【】]*】|\[[^\[\]]*\]|〖[^〖〗]*〗|〔[^〔〕]*〕)")
_TRAILING_BLOCK = re.compile(r"(?:【[^【】]*】?|\[[^\[\]]*\]|〖[^〖〗]*〗|〔[^〔〕]*〕)$")
_DASH_SIGNATURE = re.compile(r"-{2,}|[—–―─‒]|\s-")
_TRAILING_PUNCTUATION = ".。!?~ "
_NAME_DOTS = re.compile(r"[•・‧]")


def _lines(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT_CHARS])[: 2 * MAX_INPUT_CHARS]
    kept: list[str] = []
    for ch in text:
        if ch in _LINE_BREAKS:
            kept.append("\n")
        elif ch == "\t":
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            kept.append(ch)
    return [line for raw in "".join(kept).split("\n") if (line := _strip_signature(raw))]


def _strip_signature(line: str) -> str:
    line = line.strip()
    while True:
        before = line
        if dash := _DASH_SIGNATURE.search(line):
            line = line[: dash.start()].rstrip()
        if block := _TRAILING_BLOCK.search(line):
            line = line[: block.start()].rstrip()
        if block := _LEADING_BLOCK.search(line):
            line = line[block.end() :].lstrip()
        stripped = line.rstrip(_TRAILING_PUNCTUATION)
        line = "?" if not stripped and "?" in line else stripped
        if line == before:
            return line


# --- reading the parts ------------------------------------------------------------------

_ALIASES = {
    "GHDH": "GHDH",
    "ZC": "ZC",
    "CX": "CX",
    "QX": "QX",
    "GQ": "GQ",
    "KS": "KS",
    "YS": "YS",
    "BZ": "BZ",
    "HELP": "BZ",
    "帮助": "BZ",
    "?": "BZ",
    "TD": "TD",
    "退订": "TD",
    "STOP": "TD",
    "UNSUBSCRIBE": "TD",
    "DY": "DY",
    "START": "DY",
    "订阅": "DY",
    "SS": "SS",
    "申诉": "SS",
    "HB": "HB",
    "候补": "HB",
    "QH": "QH",
    "QR": "QR",
}
_GLUABLE = sorted((a for a in _ALIASES if a != "?"), key=len, reverse=True)
_DIGITS = re.compile(r"[0-9]+")
_SCORE = re.compile(r"[0-9]{1,2}")
_PAGE = re.compile(r"0?[1-9]|[1-9][0-9]")  # CX 1 … CX 99 (a booking number has 9 digits)
_DIGITS_THEN_REST = re.compile(r"([0-9]{4,})([^0-9].*)")
_ID_PART = re.compile(r"[0-9]+[Xx]?")
_ID_THEN_NAME = re.compile(r"([0-9]{17}[0-9Xx])([^0-9].*)")
_NAME_THEN_ID = re.compile(r"([^0-9]+)([0-9]{17}[0-9Xx])")


def _echo(text: str) -> str:
    return text[:_MAX_ECHO_CHARS]


def _is_digits(text: str, length: int | None = None) -> bool:
    return _DIGITS.fullmatch(text) is not None and (length is None or len(text) == length)


def _has_digit(text: str) -> bool:
    return any("0" <= ch <= "9" for ch in text)


def _split_keyword(head: str) -> tuple[str, str] | None:
    """(canonical keyword, what was glued to it) for the message's first part."""
    if (keyword := _ALIASES.get(head.upper())) is not None:
        return keyword, ""
    for alias in _GLUABLE:
        if head[: len(alias)].upper() == alias:
            rest = head[len(alias) :]
            if alias.isascii() and rest[:1].isascii() and rest[:1].isalpha():
                continue
            return _ALIASES[alias], rest
    return None


def _extra(command: str, parts: list[str]) -> ParseError:
    return ParseError("too_many_parts", command, {"extra": _echo(" ".join(parts))})


def _read_when(token: str, command: str) -> MonthDayTime | ParseError:
    if not _is_digits(token):
        return ParseError("bad_date", command, {"received": _echo(token), "reason": "format"})
    if len(token) in (6, 7):
        return ParseError("ambiguous_date", command, {"received": token, "length": len(token)})
    if len(token) != 8:
        return ParseError("bad_date", command, {"received": _echo(token), "reason": "length"})
    month, day, hour, minute = (int(token[i : i + 2]) for i in range(0, 8, 2))
    problem = when_problem(month, day, hour, minute)
    if problem is None:
        return MonthDayTime(month, day, hour, minute)
    code = "bad_date" if problem in ("month", "day") else "bad_time"
    return ParseError(code, command, {"received": token, "reason": problem})


def _take_when(args: list[str], i: int, command: str) -> tuple[MonthDayTime | ParseError, int]:
    """The date at ``args[i]`` (``MMDDhhmm``, or ``MMDD hhmm`` in two parts) and what follows."""
    if i >= len(args):
        return ParseError("missing_date", command), i
    token = args[i]
    if _is_digits(token, 4) and i + 1 < len(args) and _is_digits(args[i + 1], 4):
        token, i = token + args[i + 1], i + 1
    return _read_when(token, command), i + 1


def _read_booking_no(token: str, command: str) -> str | ParseError:
    reason = (
        "format"
        if not _is_digits(token)
        else "length"
        if len(token) != 9
        else "check_digit"
        if not is_booking_no(token)
        else None
    )
    if reason is None:
        return token
    return ParseError("bad_booking_no", command, {"received": _echo(token), "reason": reason})


def _read_name(token: str, command: str) -> str | ParseError:
    name = _NAME_DOTS.sub("·", token)
    reason = None
    if any(ch.isdigit() for ch in name):
        reason = "digits"
    elif len(name) > MAX_NAME_CHARS:
        reason = "too_long"
    elif not all(part and all(ch.isalpha() for ch in part) for part in name.split("·")):
        reason = "characters"
    if reason is None:
        return name
    return ParseError("bad_name", command, {"received": _echo(token), "reason": reason})


def _read_query(args: list[str], command: str) -> str | ParseError:
    query = _NAME_DOTS.sub("·", " ".join(args))
    reason = None
    if len(query) > MAX_QUERY_CHARS:
        reason = "too_long"
    elif not all(ch.isalnum() or ch in "· " for ch in query) or not any(
        ch.isalnum() for ch in query
    ):
        reason = "characters"
    if reason is None:
        return query
    return ParseError("bad_query", command, {"received": _echo(query), "reason": reason})


# --- one reader per command -------------------------------------------------------------


def _book(args: list[str]) -> Command | ParseError:
    parts: list[str] = []
    for arg in args:  # "07150830张三" → "07150830", "张三"
        glued = _DIGITS_THEN_REST.fullmatch(arg)
        parts.extend(glued.groups() if glued else (arg,))
    if not parts:
        return ParseError("missing_doctor_code", "GHDH")
    if _is_digits(parts[0], 13):  # GHDH0086807150830
        parts[0:1] = [parts[0][:5], parts[0][5:]]
    code = parts[0]
    if not _is_digits(code, 5):
        reason = "length" if _is_digits(code) else "format"
        return ParseError("bad_doctor_code", "GHDH", {"received": _echo(code), "reason": reason})
    when, i = _take_when(parts, 1, "GHDH")
    if isinstance(when, ParseError):
        return when
    if i >= len(parts):
        return ParseError("missing_name", "GHDH")
    name = _read_name(parts[i], "GHDH")
    if isinstance(name, ParseError):
        return name
    if i + 1 < len(parts):
        return _extra("GHDH", parts[i + 1 :])
    return Book(code, when, name)


def _register(args: list[str]) -> Command | ParseError:
    parts: list[str] = []
    for arg in args:  # "11010519491231002X张三" or "张三11010519491231002X"
        glued = _ID_THEN_NAME.fullmatch(arg) or _NAME_THEN_ID.fullmatch(arg)
        parts.extend(glued.groups() if glued else (arg,))
    if len(parts) > 1 and not _has_digit(parts[0]) and _has_digit(parts[1]):
        parts = [*parts[1:], parts[0]]  # ZC 张三 110105…
    id_parts: list[str] = []
    while len(id_parts) < len(parts) and _ID_PART.fullmatch(parts[len(id_parts)]):
        id_parts.append(parts[len(id_parts)])
        if sum(map(len, id_parts)) >= 18 or id_parts[-1][-1] in "Xx":
            break
    if not id_parts:
        if parts and _has_digit(parts[0]):
            params = {"reason": "format", "length": len(parts[0])}
            return ParseError("bad_id_number", "ZC", params)
        return ParseError("missing_id_number", "ZC")
    joined = "".join(id_parts)
    try:
        id_number = normalize_id_number(joined)
    except InvalidIdNumber as err:
        params = {"reason": err.params["reason"], "length": len(joined)}
        return ParseError("bad_id_number", "ZC", params)
    rest = parts[len(id_parts) :]
    if not rest:
        return ParseError("missing_name", "ZC")
    name = _read_name(rest[0], "ZC")
    if isinstance(name, ParseError):
        return name
    if len(rest) > 1:
        return _extra("ZC", rest[1:])
    return Register(id_number, name)


def _booking_no_only(args: list[str], command: str) -> str | ParseError:
    if len(args) > 1 and all(map(_is_digits, args)) and sum(map(len, args)) == 9:
        args = ["".join(args)]  # CX 123 456 786
    if not args:
        return ParseError("missing_booking_no", command)
    booking_no = _read_booking_no(args[0], command)
    if isinstance(booking_no, ParseError):
        return booking_no
    return _extra(command, args[1:]) if len(args) > 1 else booking_no


def _query(args: list[str]) -> Command | ParseError:
    if not args:
        return MyBookings()
    if len(args) == 1 and _PAGE.fullmatch(args[0]):  # CX2, CX 2: the next page of the list
        return MyBookings(int(args[0]))
    booking_no = _booking_no_only(args, "CX")
    return booking_no if isinstance(booking_no, ParseError) else BookingStatus(booking_no)


def _cancel(args: list[str]) -> Command | ParseError:
    booking_no = _booking_no_only(args, "QX")
    return booking_no if isinstance(booking_no, ParseError) else Cancel(booking_no)


def _reschedule(args: list[str]) -> Command | ParseError:
    if not args:
        return ParseError("missing_booking_no", "GQ")
    if _is_digits(args[0], 17):  # GQ12345678607160900
        args = [args[0][:9], args[0][9:], *args[1:]]
    booking_no = _read_booking_no(args[0], "GQ")
    if isinstance(booking_no, ParseError):
        return booking_no
    when, i = _take_when(args, 1, "GQ")
    if isinstance(when, ParseError):
        return when
    return _extra("GQ", args[i:]) if i < len(args) else Reschedule(booking_no, when)


def _departments(args: list[str]) -> Command | ParseError:
    if not args:
        return Departments()
    query = _read_query(args, "KS")
    return query if isinstance(query, ParseError) else DepartmentDoctors(query)


def _doctors(args: list[str]) -> Command | ParseError:
    if not args:
        return ParseError("missing_query", "YS")
    query = _read_query(args, "YS")
    return query if isinstance(query, ParseError) else FindDoctors(query)


def _appeal(args: list[str]) -> Command | ParseError:
    if not args:
        return ParseError("missing_reason", "SS")
    reason = " ".join(args)
    if len(reason) > MAX_REASON_CHARS:
        return ParseError("bad_reason", "SS", {"length": len(reason)})
    return AppealBan(reason)


def _doctor_day(args: list[str], command: str) -> tuple[str, MonthDay, list[str]] | ParseError:
    """``工号 MMDD`` (or glued ``工号MMDD``) and what follows."""
    if args and _is_digits(args[0], 9):  # HB008680715
        args = [args[0][:5], args[0][5:], *args[1:]]
    if not args:
        return ParseError("missing_doctor_code", command)
    code = args[0]
    if not _is_digits(code, 5):
        reason = "length" if _is_digits(code) else "format"
        return ParseError("bad_doctor_code", command, {"received": _echo(code), "reason": reason})
    if len(args) < 2:
        return ParseError("missing_day", command)
    token = args[1]
    if not _is_digits(token, 4):
        return ParseError("bad_day", command, {"received": _echo(token), "reason": "format"})
    month, day = int(token[:2]), int(token[2:])
    problem = when_problem(month, day, 0, 0)
    if problem is not None:
        return ParseError("bad_day", command, {"received": token, "reason": problem})
    return code, MonthDay(month, day), args[2:]


def _join_waitlist(args: list[str]) -> Command | ParseError:
    found = _doctor_day(args, "HB")
    if isinstance(found, ParseError):
        return found
    code, day, rest = found
    if not rest:
        return JoinWaitlist(code, day)
    name = _read_name(rest[0], "HB")
    if isinstance(name, ParseError):
        return name
    return _extra("HB", rest[1:]) if len(rest) > 1 else JoinWaitlist(code, day, name)


def _leave_waitlist(args: list[str]) -> Command | ParseError:
    if not args:
        return LeaveWaitlist()
    found = _doctor_day(args, "QH")
    if isinstance(found, ParseError):
        return found
    code, day, rest = found
    return _extra("QH", rest) if rest else LeaveWaitlist(code, day)


def _confirm_offer(args: list[str]) -> Command | ParseError:
    booking_no = _booking_no_only(args, "QR")
    return booking_no if isinstance(booking_no, ParseError) else ConfirmOffer(booking_no)


def _bare(command: Command, keyword: str):
    def read(args: list[str]) -> Command | ParseError:
        return _extra(keyword, args) if args else command

    return read


_READERS = {
    "GHDH": _book,
    "ZC": _register,
    "CX": _query,
    "QX": _cancel,
    "GQ": _reschedule,
    "KS": _departments,
    "YS": _doctors,
    "BZ": lambda args: Help(),  # a person asking for help is not told off for extra words
    "TD": _bare(OptOut(), "TD"),
    "DY": _bare(OptIn(), "DY"),
    "SS": _appeal,
    "HB": _join_waitlist,
    "QH": _leave_waitlist,
    "QR": _confirm_offer,
}


def _parse_line(line: str) -> Command | ParseError:
    if _SCORE.fullmatch(line):
        score = int(line)
        if 1 <= score <= 5:
            return SurveyScore(score)
        return ParseError("bad_score", "SURVEY", {"received": line})
    parts = [part for part in _SEPARATORS.split(line) if part]
    if not parts:
        return ParseError("empty")
    head, *args = parts
    found = _split_keyword(head)
    if found is None:
        return ParseError("unknown_command", None, {"received": _echo(head)})
    keyword, glued = found
    return _READERS[keyword]([glued, *args] if glued else args)


def parse(text: str) -> Command | ParseError:
    """Read one inbound SMS. Never raises: anything not understood is a :class:`ParseError`."""
    if text.startswith(INCOMPLETE_PREFIX):  # a gateway gave up waiting for the rest
        return ParseError("incomplete")
    lines = _lines(text)
    if not lines:
        return ParseError("empty")
    first = _parse_line(lines[0])
    if isinstance(first, ParseError) and len(lines) > 1:
        whole = _parse_line(_strip_signature(" ".join(lines)))
        if not isinstance(whole, ParseError):
            return whole
    return first
