"""The console's route records and access levels, shared by every routes module.

Each route names what it needs: ``PUBLIC``, ``STEP`` (signed in, log-in possibly
unfinished), ``SIGNED_IN`` (log-in finished) or a
:class:`~agent_console.permissions.Permission`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .pages import Page
from .permissions import Permission

PUBLIC = "public"
STEP = "step"  # signed in, any stage of the log-in (one-time code, new password, logout)
SIGNED_IN = "signed_in"
Access = str | Permission
View = Callable[[web.Request], Awaitable[Page]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    view: View
    access: Access
    template: str = "error.html"
    name: str | None = None
