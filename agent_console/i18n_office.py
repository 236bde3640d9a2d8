"""The back office's words (后台): a catalogue per language, Chinese by default.

Looked up with :func:`office_text`; a key this catalogue lacks falls back to the console's
own (:mod:`agent_console.i18n`), so shared words (医院、状态) are worded once. A test checks
both catalogues have the same keys and placeholders, and that every channel, status,
period, rule and report has wording.
"""

from __future__ import annotations

from . import i18n_devices, i18n_feeds, i18n_schedule_import, i18n_wallboard
from .i18n import DEFAULT_LANGUAGE, translate

_ZH: dict[str, str] = {
    "back_office": "后台管理",
    "booking_query": "预约查询",
    "sessions_week": "排班（周视图）",
    "schedules": "科室与医生",
    "rules": "规则设置",
    "calendar": "节假日表",
    "calendar_help": "法定节假日和调休按 chinese-calendar 软件包（每年十一月国务院公布后升级）；"
    "本院另行停诊或开诊的日子在此登记，优先于国家日历。",
    "calendar_entries": "本院登记的日子",
    "calendar_set": "登记一天",
    "calendar_day": "日期",
    "calendar_state": "状态",
    "calendar_open": "开诊（可预约）",
    "calendar_closed": "停诊（不接受预约）",
    "calendar_note": "说明",
    "calendar_kind": "类别",
    "calendar_remove": "删除",
    "calendar_no_entries": "本年尚无登记。",
    "calendar_national": "国家节假日与调休",
    "calendar_not_covered": "已安装的软件包只含 {first}–{last} 年的安排：本年的节假日请在上面登记，"
    "或升级软件包。",
    "day_kind_holiday": "法定节假日",
    "day_kind_adjusted_workday": "调休上班",
    "blacklist": "黑名单",
    "complaints": "投诉处理",
    "complaint": "投诉",
    "reports": "统计报表",
    "audit_log": "审计日志",
    "any": "全部",
    "search": "查询",
    "previous": "上一页",
    "next": "下一页",
    "page_of": "第 {page} / {pages} 页",
    "rows_found": "共 {total} 条",
    "print_view": "打印",
    "excel_export": "导出 Excel",
    "booking_no": "预约号",
    "time": "时间",
    "department": "科室",
    "doctor": "医生",
    "patient": "患者",
    "card_no": "就诊卡号",
    "channel": "渠道",
    "status": "状态",
    "department_code": "科室代码",
    "doctor_work_no": "医生工号",
    "patient_search": "患者（卡号或姓名开头）",
    "day_from": "起始日期",
    "day_to": "截止日期",
    "fee_yuan": "挂号费（元）",
    "channel_ivr": "电话语音",
    "channel_sms": "短信",
    "channel_agent": "人工坐席",
    "channel_api": "接口",
    "channel_kiosk": "自助机",
    "channel_his": "医院系统",
    "channel_system": "系统",
    "status_open": "出诊",
    "status_stopped": "已停诊",
    "period": "时段",
    "period_morning": "上午",
    "period_afternoon": "下午",
    "period_evening": "夜间",
    "doctor_stop": "停诊",
    "session_is_stopped": "该出诊已停诊。",
    "session_stopped": "已停诊，受影响的患者将收到短信通知。",
    "affected_bookings": "受影响的预约：{count} 个",
    "stop_mode": "处理方式",
    "stop_cancel": "全部取消（退号）",
    "stop_move": "转到替诊出诊",
    "substitute_session": "替诊出诊",
    "free_places": "个空位",
    "stop_reason": "停诊原因",
    "confirm_stop": "确认停诊（{count} 个预约）",
    "add_session": "新增出诊",
    "copy_week": "按模板周批量排班",
    "template_week": "模板周（任一天）",
    "target_week": "目标周（任一天）",
    "start": "开始",
    "end": "结束",
    "slot_minutes": "每个号段（分钟）",
    "places_per_slot": "每段号数",
    "room": "诊室",
    "departments": "科室",
    "doctors": "医生",
    "title": "职称",
    "specialty": "专长",
    "effective_rules": "当前生效的规则",
    "set_rule": "设置规则",
    "rule": "规则",
    "value": "值",
    "priority": "优先级",
    "source": "来源",
    "source_no_show": "爽约规则",
    "source_admin": "管理员",
    "source_his": "医院系统",
    "source_credit": "信用规则",
    "appeals": "黑名单申诉",
    "open_appeals_only": "只看待处理",
    "ban_reason": "列入原因",
    "appeal_reason": "申诉理由",
    "filed_at": "提交时间",
    "appeal_status": "处理结果",
    "appeal_open": "待处理",
    "appeal_granted": "已通过（已解除）",
    "appeal_rejected": "未通过",
    "appeal_answer": "答复患者",
    "appeal_grant": "通过并解除",
    "appeal_reject": "驳回",
    "no_appeals": "没有待处理的申诉。",
    "platform_wide": "全平台",
    "history_complaint.open": "来电留言投诉",
    "history_complaint.status": "更改状态",
    "history_complaint.assign": "指派处理人",
    "history_complaint.replied": "答复并短信告知",
    "history_other": "其他处理",
    "source_default": "平台默认",
    "source_platform": "平台设置",
    "source_hospital": "本院设置",
    "period_type": "统计周期单位",
    "period_value": "统计周期",
    "rule_real_name": "实名制",
    "rule_real_name_help": "预约须填写真实姓名、有效的18位居民身份证号和手机号，姓名须与登记一致。",
    "rule_booking_window_days": "预约周期（天）",
    "rule_booking_window_days_help": "患者可预约今天起若干天内的号源；第N天的号在放号时间放出。",
    "rule_release_time": "放号时间",
    "rule_release_time_help": "每天放出新一天号源的时刻（医院当地时间，HH:MM）。",
    "rule_booking_cutoff_minutes": "预约截止（开诊前分钟）",
    "rule_booking_cutoff_minutes_help": "开诊前多少分钟停止预约；0 表示开诊时停止。",
    "rule_prepay_required": "须预付",
    "rule_prepay_required_help": "开启后，有挂号费的预约须在锁号时间内付款，否则自动释放。",
    "rule_hold_minutes": "未支付锁号（分钟）",
    "rule_hold_minutes_help": "未支付的预约保留多少分钟，过时自动释放给他人。",
    "rule_per_department_per_day": "同科室同日限号",
    "rule_per_department_per_day_help": "同一患者同一天在同一科室最多可有几个有效预约。",
    "rule_max_active_per_patient": "每人有效预约上限",
    "rule_max_active_per_patient_help": "同一患者同时最多可有几个有效预约（未就诊的）。",
    "rule_patients_per_phone": "一个手机号可预约人数",
    "rule_patients_per_phone_help": "统计周期内，一个手机号最多可为几位不同患者预约（防倒号）。",
    "rule_cancel_deadline_minutes": "退号截止（开诊前分钟）",
    "rule_cancel_deadline_minutes_help": "开诊前多少分钟后不能再退号；0 表示开诊前都可退。",
    "rule_reschedule_deadline_days": "改约截止（天）",
    "rule_reschedule_deadline_days_help": "改约须在就诊日前N天结束前办理；0 表示开诊前都可改。",
    "rule_no_show_blacklist": "爽约次数入黑名单",
    "rule_no_show_blacklist_help": "统计周期内爽约达到该次数，患者被列入黑名单。",
    "rule_blacklist_ban_days": "黑名单期限（天）",
    "rule_blacklist_ban_days_help": "因爽约列入黑名单的天数（含当天）。",
    "rule_blacklist_check": "检查黑名单",
    "rule_blacklist_check_help": "开启后，黑名单中的患者在所有渠道都不能预约，并被告知解除日期。",
    "rule_agent_direct_debit": "坐席可扣预存款",
    "rule_agent_direct_debit_help": "开启后，坐席可直接从患者就诊卡预存款扣取挂号费。",
    "rule_sms_codes_per_minute": "每分钟短信验证码",
    "rule_sms_codes_per_minute_help": "同一手机号每分钟最多可收几条短信验证码。",
    "rule_sms_registrations_per_day": "每部手机每天短信注册次数",
    "rule_sms_registrations_per_day_help": "同一手机号每天最多可用短信注册（ZC）几次。",
    "rule_ivr_lookups_per_hour": "每个来电号码每小时查询卡号或身份证号次数",
    "rule_ivr_lookups_per_hour_help": (
        "同一来电号码每小时最多可输入几次卡号或身份证号查询，防止试号。"
    ),
    "rule_credit_ladder": "信用阶梯（每次失信暂停天数）",
    "rule_credit_ladder_help": "一年（检查周期）内第1、2、3…次失信各暂停预约几天，0为短信警告，"
    "超出部分按最后一级；开启后取代“爽约次数入黑名单”和“黑名单期限”。",
    "rule_same_day_cancel_strike": "当日退号记失信（每几次）",
    "rule_same_day_cancel_strike_help": "检查周期内患者在就诊当天自行退号每满这么多次，"
    "记一次失信。",
    "rule_book_cancel_strike": "频繁退号记失信（每几次）",
    "rule_book_cancel_strike_help": "检查周期内患者自行退号每满这么多次（医院停诊、超时未付不算），"
    "记一次失信。",
    "rule_credit_platform_wide": "信用黑名单全平台生效",
    "rule_credit_platform_wide_help": "平台规则：开启后，信用阶梯的暂停在所有医院生效，"
    "同一身份证号在各医院的失信合并计算。",
    "rule_eligibility": "就诊资格（年龄、性别、初诊须身份证）",
    "rule_eligibility_help": "JSON，按科室代码填写条件：age_under 14（儿科，14岁以下）、"
    "age_from 60（老年科，60岁及以上）、sex F（产科，女性）、first_visit_id hospital 或 "
    "department（初诊须登记身份证号）；代码 * 用于其余科室。年龄按就诊日计算。",
    "rule_closed_days": "节假日停约",
    "rule_closed_days_help": "none：只按本院节假日表；holidays：法定节假日不接受预约；"
    "holidays_and_weekends：另加周末（调休上班日照常）。放号日遇休息日提前到前一个工作日放号。",
    "rule_closed_hours": "停止预约时段",
    "rule_closed_hours_help": "每天不接受预约的时段（医院当地时间），如 00:00-06:30；"
    "留空则全天可约。",
    "rule_late_payment": "超时支付处理",
    "rule_late_payment_help": "锁号过期后才到账的付款：refund 原路退回；confirm_if_free "
    "若号源仍空闲则恢复预约并确认，否则退回。",
    "rule_fair_admission_seconds": "公平放号窗口（秒）",
    "rule_fair_admission_seconds_help": "放号后这么多秒内到达的预约请求先排队，"
    "窗口结束后随机抽签分配号源，结果短信通知；过期未付的号在放号当天释放时同样抽签。"
    "0 或停用即先到先得。",
    "rule_draw_requests_per_patient": "每人同时排队的放号抽签数",
    "rule_draw_requests_per_patient_help": "公平放号时一位患者最多同时在几个出诊的抽签中排队"
    "（每个出诊只能排一次，重复提交不会多得签）。",
    "rule_draw_requests_per_phone_per_minute": "放号排队每手机号每分钟请求数",
    "rule_draw_requests_per_phone_per_minute_help": "公平放号时同一手机号一分钟内"
    "最多提交几个排队请求，用来挡住抢号脚本。",
    "rule_channel_pools": "号源池与分时放号",
    "rule_channel_pools_help": (
        "把每个出诊的号按渠道分池（如医联体转诊30%、电话、短信、坐席、自助机、HIS），"
        "各池可提前放号，未约满的号到设定时间（默认开诊前24小时）转入公共号池；"
        '值为 JSON，如 {"pools": [{"pool": "referral", "percent": 30, "release_days": 28}]}，'
        "空列表表示不分池。"
    ),
    "rule_waitlist": "候补",
    "rule_waitlist_help": (
        "开启后，患者可在号源约满时排队候补；有人退号时按先后顺序为第一位保留号源并短信通知。"
    ),
    "rule_waitlist_offer_minutes": "候补确认时限（分钟）",
    "rule_waitlist_offer_minutes_help": (
        "为候补患者保留号源的时长，到期未确认或支付即转给下一位；不会超过该出诊的预约截止时间。"
    ),
    "rule_extra_places_per_session": "每个出诊加号上限",
    "rule_extra_places_per_session_help": (
        "医生或管理员在一个出诊上最多可加的号数（给指定患者或给候补队列）；关闭本规则即不允许加号。"
    ),
    "active_only": "只看生效中",
    "show_all": "显示全部（含已解除）",
    "reason": "原因",
    "until": "截止日期（含）",
    "lift": "解除",
    "lifted": "已解除",
    "add_to_blacklist": "加入黑名单",
    "csv_import": "CSV 导入",
    "csv_file": "CSV 文件（卡号,截止日期,原因）",
    "imported": "已导入 {count} 条。",
    "import_refused": "有 {count} 行有误，未导入任何一条：请改正后重新导入整个文件。",
    "import_skipped": "已在黑名单中，跳过 {count} 行：第 {lines} 行。",
    "line": "行",
    "tracking_no": "投诉编号",
    "assignee": "处理人",
    "assign": "分派",
    "created_at": "时间",
    "recording": "电话录音",
    "listen": "收听",
    "resolution": "处理结果",
    "reply": "答复（将以短信告知来电人）",
    "send_reply": "发送答复",
    "history": "处理记录",
    "complaint_recording": "录音中",
    "complaint_received": "待处理",
    "complaint_in_progress": "处理中",
    "complaint_resolved": "已办结",
    "report_by_channel": "各渠道预约量",
    "report_by_department": "各科室预约量",
    "report_by_doctor": "各医生预约量",
    "report_by_day": "每日预约量",
    "report_agent_workload": "坐席工作量（代约数）",
    "report_call_outcomes": "来电结果",
    "report_slot_use": "号源使用率",
    "report_no_show_rate": "爽约率",
    "at": "时间",
    "actor": "操作人",
    "action": "操作",
    "entity": "对象",
    "change": "变更",
    "saved": "已保存。",
}

