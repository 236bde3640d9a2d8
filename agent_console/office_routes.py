"""Routes of the back office: booking queries and exports, doctor stops (停诊),
schedules, rules, blacklist, complaints, devices (kiosks), reports, the audit log.

Every path is under ``/office/`` and names the permission it needs; what a hospital's
operator may not see is "not found" (the core's reads and commands are scoped)."""

from __future__ import annotations

from .desk_routes import ID, NO
from .permissions import Permission
from .routing import SIGNED_IN, Route
from .views.office import (
    appeals,
    blacklist,
    bookings,
    calendar,
    complaints,
    devices,
    feeds,
    index,
    reports,
    rules,
    schedule_import,
    schedules,
    stops,
    waitlist,
    wallboard,
)

P = Permission
T = "office/"
KIOSK = "{kiosk:[^/]+}"  # the view answers what is not a kiosk id as "not found"
JOB = "{job:[^/]+}"

ROUTES: list[Route] = [
    Route("GET", "/office", index.office, SIGNED_IN, T + "index.html", "office"),
    # 预约查询
    Route("GET", "/office/bookings", bookings.booking_query, P.BOOKINGS_VIEW, T + "bookings.html"),
    Route("GET", "/office/bookings/print", bookings.booking_print, P.BOOKINGS_VIEW,
          T + "bookings_print.html"),
    Route("GET", "/office/bookings/export.xlsx", bookings.booking_export, P.BOOKINGS_VIEW,
          T + "export.html"),
    # 排班、停诊
    Route("GET", "/office/sessions", schedules.week, P.SESSIONS_STOP, T + "sessions.html"),
    Route("POST", "/office/sessions", schedules.add_session, P.SCHEDULES_MANAGE),
    Route("POST", "/office/sessions/week", schedules.copy_week, P.SCHEDULES_MANAGE),
    Route("GET", f"/office/sessions/{ID}/stop", stops.stop_form, P.SESSIONS_STOP,
          T + "stop.html"),
    Route("POST", f"/office/sessions/{ID}/stop", stops.stop, P.SESSIONS_STOP),
    # 候补 and 加号 (#15): a session's line; places added by a hospital admin
    Route("GET", f"/office/sessions/{ID}/waitlist", waitlist.line, P.BOOKINGS_VIEW,
          T + "waitlist.html"),
    Route("POST", f"/office/sessions/{ID}/extra-places", waitlist.add_extra_places,
          P.SCHEDULES_MANAGE),
    Route("GET", "/office/schedules", schedules.schedules, P.SCHEDULES_MANAGE,
          T + "schedules.html"),
    # 排班导入: the Excel template down, filled in, up, previewed, imported
    Route("GET", "/office/schedules/template.xlsx", schedule_import.download_template,
          P.SCHEDULES_MANAGE, T + "schedule_import.html"),
    Route("GET", "/office/schedules/import", schedule_import.import_form, P.SCHEDULES_MANAGE,
          T + "schedule_import.html"),
    Route("POST", "/office/schedules/import", schedule_import.upload, P.SCHEDULES_MANAGE,
          T + "schedule_import.html"),
    Route("POST", "/office/schedules/import/confirm", schedule_import.confirm,
          P.SCHEDULES_MANAGE, T + "schedule_import.html"),
    Route("POST", "/office/departments", schedules.save_department, P.SCHEDULES_MANAGE),
    Route("POST", "/office/doctors", schedules.save_doctor, P.SCHEDULES_MANAGE),
    Route("GET", "/office/rules", rules.rules, P.RULES_MANAGE, T + "rules.html"),
    Route("POST", "/office/rules", rules.set_rule, P.RULES_MANAGE),
    # 节假日表: the hospital's own closed and open days over the national calendar
    Route("GET", "/office/calendar", calendar.calendar, P.RULES_MANAGE, T + "calendar.html"),
    Route("POST", "/office/calendar", calendar.set_day, P.RULES_MANAGE),
    Route("POST", "/office/calendar/remove", calendar.remove_day, P.RULES_MANAGE),
    # 黑名单
    Route("GET", "/office/blacklist", blacklist.blacklist, P.BLACKLIST_VIEW, T + "blacklist.html"),
    Route("POST", "/office/blacklist", blacklist.add, P.BLACKLIST_MANAGE),
    Route("POST", f"/office/blacklist/{ID}/lift", blacklist.lift, P.BLACKLIST_MANAGE),
    Route("POST", "/office/blacklist/import", blacklist.import_csv, P.BLACKLIST_MANAGE),
    # 申诉: appeals against bans, decided here
    Route("GET", "/office/appeals", appeals.appeals, P.BLACKLIST_VIEW, T + "appeals.html"),
    Route("POST", f"/office/appeals/{ID}/decide", appeals.decide, P.BLACKLIST_MANAGE),
    # 投诉
    Route("GET", "/office/complaints", complaints.complaints, P.COMPLAINTS_MANAGE,
          T + "complaints.html"),
    Route("GET", f"/office/complaints/{NO}", complaints.complaint, P.COMPLAINTS_MANAGE,
          T + "complaint.html"),
    Route("POST", f"/office/complaints/{NO}/assign", complaints.assign, P.COMPLAINTS_MANAGE),
    Route("POST", f"/office/complaints/{NO}/reply", complaints.reply, P.COMPLAINTS_MANAGE),
    # 设备（自助机）
    Route("GET", "/office/devices", devices.devices, P.DEVICES_VIEW, T + "devices.html"),
    Route("POST", "/office/devices", devices.register, P.DEVICES_MANAGE,
          T + "kiosk_password.html"),
    Route("POST", f"/office/devices/{KIOSK}/disable", devices.disable, P.DEVICES_MANAGE),
    Route("POST", f"/office/devices/{KIOSK}/password", devices.reset_password,
          P.DEVICES_MANAGE, T + "kiosk_password.html"),
    Route("POST", f"/office/devices/jobs/{JOB}/reprint", devices.reprint, P.DEVICES_VIEW),
    # 医院系统对接（订阅）
    Route("GET", "/office/feeds", feeds.subscriptions_page, P.FEEDS_MANAGE, T + "feeds.html"),
    Route("POST", "/office/feeds", feeds.add, P.FEEDS_MANAGE, T + "feed_secret.html"),
    Route("GET", f"/office/feeds/{ID}", feeds.subscription_page, P.FEEDS_MANAGE,
          T + "feed.html"),
    Route("POST", f"/office/feeds/{ID}", feeds.edit, P.FEEDS_MANAGE),
    Route("POST", f"/office/feeds/{ID}/active", feeds.set_active, P.FEEDS_MANAGE),
    Route("POST", f"/office/feeds/{ID}/secret", feeds.rotate, P.FEEDS_MANAGE,
          T + "feed_secret.html"),
    Route("POST", f"/office/feeds/{ID}/redeliver", feeds.redeliver, P.FEEDS_MANAGE),
    Route("GET", f"/office/feeds/deliveries/{ID}", feeds.delivery_page, P.FEEDS_MANAGE,
          T + "feed_delivery.html"),
    # 报表、审计
    Route("GET", "/office/reports", reports.reports, P.REPORTS_VIEW, T + "reports.html"),
    Route("GET", "/office/audit", reports.audit, P.AUDIT_VIEW, T + "audit.html"),
    # 坐席监控大屏: the supervisor's wallboard, live over SSE
    Route("GET", "/office/wallboard", wallboard.wallboard, P.REPORTS_VIEW, T + "wallboard.html"),
    Route("GET", "/office/wallboard/stream", wallboard.wallboard_stream, P.REPORTS_VIEW,
          T + "wallboard_tiles.html"),
]  # fmt: skip
