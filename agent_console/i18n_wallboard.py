"""The supervisor's wallboard's words (坐席监控大屏), in Chinese and English. Part of the
back office's catalogue (:mod:`agent_console.i18n_office` merges these)."""

from __future__ import annotations

_ZH: dict[str, str] = {
    "wallboard": "坐席监控大屏",
    "wallboard_day": "{day}（本院日期）",
    "wallboard_waiting": "排队等待",
    "wallboard_longest_wait": "最长等待",
    "wallboard_handled": "今日已接听",
    "wallboard_abandoned": "今日放弃",
    "wallboard_service_level": "服务水平（{seconds} 秒内接听）",
    "wallboard_no_service_level": "暂无",
    "wallboard_bookings": "今日预约（按渠道）",
    "wallboard_no_bookings": "今日尚无预约",
    "wallboard_agents": "坐席状态",
    "wallboard_no_agents": "暂无坐席状态",
    "wallboard_live": "实时更新",
    "wallboard_agent_available": "空闲",
    "wallboard_agent_busy": "通话中",
    "wallboard_agent_wrap_up": "话后处理",
    "wallboard_agent_break": "小休",
    "wallboard_agent_offline": "离线",
}

_EN: dict[str, str] = {
    "wallboard": "Wallboard",
    "wallboard_day": "{day} (the hospital's date)",
    "wallboard_waiting": "Callers waiting",
    "wallboard_longest_wait": "Longest wait",
    "wallboard_handled": "Handled today",
    "wallboard_abandoned": "Abandoned today",
    "wallboard_service_level": "Service level (answered within {seconds} s)",
    "wallboard_no_service_level": "None yet",
    "wallboard_bookings": "Bookings today by channel",
    "wallboard_no_bookings": "No bookings yet today",
    "wallboard_agents": "Agents by state",
    "wallboard_no_agents": "No agent states yet",
    "wallboard_live": "Live",
    "wallboard_agent_available": "Available",
    "wallboard_agent_busy": "On a call",
    "wallboard_agent_wrap_up": "Wrap-up",
    "wallboard_agent_break": "Break",
    "wallboard_agent_offline": "Offline",
}

MESSAGES: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}
