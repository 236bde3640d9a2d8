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
}

MESSAGES: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}
