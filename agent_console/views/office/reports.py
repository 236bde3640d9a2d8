"""Reports with charts (报表) and the audit log viewer (审计日志)."""

from __future__ import annotations

import json
from datetime import timedelta

from aiohttp import web

from booking_core.kernel.identity import mask_name
from booking_core.reports import audit_log, report

from ...i18n import language
from ...i18n_agents import duration_words
from ...i18n_office import office_text
from ...pages import Page
from ..common import actor, services
from ..times import localized, today, zone_of
from .charts import bar_chart
from .util import day_param, hospital_of, int_param, page

CHARTS = (
    "by_channel",
    "by_department",
    "by_doctor",
    "by_day",
    "agent_workload",
    "call_outcomes",
    "call_dispositions",
)
DEFAULT_DAYS = 30
TIMES = ("talk_seconds", "average_talk_seconds", "wrap_up_seconds", "break_seconds",
         "available_seconds")  # fmt: skip


async def reports(request: web.Request) -> Page:
    this_day = await today(request, hospital_of(request))
    day_to = day_param(request.query.get("day_to"), "day_to") or this_day + timedelta(days=7)
    day_from = day_param(request.query.get("day_from"), "day_from") or day_to - timedelta(
        days=DEFAULT_DAYS
    )
    data = await services(request).read(
        report,
        actor(request),
        hospital_code=hospital_of(request),
        day_from=day_from,
        day_to=day_to,
    )
    lang = language(request)
    slot_use = [
        (day, round(100 * booked / capacity, 1) if capacity else 0.0)
        for day, booked, capacity in data["slot_use"]
    ]
    worded = {"call_dispositions": [
        (office_text(lang, f"disposition_{label}"), n) for label, n in data["call_dispositions"]
    ]}  # fmt: skip
    charts = {
        name: str(bar_chart(office_text(lang, "report_" + name), worded.get(name, data[name])))
        for name in CHARTS
    }
    agent_times = data.pop("agent_times")
    charts["slot_use"] = str(bar_chart(office_text(lang, "report_slot_use"), slot_use, unit="%"))
    return page(
        request,
        {
            "hospital": hospital_of(request) or "",
            "day_from": day_from,
            "day_to": day_to,
            "data": {k: [list(v) for v in rows] if isinstance(rows, list) else rows
                     for k, rows in data.items()},
            "no_show_rate": data["no_show_rate"],
            "charts": charts,
            "agent_times": agent_times,  # seconds; the page shows h:mm:ss
            "agent_times_shown": [
                {**row, **{k: duration_words(row[k]) for k in TIMES}} for row in agent_times
            ],
        },
    )  # fmt: skip


async def audit(request: web.Request) -> Page:
    page_no = int_param(request.query.get("page"), "page", 1)
    action = request.query.get("action") or None
    found = await services(request).read(audit_log, actor(request), action=action, page=page_no)
    entries = [
        {
            **e,
            "before": _masked(e["entity"], e["before"]),
            "after": _masked(e["entity"], e["after"]),
        }
        for e in found
    ]
    tz = await zone_of(request)
    return page(
        request, {"entries": localized(entries, tz), "page": page_no, "action": action or ""}
    )


PERSON_KEYS = ("patient_name",)


def _masked(entity: str, state: str | None) -> str | None:
    """An audit state with a patient's name masked (phones and IDs are stored masked)."""
    if not state:
        return state
    try:
        value = json.loads(state)
    except ValueError:
        return state
    if not isinstance(value, dict):
        return state
    keys = PERSON_KEYS + (("name",) if entity == "patient" else ())
    for key in keys:
        if isinstance(value.get(key), str):
            value[key] = mask_name(value[key])
    return json.dumps(value, ensure_ascii=False)
