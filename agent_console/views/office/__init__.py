"""The back office's views (后台): queries and exports, 停诊, schedules, rules, blacklist,
complaints, reports and the audit log."""
