"""A transferred call's IVR context in words (来电弹屏): the menu step the caller reached
and why they were passed to an agent, in Chinese and English. The flow's own names
(``book_patient``, ``wrong_input``) are never shown: a step or reason without a word here
is shown as "another step" / "another reason" (a test checks every step of the IVR's flow
and every reason it transfers with has its words)."""

from __future__ import annotations

STEPS: dict[str, dict[str, str]] = {
    "zh": {
        "main": "主菜单",
        "book_patient": "预约挂号：输入就诊卡号",
        "mine_patient": "查询/取消预约：输入就诊卡号",
        "mine_code": "查询/取消预约：输入短信验证码",
        "unknown_patient": "未找到患者档案",
        "book_dept": "预约挂号：选择科室",
        "sched_dept": "查询出诊：选择科室",
        "book_doctor": "预约挂号：选择医生",
        "sched_doctor": "查询出诊：选择医生",
        "book_date": "预约挂号：选择日期",
        "book_time": "预约挂号：选择时段",
        "book_confirm": "预约挂号：确认预约",
        "mine_item": "查询预约：听取预约",
        "mine_cancel": "取消预约：确认取消",
        "sched_read": "查询出诊：听取出诊安排",
        "complaint_menu": "投诉建议菜单",
        "complaint_record": "投诉建议：留言录音",
        "complaint_lookup": "投诉建议：查询处理结果",
        "transferred": "转人工",
        "goodbye": "结束通话",
    },
    "en": {
        "main": "main menu",
        "book_patient": "booking: entering the card number",
        "mine_patient": "my bookings: entering the card number",
        "mine_code": "my bookings: entering the texted code",
        "unknown_patient": "no patient record found",
        "book_dept": "booking: choosing a department",
        "sched_dept": "doctors' hours: choosing a department",
        "book_doctor": "booking: choosing a doctor",
        "sched_doctor": "doctors' hours: choosing a doctor",
        "book_date": "booking: choosing a day",
        "book_time": "booking: choosing a time",
        "book_confirm": "booking: confirming",
        "mine_item": "my bookings: hearing a booking",
        "mine_cancel": "my bookings: confirming a cancellation",
        "sched_read": "doctors' hours: hearing the schedule",
        "complaint_menu": "complaints menu",
        "complaint_record": "complaints: recording a message",
        "complaint_lookup": "complaints: hearing the outcome",
        "transferred": "passed to an agent",
        "goodbye": "ending the call",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "zh": {
        "asked": "来电人要求转人工",
        "no_input": "多次未按键",
        "wrong_input": "多次按键有误",
        "lookup_limit": "查询次数已达上限",
        "no_phone": "档案无手机号，无法发送验证码",
        "code_spent": "验证码已用完",
        "not_registered": "未建档（无卡病人）",
        "callback": "来电人要求回拨",
    },
    "en": {
        "asked": "the caller asked for an agent",
        "no_input": "no keys pressed, several times",
        "wrong_input": "wrong keys, several times",
        "lookup_limit": "too many look-ups",
        "no_phone": "no mobile on record for the code",
        "code_spent": "the texted codes are used up",
        "not_registered": "not registered (no patient card)",
        "callback": "the caller asked to be called back",
    },
}

OTHER_STEP = {"zh": "其他步骤", "en": "another step"}
OTHER_REASON = {"zh": "其他原因", "en": "another reason"}


def step_text(lang: str, step: object) -> str:
    """The IVR step in words ("" when there is none)."""
    if not step:
        return ""
    words = STEPS.get(lang, STEPS["zh"])
    return words.get(str(step), OTHER_STEP.get(lang, OTHER_STEP["zh"]))


def reason_text(lang: str, reason: object) -> str:
    """Why the call was passed to an agent, in words ("" when no reason was given)."""
    if not reason:
        return ""
    words = REASONS.get(lang, REASONS["zh"])
    return words.get(str(reason), OTHER_REASON.get(lang, OTHER_REASON["zh"]))
