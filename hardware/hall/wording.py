"""What a kiosk's screen says when the engine refuses a patient's request (拒绝话术): one
table from each core error ``code`` (and this door's own codes) to the Chinese words of
the reply's ``message`` (docs/kiosk-protocol.md, "Requests and replies").

A few codes read better with what the error carries (which thing was not found, why a
kiosk may not act); :func:`message` picks those words first. Times a patient reads are
hospital-local. A test checks that every code of :data:`booking_core.kernel.errors.ALL_ERRORS`
has words here, so a new error cannot reach a screen unworded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from booking_core.kernel.errors import GuahaoError

UNKNOWN_KIND = "unknown_kind"  # a request kind this engine does not know
BAD_REQUEST = "bad_request"  # a request field missing or of the wrong type
DOOR_CODES = (UNKNOWN_KIND, BAD_REQUEST)

WORDS: Mapping[str, str] = {
    # the core's (booking_core/kernel/errors.py)
    "not_found": "未找到相关信息，请到人工窗口办理",
    "invalid_input": "输入的信息有误，请核对后重试",
    "invalid_id_number": "身份证号码有误，请到人工窗口办理",
    "real_name_mismatch": "姓名与登记信息不符，请到人工窗口办理",
    "patient_exists": "该患者已建档，请刷就诊卡办理",
    "slot_full": "该时段已约满，请选择其他时段",
    "channel_full": "自助机可约的号已满，请选择其他时段或到窗口咨询",
    "already_booked": "您已预约该时段，无需重复预约",
    "blacklisted": "您的预约权限暂被限制，请到人工窗口咨询",
    "no_ban_to_appeal": "您的预约权限正常，无需申诉",  # never at a kiosk; every code has words
    "appeal_pending": "您的申诉正在处理，结果将短信告知",  # never at a kiosk
    "outside_window": "该号源尚未开放预约",
    "booking_closed": "该时段已停止预约",
    "limit_reached": "已达到预约次数上限",
    "not_eligible": "您不符合该科室的就诊条件，请到人工窗口咨询",
    "day_closed": "该日为节假日或停诊日，不接受预约，请选择其他日期",
    "closed_hours": "当前为停止预约时段，请稍后再来",
    "cancel_deadline_passed": "已过取消期限",
    "reschedule_deadline_passed": "已过改约期限",
    "invalid_state": "该预约当前状态无法办理此业务",
    "session_unavailable": "该医生本次出诊已停诊，请到人工窗口咨询",
    "check_in_not_open": "尚未到签到时间，请稍后再来",
    "check_in_closed": "签到时间已过，请到人工窗口咨询",
    "insufficient_balance": "预交金余额不足",
    "substitute_full": "替诊号源不足，请到人工窗口咨询",
    "idempotency_key_reused": "请求重复，请重新操作",
    "import_rejected": "排班信息有误，请到人工窗口咨询",  # never at a kiosk; every code has words
    "forbidden": "本机无法办理此业务，请到人工窗口办理",
    "call_ended": "通话已结束，请到人工窗口咨询",  # never at a kiosk; every code has words
    "agent_not_available": "暂无空闲坐席，请到人工窗口办理",  # never at a kiosk
    "queued": "刚刚放号，您的请求已排队抽签，结果将短信通知您",
    "already_queued": "您已在排队抽签，无需重复提交，结果将短信通知您",
    "waitlist_not_needed": "该门诊还有号，请直接预约",
    "already_waiting": "您已在候补名单中",
    "waitlist_closed": "该门诊不能候补，请到人工窗口咨询",
    "extra_places_exhausted": "该门诊加号已满，请到人工窗口咨询",
    "store_unavailable": "系统繁忙，请稍后再试",
    # this door's own
    UNKNOWN_KIND: "本机暂不支持该业务，请到人工窗口办理",
    BAD_REQUEST: "请求信息有误，请重新操作",
}
"""Every code's words: what the screen shows when nothing more precise fits."""

NOT_FOUND: Mapping[str, str] = {
    "patient": "未找到您的就诊信息，请到人工窗口建档",
    "booking": "未找到该预约，请核对预约号",
    "slot": "该号源不存在，请重新选择",
    "department": "未找到该科室，请重新选择",
    "kiosk": "本机未登记，请到人工窗口办理",
}
"""``not_found`` by what was looked for."""

FORBIDDEN: Mapping[str, str] = {
    "kiosk_disabled": "本机已停用，请到其他自助机或人工窗口办理",
}
"""``forbidden`` by the action refused."""


def _local(value: Any, timezone: str) -> str | None:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(ZoneInfo(timezone)).strftime("%m月%d日 %H:%M")
    return None


def message(code: str, params: Mapping[str, Any], timezone: str = "Asia/Shanghai") -> str:
    """The screen's words for a refusal ``code`` with its ``params``."""
    if code == "not_found" and (words := NOT_FOUND.get(str(params.get("entity")))):
        return words
    if code == "forbidden" and (words := FORBIDDEN.get(str(params.get("action")))):
        return words
    if code == "check_in_not_open" and (at := _local(params.get("opens_at"), timezone)):
        return f"尚未到签到时间，请于{at}后签到"
    if code == "outside_window" and (at := _local(params.get("opens_at"), timezone)):
        return f"该号源将于{at}开放预约"
    if code == "blacklisted" and (at := _local(params.get("until"), timezone)):
        return f"您的预约权限暂被限制至{at}，请到人工窗口咨询"
    if code == "not_eligible" and (words := _not_eligible(params)):
        return words
    if code == "day_closed" and isinstance(day := params.get("day"), date):
        name = str(params.get("name") or "")
        why = {"holiday": f"为{name or '法定节假日'}假期", "weekend": "为休息日"}
        return f"{day.month}月{day.day}日{why.get(str(params.get('reason')), '停诊')}，不接受预约"
    if code == "closed_hours" and (at := _local(params.get("opens_at"), timezone)):
        return f"当前为停止预约时段，请于{at}后预约"
    if code in ("queued", "already_queued") and (at := _local(params.get("draw_at"), timezone)):
        return f"刚刚放号，您的请求已排队，{at}抽签后短信通知结果"
    if code == "insufficient_balance" and isinstance(params.get("balance"), int):
        return f"预交金余额不足（余额{params['balance'] / 100:.2f}元）"
    return WORDS.get(code, "")


def _not_eligible(params: Mapping[str, Any]) -> str | None:
    """``not_eligible`` by its reason (就诊资格)."""
    dept, limit = str(params.get("department") or "该科室"), params.get("limit")
    return {
        "age_under": f"{dept}仅接待{limit}岁以下患者",
        "age_from": f"{dept}仅接待{limit}岁及以上患者",
        "sex": f"{dept}仅接待{'女性' if limit == 'F' else '男性'}患者",
        "id_required": f"预约{dept}须先登记身份证号，请到人工窗口办理",
    }.get(str(params.get("reason")))


def error_message(err: GuahaoError, timezone: str = "Asia/Shanghai") -> str:
    return message(err.code, err.params, timezone) or "系统出错，请到人工窗口办理"
