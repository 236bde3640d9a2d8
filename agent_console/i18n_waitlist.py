"""The waitlist's (候补) and extra places' (加号) words at the desk and in the office, in
Chinese and English. Merged into the console's catalogue (:data:`agent_console.i18n.MESSAGES`);
the office's ``o()`` falls back to it."""

from __future__ import annotations

_ZH: dict[str, str] = {
    "waitlist": "候补",
    "full_sessions": "已约满的出诊（可候补）",
    "join_waitlist": "加入候补",
    "leave_waitlist": "退出候补",
    "waitlist_position": "排第 {position} 位",
    "waitlist_offered": "已为其保留号源，预约号 {booking_no}，{until} 前确认",
    "waitlist_none": "未在候补中。",
    "done_waiting": "已加入候补。",
    "done_left_waitlist": "已退出候补。",
    "waitlist_line": "候补队列",
    "waitlist_line_empty": "没有人在候补。",
    "waitlist_joined_at": "加入时间",
    "waitlist_status_waiting": "候补中",
    "waitlist_status_offered": "已保留号源，待确认",
    "extra_places": "加号",
    "extra_places_count": "加号数",
    "extra_places_card": "指定患者就诊卡号（留空则给候补队列）",
    "extra_places_added": "已加号 {places} 个（本出诊累计 {added_total} 个），"
    "其中 {offered} 个已给候补患者。",
    "extra_places_booked": "已加号并为患者预约，预约号 {booking_no}。",
    "add_extra_places": "加号",
}

_EN: dict[str, str] = {
    "waitlist": "Waitlist",
    "full_sessions": "Full sessions (a patient may wait)",
    "join_waitlist": "Join the waitlist",
    "leave_waitlist": "Leave the waitlist",
    "waitlist_position": "number {position} in line",
    "waitlist_offered": "a place is held: booking {booking_no}, to confirm before {until}",
    "waitlist_none": "Not waiting for anything.",
    "done_waiting": "On the waitlist.",
    "done_left_waitlist": "Left the waitlist.",
    "waitlist_line": "Waitlist",
    "waitlist_line_empty": "Nobody is waiting.",
    "waitlist_joined_at": "Joined",
    "waitlist_status_waiting": "waiting",
    "waitlist_status_offered": "place held, to confirm",
    "extra_places": "Extra places",
    "extra_places_count": "Places to add",
    "extra_places_card": "Patient's card number (empty: for the waitlist)",
    "extra_places_added": "{places} added ({added_total} in this session); {offered} offered "
    "to the waitlist.",
    "extra_places_booked": "Added and booked for the patient: booking {booking_no}.",
    "add_extra_places": "Add places",
}

MESSAGES: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}
