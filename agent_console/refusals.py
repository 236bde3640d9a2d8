"""A core refusal in the console's words, one function for every screen: the desk's flash,
the error page of any other view, and ``docs/rules.md``'s table.

Instants read in the hospital's time (``2026-07-20 07:30``); a booking's status in words,
never its code; a limit by its own sentence where the catalogue has ``limit_reached.<rule>``,
else by the rule's name on the rules screen; a refusal by its reason where the catalogue has
``<code>.<reason>`` (``not_eligible.age_under``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from booking_core.kernel.errors import GuahaoError

from .i18n import DEFAULT_LANGUAGE, MESSAGES, translate
from .i18n_office import MESSAGES as OFFICE


def local(instant: datetime | None, tz: str | None = None) -> str:
    """``2026-07-20 07:30`` in ``tz``; without one, in the zone the instant carries (the core
    gives a refusal's instants in the hospital's zone)."""
    if instant is None:
        return ""
    return (instant.astimezone(ZoneInfo(tz)) if tz else instant).strftime("%Y-%m-%d %H:%M")


def refusal(err: GuahaoError, lang: str, tz: str | None = None) -> tuple[str, dict[str, str]]:
    """(the message, the params as the JSON twin gives them)."""
    params = {k: local(v, tz) if isinstance(v, datetime) else str(v) for k, v in err.params.items()}
    words = MESSAGES.get(lang, MESSAGES[DEFAULT_LANGUAGE])
    shown: dict[str, Any] = dict(params)
    key = err.code
    if "status" in shown:
        status_key = f"status_{shown['status']}"
        shown["status"] = words[status_key] if status_key in words else words["status_other"]
    rule = params.get("rule")
    if err.code == "limit_reached" and f"limit_reached.{rule}" in words:
        key = f"limit_reached.{rule}"
    elif f"{err.code}.{params.get('reason')}" in words:  # not_eligible.age_under, day_closed.…
        key = f"{err.code}.{params['reason']}"
    if rule is not None and f"rule_{rule}" in OFFICE.get(lang, {}):
        shown["rule"] = OFFICE[lang][f"rule_{rule}"]
    return translate(lang, key, **shown), params
