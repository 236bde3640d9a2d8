"""The desk's booking words (#14): the doctor's week grid, the slot list's pages, quick
cancel with a reason, resending a confirmation, the booking slip, and the channels and
statuses in words wherever the desk shows a booking. Merged into the console's catalogue
(:data:`agent_console.i18n.MESSAGES`); a test checks no key is defined twice."""

from __future__ import annotations

CANCEL_REASONS = ("patient_asked", "time_conflict", "feeling_better", "booked_wrong", "other")
"""Why a booking is cancelled at the desk (the select's codes, each worded below as
``cancel_why_<code>``); the code and the agent's note go to the audit row."""

_ZH: dict[str, str] = {
    # screen pop
    "transfer_reason": "转人工原因",
    "prefilled_from_call": "已按来电人在语音导航中的选择预填科室、医生和日期。",
    # channels and statuses in words
    "channel_ivr": "电话语音",
    "channel_sms": "短信",
    "channel_agent": "人工坐席",
    "channel_api": "接口",
    "channel_kiosk": "自助机",
    "channel_his": "医院系统",
    "channel_system": "系统",
    "status_refunded": "已退款",
    "status_paid": "已支付",
    "status_hold_expired": "锁号已超时",
    "status_unpaid": "未支付",
    "status_other": "当前状态",
    # the week grid
    "week_grid": "一周号源",
    "week_grid_help": "选择一格查看该半天的可预约时段。",
    "week_grid_pick": "请先选择科室或医生，查看一周号源。",
    "period": "时段",
    "period_morning": "上午",
    "period_afternoon": "下午",
    "period_evening": "晚上",
    "cell_full": "满",
    "cell_none": "—",
    "cell_closed": "未开放",
    "cell_stopped": "停诊",
    "cell_open_label": "{day} {period}：剩余 {left} 个号",
    "cell_full_label": "{day} {period}：已约满",
    "cell_none_label": "{day} {period}：无出诊",
    "cell_closed_label": "{day} {period}：暂不可预约（未放号或已过截止时间）",
    "cell_stopped_label": "{day} {period}：停诊",
    "today": "今天",
    "weekday_0": "周一",
    "weekday_1": "周二",
    "weekday_2": "周三",
    "weekday_3": "周四",
    "weekday_4": "周五",
    "weekday_5": "周六",
    "weekday_6": "周日",
    "showing_cell": "仅显示 {day} {period} 的时段。",
    "show_all_times": "显示全部时段",
    # pages of the slot list
    "slots_shown": "显示第 {first}–{last} 个时段，共 {total} 个。",
    "slots_more": "后面还有 {more} 个时段。",
    "next_page": "下一页",
    "first_page": "回到第一页",
    # quick cancel
    "quick_cancel": "取消…",
    "cancel_reason": "取消原因",
    "cancel_note": "补充说明（选填）",
    "cancel_confirm": "确认取消预约 {booking_no}",
    "cancel_confirm_help": "取消后号源将释放，已付费用原路退回。请确认来电人同意取消。",
    "cancel_why_patient_asked": "患者要求取消",
    "cancel_why_time_conflict": "时间冲突",
    "cancel_why_feeling_better": "病情好转，无需就诊",
    "cancel_why_booked_wrong": "约错科室或医生",
    "cancel_why_other": "其他",
    "cancel_not_possible": "该预约不能取消：{why}",
    "cancel_reason_required": "请选择取消原因。",
    # resend
    "resend_confirmation": "补发预约短信",
    "done_resent": "已补发预约 {booking_no} 的确认短信。",
    "limit_reached.confirmation_resends_per_hour": (
        "该预约一小时内已补发 {limit} 次短信，请稍后再试。"
    ),
    # the slip
    "print_slip": "打印预约凭条",
    "slip_title": "预约凭条",
    "queue_no": "就诊序号",
    "slip_print": "打印",
    "slip_back": "返回预约",
    "slip_note": "请于就诊当日携带就诊卡按时到院取号。",
    "booking_no": "预约号",
    "time_local": "就诊时间（医院当地时间）",
}

_EN: dict[str, str] = {
    "transfer_reason": "Why passed to an agent",
    "prefilled_from_call": (
        "Department, doctor and day pre-filled from the caller's choices on the phone menu."
    ),
    "channel_ivr": "Phone (IVR)",
    "channel_sms": "Text message",
    "channel_agent": "Agent",
    "channel_api": "API",
    "channel_kiosk": "Kiosk",
    "channel_his": "Hospital system",
    "channel_system": "System",
    "status_refunded": "refunded",
    "status_paid": "paid",
    "status_hold_expired": "hold expired",
    "status_unpaid": "unpaid",
    "status_other": "in its present state",
    "week_grid": "The week's places",
    "week_grid_help": "Pick a cell to see that half day's times.",
    "week_grid_pick": "Choose a department or a doctor to see their week.",
    "period": "Half day",
    "period_morning": "Morning",
    "period_afternoon": "Afternoon",
    "period_evening": "Evening",
    "cell_full": "full",
    "cell_none": "—",
    "cell_closed": "not open",
    "cell_stopped": "stopped",
    "cell_open_label": "{day} {period}: {left} places left",
    "cell_full_label": "{day} {period}: full",
    "cell_none_label": "{day} {period}: no session",
    "cell_closed_label": "{day} {period}: not bookable now (not released yet or past the cut-off)",
    "cell_stopped_label": "{day} {period}: session stopped",
    "today": "Today",
    "weekday_0": "Mon",
    "weekday_1": "Tue",
    "weekday_2": "Wed",
    "weekday_3": "Thu",
    "weekday_4": "Fri",
    "weekday_5": "Sat",
    "weekday_6": "Sun",
    "showing_cell": "Only the times of {day} {period}.",
    "show_all_times": "Show every time",
    "slots_shown": "Times {first}–{last} of {total}.",
    "slots_more": "{more} more times follow.",
    "next_page": "Next page",
    "first_page": "Back to the first page",
    "quick_cancel": "Cancel…",
    "cancel_reason": "Reason",
    "cancel_note": "Note (optional)",
    "cancel_confirm": "Confirm: cancel booking {booking_no}",
    "cancel_confirm_help": (
        "The place is freed and what was paid is refunded the way it came. Check the caller agrees."
    ),
    "cancel_why_patient_asked": "The patient asked",
    "cancel_why_time_conflict": "The time does not suit",
    "cancel_why_feeling_better": "Feeling better, no visit needed",
    "cancel_why_booked_wrong": "Wrong department or doctor",
    "cancel_why_other": "Other",
    "cancel_not_possible": "This booking cannot be cancelled: {why}",
    "cancel_reason_required": "Choose a reason for the cancellation.",
    "resend_confirmation": "Text the confirmation again",
    "done_resent": "The confirmation of booking {booking_no} is being texted again.",
    "limit_reached.confirmation_resends_per_hour": (
        "This booking's text was sent again {limit} times in the last hour: try later."
    ),
    "print_slip": "Print the booking slip",
    "slip_title": "Booking slip",
    "queue_no": "Queue number",
    "slip_print": "Print",
    "slip_back": "Back to the booking",
    "slip_note": "Please bring the patient card on the day and take a number on arrival.",
    "booking_no": "Booking number",
    "time_local": "Visit time (hospital's local time)",
}

MESSAGES: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}
