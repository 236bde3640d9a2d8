"""What a console view returns, and how it becomes HTML or JSON (STYLE habit 15).

A view returns a :class:`Page`: a context dict, a status, and maybe where a browser goes
next (post-redirect-get). The same context is rendered with the route's jinja2 template,
or sent as JSON when the path ends in ``.json`` or ``Accept`` asks for JSON only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from functools import partial
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from .csrf import token_for_form
from .i18n import language, translate
from .keys import AGENT_STATE, SESSION
from .permissions import permissions_of
from .sessions import console_path


@dataclass
class Page:
    context: dict[str, Any]
    status: int = 200
    redirect: str | None = None  # a browser is sent here (303); JSON gets the context
    template: str | None = None  # instead of the route's
    after: list[Callable[[web.StreamResponse], None]] = field(default_factory=list)


def wants_json(request: web.Request) -> bool:
    if request.path.endswith(".json"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    return str(value)


_dumps = partial(json.dumps, default=_plain, ensure_ascii=False)


def common_context(request: web.Request) -> dict[str, Any]:
    """What every template sees: words, the console's path, the operator, the CSRF token."""
    lang = language(request)
    session = request.get(SESSION)
    operator = session.operator if session is not None else None
    return {
        "lang": lang,
        "t": partial(translate, lang),
        "base": console_path(request),
        "signed_in": operator,
        "stage": session.stage if session is not None else None,
        "permissions": permissions_of(operator.roles) if operator else frozenset(),
        "csrf_token": token_for_form(request),
        "agent": request.get(AGENT_STATE),  # the desk header's state switcher (#14)
    }


def present(request: web.Request, page: Page, template: str) -> web.StreamResponse:
    if wants_json(request):
        body = dict(page.context)
        if page.redirect:
            body["next"] = page.redirect
        response: web.StreamResponse = web.json_response(body, status=page.status, dumps=_dumps)
    elif page.redirect and page.status < 400:
        response = web.Response(status=303, headers={"Location": page.redirect})
    else:
        context = {**common_context(request), **page.context}
        response = aiohttp_jinja2.render_template(
            page.template or template, request, context, status=page.status
        )
    for step in page.after:
        step(response)
    return response
