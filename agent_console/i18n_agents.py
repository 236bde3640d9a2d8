"""The words of agent states (坐席状态), the wrap-up (话后处理) and the agents' reports, in
Chinese and English. Merged into the console's catalogue (:mod:`agent_console.i18n`), so
the desk's ``t()`` and the back office's ``o()`` both find them; the catalogue test checks
both languages have the same keys and placeholders."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "agent_not_available": "您当前为「{state}」，不能接听来电：请先切换为空闲。",
        "agent_state": "坐席状态",
        "agent_state_available": "空闲",
        "agent_state_busy": "通话中",
        "agent_state_wrap_up": "话后处理",
        "agent_state_break": "小休",
        "agent_state_offline": "离线",
        "agent_state_since": "自 {since} 起（{minutes} 分钟）",
        "agent_state_set": "切换",
        "agent_go_available": "置闲",
        "agent_go_break": "小休",
        "agent_go_offline": "离线",
        "agent_why_not_busy": "您正在通话中：结束通话并填写话后小结后才会接到新来电。",
        "agent_why_not_wrap_up": "请先完成上一通来电的话后处理（填写结果与小结），"
        "或等待时限到后自动置闲。",
        "agent_why_not_break": "您正在小休：置闲后才会看到等待的来电。",
        "agent_why_not_offline": "您处于离线状态：置闲后才会看到等待的来电。",
        "agent_wrap_up_until": "话后处理时限：{until}",
        "finish_call": "结束通话",
        "wrap_up": "话后处理",
        "wrap_up_title": "来电 {caller} 的话后处理",
        "wrap_up_disposition": "来电结果",
        "wrap_up_summary": "来电小结",
        "wrap_up_summary_hint": "不超过 {max} 字",
        "wrap_up_submit": "提交并置闲",
        "wrap_up_done": "话后处理已保存，您已置闲。",
        "disposition_booked": "预约挂号",
        "disposition_changed": "改约",
        "disposition_cancelled": "取消预约",
        "disposition_information": "仅咨询",
        "disposition_complaint": "投诉",
        "disposition_other": "其他",
        "disposition_none": "未做话后处理",
        "report_call_dispositions": "来电结果（坐席话后处理）",
        "report_agent_times": "坐席工作量",
        "workload_agent": "坐席",
        "workload_calls": "接听数",
        "workload_talk": "通话总时长",
        "workload_average_talk": "平均通话时长",
        "workload_wrap_up": "话后处理时长",
        "workload_break": "小休时长",
        "workload_available": "空闲时长",
        "workload_none": "该时段没有坐席工作记录。",
    },
    "en": {
        "agent_not_available": "You are {state}: go available before taking a caller.",
        "agent_state": "Agent state",
        "agent_state_available": "available",
        "agent_state_busy": "on a call",
        "agent_state_wrap_up": "in wrap-up",
        "agent_state_break": "on a break",
        "agent_state_offline": "offline",
        "agent_state_since": "since {since} ({minutes} min)",
        "agent_state_set": "Switch",
        "agent_go_available": "Go available",
        "agent_go_break": "Take a break",
        "agent_go_offline": "Go offline",
        "agent_why_not_busy": "You are on a call: end it and wrap it up to get the next caller.",
        "agent_why_not_wrap_up": "Wrap up your last call first (its outcome and summary), "
        "or wait until the wrap-up time ends.",
        "agent_why_not_break": "You are on a break: go available to see waiting callers.",
        "agent_why_not_offline": "You are offline: go available to see waiting callers.",
        "agent_wrap_up_until": "Wrap-up ends at {until}",
        "finish_call": "End the call",
        "wrap_up": "Wrap-up",
        "wrap_up_title": "Wrap-up of the call from {caller}",
        "wrap_up_disposition": "Outcome",
        "wrap_up_summary": "Summary",
        "wrap_up_summary_hint": "at most {max} characters",
        "wrap_up_submit": "Save and go available",
        "wrap_up_done": "Wrap-up saved: you are available.",
        "disposition_booked": "booked",
        "disposition_changed": "changed",
        "disposition_cancelled": "cancelled",
        "disposition_information": "information only",
        "disposition_complaint": "complaint",
        "disposition_other": "other",
        "disposition_none": "not wrapped up",
        "report_call_dispositions": "Call outcomes (agents' wrap-up)",
        "report_agent_times": "Agent workload",
        "workload_agent": "Agent",
        "workload_calls": "Calls",
        "workload_talk": "Talk time",
        "workload_average_talk": "Average talk",
        "workload_wrap_up": "Wrap-up time",
        "workload_break": "Break time",
        "workload_available": "Available time",
        "workload_none": "No agent worked in this period.",
    },
}


def state_words(lang: str, state: str) -> str:
    """An agent state in words (``wrap_up`` → 话后处理)."""
    return MESSAGES.get(lang, MESSAGES["zh"]).get(f"agent_state_{state}", state)


def duration_words(seconds: int) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour): times in the workload table."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
