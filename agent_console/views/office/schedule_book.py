"""The schedule template (排班导入模板) as an .xlsx workbook: made for the hospital to fill
in, and read back into the core's :class:`~booking_core.schedule.ImportSchedule` rows.

Three sheets — 科室 (departments), 医生 (doctors), 排班 (sessions) — each with one header
row (Chinese and English in each cell) and one example row (grey, italic) under it. Rows are
numbered as Excel shows them, and every bad row is reported by its sheet and that number.
The example row, left as it came, is not imported; overwritten, it is read as any row.

Cells are read as a person types them: codes and work numbers as text (a number Excel
made of ``00868`` gets its leading zeros back), dates as dates or ``2026-07-13``, times as
times or ``08:00``, periods as 上午/下午/夜间 or morning/afternoon/evening, money in yuan
(``25`` or ``25.50``, kept as fen), 是/否 for "active". Reading is pure Python, done in a
worker thread by the view, on at most :data:`MAX_FILE_BYTES` of file that unpacks to at
most :data:`MAX_UNPACKED_BYTES` (a small file can unpack to gigabytes).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from booking_core.schedule import (
    MAX_DEPARTMENTS,
    MAX_DOCTORS,
    MAX_SESSIONS,
    DepartmentLine,
    DoctorLine,
    Period,
    RowProblem,
    SessionLine,
)

MAX_FILE_BYTES = 1_000_000  # a week of 5,000 sessions is about 200 kB as .xlsx
MAX_UNPACKED_BYTES = 50_000_000
MAX_FEN = 100_000_000  # a million yuan: above is a typing error
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)

SHEETS = {"departments": "科室", "doctors": "医生", "sessions": "排班"}
"""The core's list names → the sheets' names."""

PERIODS = {
    "上午": Period.MORNING, "下午": Period.AFTERNOON, "夜间": Period.EVENING,
    "晚上": Period.EVENING, "morning": Period.MORNING, "afternoon": Period.AFTERNOON,
    "evening": Period.EVENING,
}  # fmt: skip
YES = {"是", "y", "yes", "1", "true", "启用", "√"}
NO = {"否", "n", "no", "0", "false", "停用", "×"}


@dataclass(frozen=True)
class Column:
    key: str  # the field's name, as the core's row problems name it
    zh: str
    en: str
    width: int = 12

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"


COLUMNS: dict[str, tuple[Column, ...]] = {
    "departments": (
        Column("code", "科室代码", "code"),
        Column("name", "科室名称", "name", 16),
        Column("aliases", "别名（逗号分隔）", "aliases", 22),
        Column("active", "启用", "active", 8),
    ),
    "doctors": (
        Column("work_no", "工号", "work_no"),
        Column("name", "姓名", "name"),
        Column("department", "科室代码", "department"),
        Column("title", "职称", "title"),
        Column("specialty", "专长", "specialty", 20),
        Column("fee", "挂号费（元）", "fee_yuan"),
        Column("active", "启用", "active", 8),
    ),
    "sessions": (
        Column("doctor", "工号", "doctor"),
        Column("date", "日期", "date"),
        Column("period", "时段", "period"),
        Column("start", "开始", "start"),
        Column("end", "结束", "end"),
        Column("slot_minutes", "每号分钟", "slot_minutes"),
        Column("places_per_slot", "每号人数", "places_per_slot"),
        Column("room", "诊室", "room"),
        Column("fee", "挂号费（元，空＝医生的）", "fee_yuan", 16),
    ),
}

EXAMPLES: dict[str, tuple[Any, ...]] = {
    "departments": ("101", "心内科", "心脏科,心血管", "是"),
    "doctors": ("00868", "王医生", "101", "主任医师", "冠心病", 50, "是"),
    "sessions": ("00868", "2026-07-13", "上午", "08:00", "12:00", 15, 2, "301", None),
}
"""The example row under each header (as text where a person would type text)."""

LIMITS = {"departments": MAX_DEPARTMENTS, "doctors": MAX_DOCTORS, "sessions": MAX_SESSIONS}


def template() -> bytes:
    """The empty template: three sheets, headers, an example row each, and the validations
    openpyxl makes easy (lists for 时段 and 启用, whole-number ranges, text for codes)."""
    book = Workbook()
    book.remove(book.active)
    for where, sheet_name in SHEETS.items():
        sheet = book.create_sheet(sheet_name)
        columns = COLUMNS[where]
        sheet.append([c.header for c in columns])
        sheet.append(list(EXAMPLES[where]))
        for i, column in enumerate(columns, start=1):
            letter = sheet.cell(1, i).column_letter
            sheet.column_dimensions[letter].width = max(column.width, len(column.header) + 4)
            sheet.cell(1, i).font = Font(bold=True)
            sheet.cell(2, i).font = Font(italic=True, color="808080")
            if column.key in ("code", "work_no", "department", "doctor", "date", "start", "end"):
                # text: Excel keeps 00868 as typed, and a date or a time as written
                sheet.column_dimensions[letter].number_format = "@"
            _validate(sheet, where, column, f"{letter}2:{letter}{LIMITS[where] + 1}")
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _validate(sheet: Any, where: str, column: Column, cells: str) -> None:
    rule: DataValidation | None = None
    if column.key == "period":
        rule = DataValidation(type="list", formula1='"上午,下午,夜间"', allow_blank=False)
    elif column.key == "active":
        rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    elif column.key == "slot_minutes":
        rule = DataValidation(type="whole", operator="between", formula1="5", formula2="240")
    elif column.key == "places_per_slot":
        rule = DataValidation(type="whole", operator="between", formula1="1", formula2="500")
    elif column.key == "fee":
        rule = DataValidation(type="decimal", operator="between", formula1="0", formula2="1000000")
    if rule is not None:
        rule.error = f"{column.zh}: see the template's header ({column.en})"
        rule.showErrorMessage = True
        sheet.add_data_validation(rule)
        rule.add(cells)


# --- reading a filled template -------------------------------------------------------


class FileRefused(Exception):
    """The upload is not a template we can read at all: ``key`` words it, ``params`` fill it."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass
