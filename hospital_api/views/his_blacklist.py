"""What a hospital's system feeds in in bulk: its whole blacklist (HIS 黑名单同步)."""

from __future__ import annotations

from aiohttp import web

from booking_core import blacklist
from booking_core.blacklist import EntryRefused

from ..problems import DOMAIN_PROBLEMS, Problem
from ..schemas_his import HisBlacklistIn
from ..wire import json_response, parse_body
from . import caller, hospital_code, services


def refused_entry(refusal: EntryRefused) -> dict[str, str]:
    """One refused entry as a field error: ``entries.<index>`` and the core's reason."""
    _, title, template = DOMAIN_PROBLEMS.get(refusal.code, (422, refusal.code, refusal.code))
    try:
        message = template.format(**refusal.params)
    except (KeyError, IndexError, ValueError):
        message = title
    return {"field": f"entries.{refusal.index}", "message": message, "type": refusal.code}


async def put_his_blacklist(request: web.Request) -> web.Response:
    data = await parse_body(request, HisBlacklistIn)
    code = hospital_code(request, data.hospital)
    assert code is not None
    result = await services(request).handle(
        blacklist.ReplaceHisBlacklist(
            actor=caller(request).actor, hospital_code=code, entries=data.bans()
        )
    )
    if result.refused:
        raise Problem(
            "invalid_request",
            f"{len(result.refused)} of {len(data.entries)} entries were refused; "
            "nothing was changed.",
            errors=[refused_entry(r) for r in result.refused],
        )
    return json_response(
        {
            "hospital": code,
            "added": list(result.added),
            "lifted": list(result.lifted),
            "unchanged": list(result.unchanged),
        }
    )
