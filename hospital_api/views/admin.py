"""The blacklist (黑名单) and the booking rules (规则)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core import blacklist, rules
from booking_core.blacklist import BanSource, BlacklistEntry
from booking_core.kernel.errors import NotFound
from booking_core.operators import TokenRole
from booking_core.rules import PeriodType, Rule, RuleKey

from .. import paging
from ..directory import zone_of
from ..present import ban_out, rule_out
from ..schemas import BlacklistIn, RuleIn, RuleQuery
from ..schemas_his import BlacklistPageQuery
from ..wire import json_response, parse_body, parse_query, path_int
from . import caller, directory, hospital_code, services, visible_hospital_id

PLATFORM_ZONE = ZoneInfo("Asia/Shanghai")  # bans shown for a platform token with no hospital


async def _ban(request: web.Request, entry: BlacklistEntry) -> dict:
    dirs = directory(request)
    if entry.hospital_id is not None:
        hospital = await dirs.by_id(entry.hospital_id)
        return ban_out(entry, hospital.code, zone_of(hospital))
    home = caller(request).hospital_id
    tz = PLATFORM_ZONE if home is None else zone_of(await dirs.by_id(home))
    return ban_out(entry, None, tz)


async def get_blacklist(request: web.Request) -> web.Response:
    q = parse_query(request, BlacklistPageQuery)
    after = paging.decode(request, q, q.cursor, (int,))
    entries = await services(request).read(
        blacklist.list_blacklist,
        caller(request).actor,
        patient_id=q.patient,
        active_only=not q.all,
        after=None if after is None else after[0],
        limit=q.limit + 1,
        source=None if q.source is None else BanSource(q.source),
    )
    page, next_cursor = paging.cut(request, q, entries, q.limit, lambda e: (e.id,))
    return paging.answer(request, [await _ban(request, e) for e in page], next_cursor)


async def post_blacklist(request: web.Request) -> web.Response:
    data = await parse_body(request, BlacklistIn)
    who = caller(request)
    entry = await services(request).handle(
        blacklist.AddToBlacklist(
            actor=who.actor,
            patient_id=data.patient_id,
            until=data.until,
            reason=data.reason,
            source=BanSource.HIS if who.role == TokenRole.HIS else BanSource.ADMIN,
            platform_wide=data.platform_wide,
        )
    )
    return json_response(await _ban(request, entry), 201)


async def lift_ban(request: web.Request) -> web.Response:
    entry_id = path_int(request, "id")
    entry = await services(request).handle(
        blacklist.LiftBan(actor=caller(request).actor, entry_id=entry_id)
    )
    return json_response(await _ban(request, entry))


async def get_rules(request: web.Request) -> web.Response:
    q = parse_query(request, RuleQuery)
    code = hospital_code(request, q.hospital, required=False)
    ruleset, records = await services(request).read(
        rules.effective_rules, code, caller(request).actor
    )
    dirs = directory(request)
    effective = [ruleset.rule(key) for key in RuleKey]
    return json_response(
        {
            "hospital": code,
            "effective": [rule_out(r, await dirs.code_of(r.hospital_id)) for r in effective],
            "stored": [rule_out(r, await dirs.code_of(r.hospital_id)) for r in records],
        }
    )


async def put_rule(request: web.Request) -> web.Response:
    raw_key = request.match_info["key"]
    if raw_key not in RuleKey._value2member_map_:
        raise NotFound("rule", raw_key)
    data = await parse_body(request, RuleIn)
    who = caller(request)
    code = data.hospital if "hospital" in data.model_fields_set else who.hospital_code
    hospital_id = None if code is None else await visible_hospital_id(request, code)
    rule = await services(request).handle(
        rules.SetRule(
            actor=who.actor,
            rule=Rule(
                key=RuleKey(raw_key),
                value=data.value,
                enabled=data.enabled,
                priority=data.priority,
                hospital_id=hospital_id,
                period_type=None if data.period_type is None else PeriodType(data.period_type),
                period_value=data.period_value,
            ),
        )
    )
    return json_response(rule_out(rule, code))