class Parsed:
    """A filled template as the core's rows, with the rows no cell of which could be read."""

    departments: list[DepartmentLine] = field(default_factory=list)
    doctors: list[DoctorLine] = field(default_factory=list)
    sessions: list[SessionLine] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    shown: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # the first rows


class _Bad(ValueError):
    pass


def _text(value: Any, most: int = 100) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) > most:
        raise _Bad(f"at most {most} characters")
    if "\x00" in text:
        raise _Bad("must not contain the NUL character")
    return text


def _needed(value: Any, most: int = 100) -> str:
    text = _text(value, most)
    if not text:
        raise _Bad("needed")
    return text


def _digits(width: int) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not float(value).is_integer() or not 0 <= value < 10**width:
                raise _Bad(f"{width} digits")
            return f"{int(value):0{width}d}"  # Excel dropped the leading zeros
        text = _needed(value)
        if len(text) != width or not text.isascii() or not text.isdigit():
            raise _Bad(f"{width} digits")
        return text

    return read


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip()[:12])
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise _Bad(f"a whole number from {low} to {high}")
        return value

    return read


def _fen(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        yuan = Decimal(str(value).strip()[:20])
    except InvalidOperation:
        raise _Bad("an amount in yuan, like 25 or 25.50") from None
    fen = yuan * 100
    if not yuan.is_finite() or fen != fen.to_integral_value() or not 0 <= fen <= MAX_FEN:
        raise _Bad(f"an amount in yuan from 0 to {MAX_FEN // 100}, at most 2 decimals")
    return int(fen)


def _active(value: Any) -> bool:
    text = _text(value).lower()
    if not text or text in YES:
        return True
    if text in NO:
        return False
    raise _Bad("是 or 否")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _needed(value).replace("/", "-").replace(".", "-")
        try:
            y, m, d = (int(part) for part in text.split("-"))
            day = date(y, m, d)
        except (ValueError, TypeError):
            raise _Bad("a date like 2026-07-13") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _Bad(f"a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def _time(value: Any) -> time:
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, float | int) and not isinstance(value, bool) and 0 <= value < 1:
        minutes = round(value * 24 * 60)  # Excel keeps a time as a fraction of a day
        return (datetime.min + timedelta(minutes=minutes)).time()
    text = _needed(value).replace("：", ":")
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        raise _Bad("a time like 08:00") from None


def _period(value: Any) -> Period:
    found = PERIODS.get(_needed(value).lower())
    if found is None:
        raise _Bad("上午, 下午 or 夜间")
    return found


def _aliases(value: Any) -> tuple[str, ...]:
    text = _text(value, 400).replace("，", ",")
    return tuple(a.strip() for a in text.split(",") if a.strip())


READERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "departments": {"code": _digits(3), "name": _needed, "aliases": _aliases, "active": _active},
    "doctors": {
        "work_no": _digits(5), "name": _needed, "department": _digits(3), "title": _text,
        "specialty": lambda v: _text(v, 200), "fee": lambda v: _fen(v) or 0, "active": _active,
    },
    "sessions": {
        "doctor": _digits(5), "date": _day, "period": _period, "start": _time, "end": _time,
        "slot_minutes": _whole(5, 240), "places_per_slot": _whole(1, 500),
        "room": lambda v: _text(v, 50), "fee": _fen,
    },
}  # fmt: skip

