"""The HIS blacklist pull (HIS 黑名单同步): every ``his_blacklist_interval_seconds`` the
engine GETs ``his_blacklist_url`` — JSON shaped as the body of ``PUT
/api/v1/blacklist/his`` — and replaces the HIS bans of ``his_blacklist_hospital`` with it
through the same core command as the PUT.

A bad answer (not 200, not JSON, not the shape, a refused entry, the server unreachable)
changes nothing. It is logged once, at WARNING, and again only when the reason changes;
the first pull that works after it is logged once at INFO."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from booking_core import blacklist
from booking_core.blacklist import HisBlacklistReplaced
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import GuahaoError
from hospital_api.schemas_his import HisBlacklistIn

from .keys import SERVICES, SETTINGS
from .workers import stop

log = logging.getLogger(__name__)

PULL_TIMEOUT_SECONDS = 30.0  # a list of thousands is a few hundred KB: seconds, not minutes
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # 20,000 entries (the most a list may have) fit in 4 MB
READ_CHUNK_BYTES = 65536
SHOWN_REFUSALS = 5  # the first few refused entries in the log line; the HIS fixes the rest too

PULL_ACTOR = Actor("system", "his-blacklist-pull", None, Channel.HIS)


class PullFailed(Exception):
    """Why a pull changed nothing, in words for the log."""


class HisBlacklistPull:
    """One pull after another from one URL into one hospital's HIS bans."""

    def __init__(
        self,
        services: BookingServices,
        http: aiohttp.ClientSession,
        url: str,
        hospital_code: str,
        token: str | None = None,
    ) -> None:
        self.services = services
        self.http = http
        self.url = url
        self.hospital_code = hospital_code
        self.token = token
        self.failing: str | None = None  # the reason last logged, while pulls fail

    async def step(self) -> HisBlacklistReplaced | None:
        """Pull and replace once; None when the pull changed nothing (logged once)."""
        try:
            result = await self._pull()
        except PullFailed as err:
            self._failed(str(err))
            return None
        if self.failing is not None:
            log.info("HIS blacklist pull from %s works again", self.url)
            self.failing = None
        log.debug(
            "HIS blacklist of %s: %d added, %d lifted, %d unchanged",
            self.hospital_code,
            len(result.added),
            len(result.lifted),
            len(result.unchanged),
        )
        return result

    def _failed(self, reason: str) -> None:
        if reason != self.failing:
            log.warning(
                "HIS blacklist pull from %s changed nothing: %s (said once; the next pull "
                "that works is logged)",
                self.url,
                reason,
            )
        self.failing = reason

    async def _fetch(self) -> bytes:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        timeout = aiohttp.ClientTimeout(total=PULL_TIMEOUT_SECONDS)
        try:
            async with self.http.get(self.url, headers=headers, timeout=timeout) as resp:
                if resp.status != 200:
                    raise PullFailed(f"the HIS answered {resp.status} {resp.reason or ''}".strip())
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(READ_CHUNK_BYTES):
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise PullFailed(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise PullFailed(f"cannot reach the HIS ({type(err).__name__}: {err})") from err
        return b"".join(chunks)

    async def _pull(self) -> HisBlacklistReplaced:
        raw = await self._fetch()
        try:
            data = HisBlacklistIn.model_validate_json(raw)
        except ValidationError as err:
            problems = err.errors()
            if any(e["type"] == "json_invalid" for e in problems):
                raise PullFailed("the answer is not JSON") from None
            where = ", ".join(".".join(map(str, e["loc"])) or "(body)" for e in problems[:5])
            raise PullFailed(f"the answer does not have the shape asked for at {where}") from None
        if data.hospital is not None and data.hospital != self.hospital_code:
            raise PullFailed(f"the list is hospital {data.hospital}'s, not {self.hospital_code}'s")
        try:
            result = await self.services.handle(
                blacklist.ReplaceHisBlacklist(
                    actor=PULL_ACTOR, hospital_code=self.hospital_code, entries=data.bans()
                )
            )
        except GuahaoError as err:
            raise PullFailed(f"{err.code} {err.params}") from err
        if result.refused:
            shown = "; ".join(
                f"entry {r.index}: {r.code} {r.params}" for r in result.refused[:SHOWN_REFUSALS]
            )
            raise PullFailed(f"{len(result.refused)} entries refused ({shown})")
        return result


async def his_blacklist_ctx(app: web.Application) -> AsyncIterator[None]:
    """The pull's cleanup context (mounted only when ``his_blacklist_url`` is set)."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as http:
        pull = HisBlacklistPull(
            app[SERVICES],
            http,
            settings.his_blacklist_url,
            settings.his_blacklist_hospital,
            settings.his_blacklist_token,
        )
        task = asyncio.create_task(
            run_pulls(pull, settings.his_blacklist_interval_seconds), name="his-blacklist-pull"
        )
        yield
        await stop(task)


async def run_pulls(pull: HisBlacklistPull, interval: float) -> None:
    """Pull now, then every ``interval`` seconds; a bug in one pull does not end the next."""
    while True:
        try:
            await pull.step()
        except Exception:
            log.exception("HIS blacklist pull failed unexpectedly")
        await asyncio.sleep(interval)


def mount(app: web.Application) -> None:
    """The pull, when the settings ask for it."""
    if app[SETTINGS].his_blacklist_url:
        app.cleanup_ctx.append(his_blacklist_ctx)
