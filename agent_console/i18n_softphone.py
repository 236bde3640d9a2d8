"""The agent's softphone words (坐席软电话), in Chinese and English: its states, its
buttons and their keys, what a hold or a transfer answered, and the Voice SDK's errors in
words (a Twilio error code is for the log, never the only thing an agent reads).

Merged into the console's catalogue (:mod:`agent_console.i18n`), so templates say
``t('sp_ready')``. ``DEVICE_ERRORS`` maps the SDK's numeric error codes (``TwilioError.code``)
to a key; any other code reads as ``sp_error_other``.
"""

from __future__ import annotations

DEVICE_ERRORS: dict[int, str] = {
    20101: "sp_error_token",  # AccessTokenInvalid
    20104: "sp_error_token",  # AccessTokenExpired
    20151: "sp_error_token",  # an expired or invalid token (signalling)
    31005: "sp_error_network",  # ConnectionError: the signalling connection broke
    31009: "sp_error_network",  # TransportError: no websocket to Twilio
    31000: "sp_error_network",  # GeneralError (unknown)
    31201: "sp_error_microphone",  # UserMedia: getUserMedia failed
    31208: "sp_error_microphone",  # PermissionDeniedError: the microphone was refused
    31401: "sp_error_microphone",  # UserMedia acquisition failed (older code)
    31402: "sp_error_microphone",
    31480: "sp_error_busy",  # TemporarilyUnavailable
    31486: "sp_error_busy",  # BusyHere
    31603: "sp_error_declined",  # Decline
    53405: "sp_error_media",  # MediaConnectionError (ICE)
    31003: "sp_error_media",  # ConnectionError (ICE)
}

_ZH = {
    "softphone": "软电话",
    "sp_offline": "未连接",
    "sp_connecting": "正在连接……",
    "sp_ready": "就绪，可接听",
    "sp_calling": "正在接通来电者……",
    "sp_in_call": "通话中",
    "sp_muted": "已静音",
    "sp_on_hold": "保持中（来电者在听等待音乐）",
    "sp_ended": "通话已结束",
    "sp_transferred": "已转接",
    "sp_not_configured": "软电话尚未配置，只能接听记录，不能通话。",
    "sp_mute": "静音 (m)",
    "sp_unmute": "取消静音 (m)",
    "sp_hangup": "挂断 (h)",
    "sp_hold": "保持 (p)",
    "sp_resume": "恢复通话 (p)",
    "sp_transfer": "转接 (x)",
    "sp_transfer_to": "转接给",
    "sp_transfer_agent": "其他坐席（用户名）",
    "sp_transfer_ivr": "返回语音菜单",
    "sp_transfer_go": "转接",
    "sp_open_record": "打开来电者档案 (o)",
    "sp_timer": "通话时长",
    "sp_keys": "m 静音 · p 保持/恢复 · x 转接 · h 挂断 · o 打开档案",
    "sp_held_done": "来电者已保持；按 p 恢复通话。",
    "sp_transferred_agent": "已转接给坐席 {name}，来电者回到队列等候。",
    "sp_transferred_ivr": "来电者已返回语音菜单。",
    "sp_not_yours": "该来电不在您这里（未由您接听，或已转接）。",
    "sp_call_over": "该通话已结束。",
    "sp_no_agent": "没有名为 {name} 的可用坐席。",
    "sp_bad_target": "请选择转接给其他坐席（填写用户名）或返回语音菜单。",
    "sp_rest_refused": "Twilio 拒绝了本系统的凭据，未能操作，请联系管理员。",
    "sp_rest_unavailable": "暂时无法连接 Twilio，来电者仍在您的线路上，请稍后重试。",
    "sp_rest_rejected": "Twilio 未接受此操作，来电者仍在您的线路上。",
    "sp_error_token": "软电话的登录凭证无效或已过期，正在重新获取。",
    "sp_error_network": "与 Twilio 的连接中断，正在重新连接。",
    "sp_error_microphone": "无法使用麦克风：请在浏览器中允许本页面使用麦克风。",
    "sp_error_busy": "对方暂时无法接听。",
    "sp_error_declined": "通话被拒绝。",
    "sp_error_media": "语音通道建立失败（网络或防火墙阻挡了语音）。",
    "sp_error_other": "软电话出错，请重试；如仍不行请联系管理员。",
    "sp_error_server": "服务器暂时没有应答，请重试。",
    "sp_one_call": "请先结束当前通话，再接听下一位来电者。",
    "sp_held_hangup": "来电者正在保持中：请先按 p 恢复通话，或转接。",
    "sp_agents": "可转接的坐席",
    "sp_no_agents": "本院没有其他坐席。",
}

_EN = {
    "softphone": "Softphone",
    "sp_offline": "Not connected",
    "sp_connecting": "Connecting…",
    "sp_ready": "Ready to take calls",
    "sp_calling": "Connecting the caller…",
    "sp_in_call": "On a call",
    "sp_muted": "Muted",
    "sp_on_hold": "On hold (the caller hears music)",
    "sp_ended": "Call ended",
    "sp_transferred": "Transferred",
    "sp_not_configured": "The softphone is not set up: calls can be taken on screen, not spoken.",
    "sp_mute": "Mute (m)",
    "sp_unmute": "Unmute (m)",
    "sp_hangup": "Hang up (h)",
    "sp_hold": "Hold (p)",
    "sp_resume": "Resume (p)",
    "sp_transfer": "Transfer (x)",
    "sp_transfer_to": "Transfer to",
    "sp_transfer_agent": "another agent (user name)",
    "sp_transfer_ivr": "back to the phone menu",
    "sp_transfer_go": "Transfer",
    "sp_open_record": "Open the caller's record (o)",
    "sp_timer": "Call time",
    "sp_keys": "m mute · p hold/resume · x transfer · h hang up · o open record",
    "sp_held_done": "The caller is on hold; press p to resume.",
    "sp_transferred_agent": "Transferred to agent {name}; the caller waits in the queue.",
    "sp_transferred_ivr": "The caller is back in the phone menu.",
    "sp_not_yours": "This call is not yours (you did not take it, or it was handed over).",
    "sp_call_over": "This call has ended.",
    "sp_no_agent": "There is no agent {name} to transfer to.",
    "sp_bad_target": "Choose another agent (by user name) or the phone menu.",
    "sp_rest_refused": "Twilio refused this system's credentials: nothing was done; ask an admin.",
    "sp_rest_unavailable": "Twilio cannot be reached just now; the caller is still on your line. "
    "Try again shortly.",
    "sp_rest_rejected": "Twilio did not accept this; the caller is still on your line.",
    "sp_error_token": "The softphone's pass is invalid or expired; getting a new one.",
    "sp_error_network": "The connection to Twilio broke; reconnecting.",
    "sp_error_microphone": "The microphone cannot be used: allow this page to use it.",
    "sp_error_busy": "The other side cannot answer just now.",
    "sp_error_declined": "The call was declined.",
    "sp_error_media": "The voice channel could not be set up (a network or firewall blocks it).",
    "sp_error_other": "The softphone failed; try again, and ask an admin if it persists.",
    "sp_error_server": "The server did not answer; try again.",
    "sp_one_call": "Finish the call you are on before taking the next caller.",
    "sp_held_hangup": "The caller is on hold: resume (p) or transfer them first.",
    "sp_agents": "Agents to transfer to",
    "sp_no_agents": "No other agent in this hospital.",
}

MESSAGES: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}

WORD_KEYS: tuple[str, ...] = tuple(_ZH)
"""Every key, for the page to hand the softphone script its words."""