_EN: dict[str, str] = {
    "back_office": "Back office",
    "booking_query": "Booking query",
    "sessions_week": "Sessions (week)",
    "schedules": "Departments and doctors",
    "rules": "Rules",
    "calendar": "Holiday calendar",
    "calendar_help": "Public holidays and 调休 working days come from the chinese-calendar "
    "package (upgraded each November, when the State Council publishes the next year); days "
    "this hospital closes or opens otherwise are entered here and override it.",
    "calendar_entries": "This hospital's days",
    "calendar_set": "Enter a day",
    "calendar_day": "Day",
    "calendar_state": "State",
    "calendar_open": "open (bookable)",
    "calendar_closed": "closed (no booking)",
    "calendar_note": "Note",
    "calendar_kind": "Kind",
    "calendar_remove": "Remove",
    "calendar_no_entries": "No day entered this year.",
    "calendar_national": "National holidays and 调休 days",
    "calendar_not_covered": "The installed package covers {first}–{last} only: enter this "
    "year's holidays above, or upgrade the package.",
    "day_kind_holiday": "public holiday",
    "day_kind_adjusted_workday": "adjusted working day (调休)",
    "blacklist": "Blacklist",
    "complaints": "Complaints",
    "complaint": "Complaint",
    "reports": "Reports",
    "audit_log": "Audit log",
    "any": "Any",
    "search": "Search",
    "previous": "Previous",
    "next": "Next",
    "page_of": "Page {page} of {pages}",
    "rows_found": "{total} found",
    "print_view": "Print",
    "excel_export": "Export to Excel",
    "booking_no": "Booking number",
    "time": "Time",
    "department": "Department",
    "doctor": "Doctor",
    "patient": "Patient",
    "card_no": "Card number",
    "channel": "Channel",
    "status": "Status",
    "department_code": "Department code",
    "doctor_work_no": "Doctor's work number",
    "patient_search": "Patient (card number or start of name)",
    "day_from": "From",
    "day_to": "To",
    "fee_yuan": "Fee (yuan)",
    "channel_ivr": "Phone (IVR)",
    "channel_sms": "Text message",
    "channel_agent": "Agent",
    "channel_api": "API",
    "channel_kiosk": "Kiosk",
    "channel_his": "Hospital system",
    "channel_system": "System",
    "status_open": "Open",
    "status_stopped": "Stopped",
    "period": "Period",
    "period_morning": "Morning",
    "period_afternoon": "Afternoon",
    "period_evening": "Evening",
    "doctor_stop": "Doctor stop",
    "session_is_stopped": "This session is stopped.",
    "session_stopped": "Stopped: the patients affected will be told by text.",
    "affected_bookings": "Bookings affected: {count}",
    "stop_mode": "What happens to them",
    "stop_cancel": "Cancel them all (refunded)",
    "stop_move": "Move them to a substitute session",
    "substitute_session": "Substitute session",
    "free_places": "places free",
    "stop_reason": "Reason for the stop",
    "confirm_stop": "Confirm the stop ({count} bookings)",
    "add_session": "Add a session",
    "copy_week": "Create a week from a template week",
    "template_week": "Template week (any day of it)",
    "target_week": "Target week (any day of it)",
    "start": "Start",
    "end": "End",
    "slot_minutes": "Minutes per slot",
    "places_per_slot": "Places per slot",
    "room": "Room",
    "departments": "Departments",
    "doctors": "Doctors",
    "title": "Title",
    "specialty": "Specialty",
    "effective_rules": "Rules in force",
    "set_rule": "Set a rule",
    "rule": "Rule",
    "value": "Value",
    "priority": "Priority",
    "source": "Source",
    "source_no_show": "no-show rule",
    "source_admin": "administrator",
    "source_his": "hospital system",
    "source_credit": "credit rule",
    "appeals": "Appeals against bans",
    "open_appeals_only": "Open ones only",
    "ban_reason": "Banned for",
    "appeal_reason": "Appeal",
    "filed_at": "Filed",
    "appeal_status": "Decision",
    "appeal_open": "open",
    "appeal_granted": "granted (lifted)",
    "appeal_rejected": "rejected",
    "appeal_answer": "Answer to the patient",
    "appeal_grant": "Grant and lift",
    "appeal_reject": "Reject",
    "no_appeals": "No open appeals.",
    "platform_wide": "every hospital",
    "history_complaint.open": "left by phone",
    "history_complaint.status": "status changed",
    "history_complaint.assign": "assigned",
    "history_complaint.replied": "replied (texted)",
    "history_other": "other step",
    "source_default": "Platform default",
    "source_platform": "Platform setting",
    "source_hospital": "This hospital",
    "period_type": "Check period unit",
    "period_value": "Check period",
    "rule_real_name": "Real-name booking",
    "rule_real_name_help": (
        "A booking needs the patient's real name, a valid 18-digit resident ID and a phone; "
        "the name must match the registration."
    ),
    "rule_booking_window_days": "Booking window (days)",
    "rule_booking_window_days_help": (
        "Patients may book from today up to N days ahead; day N's places are released at the "
        "release time."
    ),
    "rule_release_time": "Release time",
    "rule_release_time_help": (
        "When each new day's places are released (hospital-local time, HH:MM)."
    ),
    "rule_booking_cutoff_minutes": "Booking cut-off (minutes before)",
    "rule_booking_cutoff_minutes_help": (
        "Booking closes this many minutes before the session starts; 0: at the start."
    ),
    "rule_prepay_required": "Prepayment required",
    "rule_prepay_required_help": (
        "When on, a booking with a fee must be paid within the hold time or it is released."
    ),
    "rule_hold_minutes": "Unpaid hold (minutes)",
    "rule_hold_minutes_help": (
        "How long an unpaid booking keeps its place before it is released to others."
    ),
    "rule_per_department_per_day": "Per department per day",
    "rule_per_department_per_day_help": (
        "How many active bookings one patient may have in one department on one day."
    ),
    "rule_max_active_per_patient": "Active bookings per patient",
    "rule_max_active_per_patient_help": (
        "How many active (not yet visited) bookings one patient may have at once."
    ),
    "rule_patients_per_phone": "Patients per phone",
    "rule_patients_per_phone_help": (
        "How many different patients one phone number may book for within the check period "
        "(against ticket touts)."
    ),
    "rule_cancel_deadline_minutes": "Cancel deadline (minutes before)",
    "rule_cancel_deadline_minutes_help": (
        "Cancelling is refused from this many minutes before the session; 0: until it starts."
    ),
    "rule_reschedule_deadline_days": "Reschedule deadline (days)",
    "rule_reschedule_deadline_days_help": (
        "Rescheduling must be done before the end of the Nth day before the clinic day; 0: "
        "until the session starts."
    ),
    "rule_no_show_blacklist": "No-shows before a ban",
    "rule_no_show_blacklist_help": (
        "This many no-shows within the check period put the patient on the blacklist."
    ),
    "rule_blacklist_ban_days": "Ban length (days)",
    "rule_blacklist_ban_days_help": "How many days (today included) a no-show ban lasts.",
    "rule_blacklist_check": "Check the blacklist",
    "rule_blacklist_check_help": (
        "When on, a blacklisted patient is refused at every door and told when the ban ends."
    ),
    "rule_agent_direct_debit": "Agents may debit the balance",
    "rule_agent_direct_debit_help": (
        "When on, agents may take the fee straight from the patient card's prepaid balance."
    ),
    "rule_sms_codes_per_minute": "Text codes per minute",
    "rule_sms_codes_per_minute_help": (
        "How many verification codes one phone may receive per minute."
    ),
    "rule_sms_registrations_per_day": "Text registrations (ZC) per phone per day",
    "rule_sms_registrations_per_day_help": (
        "How many text registrations (ZC) one phone may send per local day."
    ),
    "rule_ivr_lookups_per_hour": "Card or ID numbers looked up per caller ID per hour (phone)",
    "rule_ivr_lookups_per_hour_help": (
        "How many card or ID numbers one caller ID may try per hour on the phone line, "
        "against guessing."
    ),
    "rule_credit_ladder": "Credit ladder (days suspended per strike)",
    "rule_credit_ladder_help": "How many days the 1st, 2nd, 3rd … strike within the check "
    "period suspends booking (0: a warning text; past the end, the last step); when on, it "
    "replaces the no-show ban and its length.",
    "rule_same_day_cancel_strike": "Same-day cancellations per strike",
    "rule_same_day_cancel_strike_help": "Every this many cancellations a patient makes on the "
    "clinic day itself, within the check period, count as one strike.",
    "rule_book_cancel_strike": "Cancellations per strike",
    "rule_book_cancel_strike_help": "Every this many cancellations by the patient within the "
    "check period (not the hospital's, not unpaid holds) count as one strike.",
    "rule_credit_platform_wide": "Credit bans at every hospital",
    "rule_credit_platform_wide_help": "The platform's rule: when on, a ladder ban applies at "
    "every hospital and a person's strikes at all hospitals (by ID number) count together.",
    "rule_eligibility": "Eligibility (age, sex, ID for a first visit)",
    "rule_eligibility_help": "JSON, conditions by department code: age_under 14 "
    "(paediatrics, under 14), age_from 60 (geriatrics, 60 and over), sex F (obstetrics, "
    "women), first_visit_id hospital or department (a first visit needs an ID number on "
    "record); code * for every other department. Age is counted on the clinic day.",
    "rule_closed_days": "Closed days",
    "rule_closed_days_help": "none: only the hospital's own calendar; holidays: public holidays "
    "cannot be booked; holidays_and_weekends: weekends too (调休 working days stay open). "
    "A release falling on a closed day moves to the working day before it.",
    "rule_closed_hours": "Hours closed to booking",
    "rule_closed_hours_help": "The hours of each day when no booking is taken (hospital time), "
    "e.g. 00:00-06:30; empty: open round the clock.",
    "rule_late_payment": "Late payment",
    "rule_late_payment_help": "A payment arriving after its hold expired: refund sends it back "
    "the way it came; confirm_if_free restores and confirms the booking if its place is "
    "still free, else refunds.",
    "rule_fair_admission_seconds": "Fair admission window at release (seconds)",
    "rule_fair_admission_seconds_help": "Requests arriving within this many seconds of a release "
    "are queued and given places by lot when the window closes, each person texted the result; "
    "places freed by unpaid holds on the release day are drawn the same way. 0 or off: first "
    "come, first served.",
    "rule_draw_requests_per_patient": "Release draws one patient may wait in",
    "rule_draw_requests_per_patient_help": "In fair admission, how many sessions' draws one "
    "patient may be queued in at once (one ticket per session: asking again adds no lot).",
    "rule_draw_requests_per_phone_per_minute": "Queued requests per phone per minute at release",
    "rule_draw_requests_per_phone_per_minute_help": "In fair admission, how many queued requests "
    "one phone may make in a minute: stops grab scripts.",
    "rule_channel_pools": "Channel pools and staged release",
    "rule_channel_pools_help": (
        "Splits each session's places into pools per channel (e.g. referrals 30 %, phone, SMS,"
        " agents, kiosks, HIS), each released on its own day and time; what a pool has not"
        " booked rolls into the public pool at a set time (default 24 hours before the"
        ' session). JSON, e.g. {"pools": [{"pool": "referral", "percent": 30,'
        ' "release_days": 28}]}; an empty list means no pools.'
    ),
    "rule_waitlist": "Waitlist",
    "rule_waitlist_help": (
        "When on, patients may wait for a full session;"
        " a freed place is held for the first in line, who is texted."
    ),
    "rule_waitlist_offer_minutes": "Waitlist offer time (minutes)",
    "rule_waitlist_offer_minutes_help": (
        "How long a freed place is held for the patient it is offered to before it "
        "passes to the next; never past the session's booking cut-off."
    ),
    "rule_extra_places_per_session": "Extra places per session",
    "rule_extra_places_per_session_help": (
        "The most places a doctor or admin may add to one session (for a named patient "
        "or for its waitlist); switched off, none may be added."
    ),
    "active_only": "Active only",
    "show_all": "Show all (lifted too)",
    "reason": "Reason",
    "until": "Last banned day",
    "lift": "Lift",
    "lifted": "Lifted",
    "add_to_blacklist": "Add to the blacklist",
    "csv_import": "CSV import",
    "csv_file": "CSV file (card number, last day, reason)",
    "imported": "{count} imported.",
    "import_refused": "{count} lines are wrong, so nothing was imported: fix them, import again.",
    "import_skipped": "Already on the blacklist, {count} lines skipped: line {lines}.",
    "line": "Line",
    "tracking_no": "Tracking number",
    "assignee": "Assigned to",
    "assign": "Assign",
    "created_at": "When",
    "recording": "Call recording",
    "listen": "Listen",
    "resolution": "Outcome",
    "reply": "Reply (the caller is told by text)",
    "send_reply": "Send the reply",
    "history": "History",
    "complaint_recording": "Recording",
    "complaint_received": "To handle",
    "complaint_in_progress": "In progress",
    "complaint_resolved": "Resolved",
    "report_by_channel": "Bookings by channel",
    "report_by_department": "Bookings by department",
    "report_by_doctor": "Bookings by doctor",
    "report_by_day": "Bookings by day",
    "report_agent_workload": "Agent workload (bookings made)",
    "report_call_outcomes": "Call outcomes",
    "report_slot_use": "Slot use",
    "report_no_show_rate": "No-show rate",
    "at": "When",
    "actor": "Who",
    "action": "Action",
    "entity": "Record",
    "change": "Change",
    "saved": "Saved.",
}

MESSAGES: dict[str, dict[str, str]] = {
    lang: {
        **words,
        **i18n_devices.MESSAGES[lang],
        **i18n_feeds.MESSAGES[lang],
        **i18n_schedule_import.MESSAGES[lang],
        **i18n_wallboard.MESSAGES[lang],
    }
    for lang, words in (("zh", _ZH), ("en", _EN))
}


def office_text(lang: str, key: str, /, **params: object) -> str:
    """The back office's wording of ``key`` (else the console's), placeholders filled."""
    catalogue = MESSAGES.get(lang, MESSAGES[DEFAULT_LANGUAGE])
    text = catalogue.get(key)
    if text is None:
        return translate(lang, key, **params)
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return text