MAKERS: dict[str, Callable[..., Any]] = {
    "departments": lambda n, f: DepartmentLine(n, f["code"], f["name"], f["aliases"], f["active"]),
    "doctors": lambda n, f: DoctorLine(n, f["work_no"], f["department"], f["name"], f["title"],
                                        f["specialty"], f["fee"], f["active"]),
    "sessions": lambda n, f: SessionLine(n, f["doctor"], f["date"], f["period"], f["start"],
                                          f["end"], f["slot_minutes"], f["places_per_slot"],
                                          f["room"], f["fee"]),
}  # fmt: skip

SHOWN_ROWS = 10  # rows of each sheet the preview shows


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date | time):
        return value.isoformat(timespec="minutes") if isinstance(value, time) else str(value)
    return "" if value is None else str(value)[:100]


def _rows(sheet: Any, width: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
    # max_col: a sheet that declares a cell in column XFD would otherwise be read as rows
    # of 16,384 cells each (a file of 5 kB, minutes of work)
    rows = sheet.iter_rows(min_row=2, max_col=width, values_only=True)
    for number, row in enumerate(rows, start=2):
        cells = tuple(row[:width]) + (None,) * (width - len(row[:width]))
        if any(c is not None and str(c).strip() for c in cells):
            yield number, cells


def _same_as_example(where: str, cells: tuple[Any, ...]) -> bool:
    return [_shown(c) for c in cells] == [_shown(c) for c in EXAMPLES[where]]


def _unpacked_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileRefused("template_not_xlsx") from None


def parse(data: bytes) -> Parsed:
    """The rows of a filled template; a file that is no template raises FileRefused."""
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused("template_too_big", limit=MAX_FILE_BYTES // 1000)
    if _unpacked_size(data) > MAX_UNPACKED_BYTES:
        raise FileRefused("template_not_xlsx")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises what its zip, XML and style readers raise
        raise FileRefused("template_not_xlsx") from None
    try:
        return _parse_book(book)
    finally:
        book.close()


def _parse_book(book: Any) -> Parsed:
    missing = [name for name in SHEETS.values() if name not in book.sheetnames]
    if missing:
        raise FileRefused("template_sheet_missing", sheet="、".join(missing))
    parsed = Parsed()
    for where, sheet_name in SHEETS.items():
        columns = COLUMNS[where]
        lines: list[Any] = getattr(parsed, where)
        shown = parsed.shown.setdefault(where, [])
        seen = 0
        try:
            for number, cells in _rows(book[sheet_name], len(columns)):
                if number == 2 and _same_as_example(where, cells):
                    continue  # the example row, left as it came
                seen += 1
                if seen > LIMITS[where]:
                    raise FileRefused("template_too_many_rows", sheet=sheet_name,
                                      limit=LIMITS[where])  # fmt: skip
                if len(shown) < SHOWN_ROWS:
                    shown.append({"line": str(number)} | {
                        c.key: _shown(v) for c, v in zip(columns, cells, strict=True)
                    })  # fmt: skip
                fields: dict[str, Any] = {}
                for column, value in zip(columns, cells, strict=True):
                    try:
                        fields[column.key] = READERS[where][column.key](value)
                    except _Bad as bad:
                        parsed.problems.append(RowProblem(where, number, column.key, str(bad)))
                if len(fields) == len(columns):
                    lines.append(MAKERS[where](number, fields))
        except Exception as err:  # a sheet whose XML breaks part-way
            if isinstance(err, FileRefused):
                raise
            raise FileRefused("template_not_xlsx") from None
    return parsed
