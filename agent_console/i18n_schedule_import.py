"""The schedule template's words (排班导入), merged into the back office's catalogue."""

from __future__ import annotations

_ZH: dict[str, str] = {
    "schedule_import": "排班导入（Excel 模板）",
    "template_download": "下载模板",
    "template_help": "在模板的“科室”“医生”“排班”三页填写（第 2 行为示例，不改动则不导入），"
    "文件不超过 {max_kb} KB。先预览，确认后整份导入；有任何一行有误则不导入。",
    "template_file": "Excel 文件（.xlsx）",
    "template_preview": "上传并预览",
    "template_confirm": "确认导入",
    "template_previewed": "预览：以下内容尚未导入，请核对后确认。",
    "template_imported": "已导入。",
    "template_created": "新增",
    "template_updated": "更新",
    "template_unchanged": "不变",
    "template_slots": "共生成 {count} 个号源时段。",
    "template_sheet": "工作表",
    "template_field": "列",
    "template_no_file": "请选择要上传的 Excel 文件。",
    "template_not_xlsx": "该文件不是可读取的 Excel（.xlsx）文件，请用下载的模板填写后上传。",
    "template_too_big": "文件太大：不能超过 {limit} KB。",
    "template_too_many_rows": "“{sheet}”页行数太多：最多 {limit} 行。",
    "template_sheet_missing": "文件缺少工作表：{sheet}。请使用下载的模板。",
    "template_preview_gone": "预览已失效（超过 {minutes} 分钟或已导入），未导入任何内容，"
    "请重新上传。",
    "sessions": "排班",
    "row_needed": "必填",
    "row_too_long": "最多 {most} 个字",
    "row_nul": "含有不能保存的字符",
    "row_digits": "应为 {width} 位数字，如 {example}",
    "row_whole": "应为 {low} 到 {high} 之间的整数",
    "row_money": "应为以元为单位的金额，如 25 或 25.50",
    "row_money_range": "金额应在 0 到 {most} 元之间，最多两位小数",
    "row_yes_no": "请填“是”或“否”",
    "row_date": "应为日期，如 2026-07-13",
    "row_date_range": "日期应在 {first} 到 {last} 之间",
    "row_time": "应为时间，如 08:00",
    "row_period": "请填“上午”“下午”或“夜间”",
    "row_repeats_row": "与第 {row} 行重复",
    "row_unknown_department": "医院和本文件中都没有科室代码 {department}",
    "row_unknown_doctor": "医院和本文件中都没有工号为 {work_no} 的医生",
    "row_fee_range": "挂号费应在 0 到 {most} 分之间",
    "row_already_scheduled": "该医生当天该时段已有排班（出诊编号 {session_id}），"
    "导入不会改动已有排班",
    "row_invalid_input": "{reason}",
}

_EN: dict[str, str] = {
    "schedule_import": "Schedule import (Excel template)",
    "template_download": "Download the template",
    "template_help": "Fill in the template's sheets 科室 (departments), 医生 (doctors) and 排班 "
    "(sessions); row 2 is an example, not imported unless changed; at most {max_kb} KB. "
    "Preview first, then confirm: the file is imported whole, or not at all if any row is wrong.",
    "template_file": "Excel file (.xlsx)",
    "template_preview": "Upload and preview",
    "template_confirm": "Import",
    "template_previewed": "Preview: nothing below is imported yet. Check it, then confirm.",
    "template_imported": "Imported.",
    "template_created": "New",
    "template_updated": "Updated",
    "template_unchanged": "Unchanged",
    "template_slots": "{count} slots made.",
    "template_sheet": "Sheet",
    "template_field": "Column",
    "template_no_file": "Choose the Excel file to upload.",
    "template_not_xlsx": "This file is not an Excel (.xlsx) file we can read: fill in the "
    "template you downloaded and upload it.",
    "template_too_big": "The file is too big: at most {limit} KB.",
    "template_too_many_rows": "Sheet {sheet} has too many rows: at most {limit}.",
    "template_sheet_missing": "The file lacks the sheet {sheet}: use the template you downloaded.",
    "template_preview_gone": "The preview is gone (older than {minutes} minutes, or already "
    "imported): nothing was imported. Upload the file again.",
    "sessions": "Sessions",
    "row_needed": "needed",
    "row_too_long": "at most {most} characters",
    "row_nul": "holds a character that cannot be stored",
    "row_digits": "{width} digits, like {example}",
    "row_whole": "a whole number from {low} to {high}",
    "row_money": "an amount in yuan, like 25 or 25.50",
    "row_money_range": "an amount from 0 to {most} yuan, at most 2 decimals",
    "row_yes_no": "是 (yes) or 否 (no)",
    "row_date": "a date like 2026-07-13",
    "row_date_range": "a date from {first} to {last}",
    "row_time": "a time like 08:00",
    "row_period": "上午, 下午 or 夜间 (morning, afternoon, evening)",
    "row_repeats_row": "repeats row {row}",
    "row_unknown_department": "no department {department} in the hospital or in this file",
    "row_unknown_doctor": "no doctor {work_no} in the hospital or in this file",
    "row_fee_range": "a fee from 0 to {most} fen",
    "row_already_scheduled": "the doctor already has a session then (session {session_id}); "
    "an import never changes one",
    "row_invalid_input": "{reason}",
}

MESSAGES: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}

SESSION_REASONS_ZH: dict[str, str] = {
    "must be after start": "结束时间须晚于开始时间",
    "between 5 and 240": "须在 5 到 240 之间",
    "longer than the session": "每号分钟数比整个出诊还长",
    "too many slots for one session": "一次出诊的号太多（最多 96 个）",
    "between 1 and 500": "须在 1 到 500 之间",
    "must be >= 0 fen": "不能为负数",
}
"""A session's own checks (as ``CreateSession`` makes them, ``invalid_input``) in Chinese,
by the core's reason; a reason not here is shown as the core words it."""
