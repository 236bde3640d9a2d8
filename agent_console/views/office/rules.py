"""The rules editor (规则): the rules in force for a hospital (platform defaults, platform
records, the hospital's overrides, by priority) and one rule record set at a time."""

from __future__ import annotations

import json

from aiohttp import web

from booking_core import catalogue
from booking_core.kernel import tenancy
from booking_core.kernel.errors import InvalidInput
from booking_core.rules import (
    PLATFORM_DEFAULTS,
    PeriodType,
    Rule,
    RuleKey,
    SetRule,
    effective_rules,
)

from ...pages import Page
from ..common import actor, form, services
from .util import hospital_of, int_param, office_url, page


def _rule_row(rule: Rule, source: str) -> dict:
    return {
        "key": str(rule.key),
        "value": rule.value,
        "enabled": rule.enabled,
        "priority": rule.priority,
        "source": source,
        "period_type": str(rule.period_type) if rule.period_type else "",
        "period_value": rule.period_value,
    }


async def rules(request: web.Request) -> Page:
    hospital = hospital_of(request)
    rule_set, records = await services(request).read(effective_rules, hospital, actor(request))

    def source(rec: Rule) -> str:
        return "hospital" if rec.hospital_id is not None else "platform"

    return page(
        request,
        {
            "hospital": hospital or "",
            "effective": [
                _rule_row(rule_set.rule(key), source(rule_set.rule(key))) for key in RuleKey
            ],
            "records": [_rule_row(r, source(r)) for r in records],
            "defaults": [_rule_row(r, "default") for r in PLATFORM_DEFAULTS],
            "keys": list(RuleKey),
        },
    )


async def set_rule(request: web.Request) -> Page:
    fields = await form(request)
    key = fields.get("key", "")
    if key not in RuleKey._value2member_map_:
        raise InvalidInput("key", "a known rule")
    try:
        value = json.loads(fields.get("value", ""))
    except ValueError:
        value = fields.get("value", "")  # a bare word: release_time's 07:30
    hospital_id = None
    code = hospital_of(request, fields)
    if code and fields.get("scope", "hospital") != "platform":
        hospital_id = (await services(request).read(catalogue.hospital, code)).id
        tenancy.check(actor(request), hospital_id, "hospital", code)
    period_type = fields.get("period_type") or None
    if period_type and period_type not in PeriodType._value2member_map_:
        raise InvalidInput("period_type", " | ".join(PeriodType))
    rule = await services(request).handle(
        SetRule(
            rule=Rule(
                key=RuleKey(key),
                value=value,
                enabled=fields.get("enabled", "1") in ("1", "on", "true"),
                priority=int_param(fields.get("priority"), "priority", 0),
                hospital_id=hospital_id,
                period_type=PeriodType(period_type) if period_type else None,
                period_value=int_param(fields.get("period_value"), "period_value", 0) or None,
            ),
            actor=actor(request),
        )
    )
    return page(
        request,
        {
            "rule": _rule_row(rule, "hospital" if rule.hospital_id else "platform"),
            "message": "saved",
        },
        redirect=office_url(request, "rules"),
    )
