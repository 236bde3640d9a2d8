"""The schedule template (排班导入模板) as an .xlsx workbook: made for the hospital to fill
in, and read back into the core's :class:`~booking_core.schedule.ImportSchedule` rows.

Three sheets — 科室 (departments), 医生 (doctors), 排班 (sessions) — each with one header
row (Chinese and English in each cell) and one example row (grey, italic) under it. Rows are
numbered as Excel shows them, and every bad row is reported by its sheet and that number.
The example row, left as it came, is not imported; overwritten, it is read as any row.

Cells are read (:mod:`.schedule_cells`) as a person types them: codes and work numbers
as text (a number Excel made of ``00868`` gets its leading zeros back), dates as dates or
``2026-07-13``, times as times or ``08:00``, periods as 上午/下午/夜间 or
morning/afternoon/evening, money in yuan (``25`` or ``25.50``, kept as fen), 是/否 for
"active". Reading is pure Python, done in a worker thread by the view, on at most
:data:`MAX_FILE_BYTES` of file that unpacks to at most :data:`MAX_UNPACKED_BYTES` (a
small file can unpack to gigabytes).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
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
    RowProblem,
    SessionLine,
)

from .schedule_cells import READERS, Bad

MAX_FILE_BYTES = 1_000_000  # a week of 5,000 sessions is about 200 kB as .xlsx
MAX_UNPACKED_BYTES = 50_000_000

SHEETS = {"departments": "科室", "doctors": "医生", "sessions": "排班"}
"""The core's list names → the sheets' names."""


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


MAKERS: dict[str, Callable[..., Any]] = {
    "departments": lambda n, f: DepartmentLine(n, f["code"], f["name"], f["aliases"], f["active"]),
    "doctors": lambda n, f: DoctorLine(n, f["work_no"], f["department"], f["name"], f["title"],
                                        f["specialty"], f["fee"], f["active"]),
    "sessions": lambda n, f: SessionLine(n, f["doctor"], f["date"], f["period"], f["start"],
                                          f["end"], f["slot_minutes"], f["places_per_slot"],
                                          f["room"], f["fee"]),
}  # fmt: skip

SHOWN_ROWS = 10  # rows of each sheet the preview shows
KEYS = {"departments": "code", "doctors": "work_no"}  # what names a row others refer to


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
                bad: list[tuple[str, Bad]] = []
                for column, value in zip(columns, cells, strict=True):
                    try:
                        fields[column.key] = READERS[where][column.key](value)
                    except Bad as err:
                        bad.append((column.key, err))
                if not bad:
                    lines.append(MAKERS[where](number, fields))
                key = str(fields.get(KEYS.get(where, ""), ""))
                for name, err in bad:
                    params = tuple(err.params.items())
                    problem = RowProblem(where, number, name, str(err), key, err.code, params)
                    parsed.problems.append(problem)
        except Exception as err:  # a sheet whose XML breaks part-way
            if isinstance(err, FileRefused):
                raise
            raise FileRefused("template_not_xlsx") from None
    return parsed
