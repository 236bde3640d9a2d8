"""The shape of one row of the route table (the table itself is ``web.ROUTES``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from booking_core.operators import TokenRole

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ADMIN = frozenset({TokenRole.ADMIN})
HIS = frozenset({TokenRole.ADMIN, TokenRole.HIS})
ANY_ROLE = frozenset(TokenRole)
ROLES = ANY_ROLE

_PATH_PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: what it does, who may call it, and what goes in and comes out.

    ``roles`` None means public (no token needed). ``statuses`` are the success
    statuses it answers with (a PUT answers 201 when it created, 200 when it updated).
    ``counted`` routes report each outcome to ``on_booking``. ``max_body_bytes`` lets a bulk
    feed (a whole list in one request) take more than the API's ``max_body_bytes``.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    roles: frozenset[str] | None = ANY_ROLE
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    statuses: tuple[int, ...] = (200,)
    headers: tuple[tuple[str, str], ...] = ()  # (name, description) of request headers it reads
    counted: bool = False
    max_body_bytes: int | None = None  # a bulk feed's larger limit; None: the API's own

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    @property
    def openapi_path(self) -> str:
        return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)
