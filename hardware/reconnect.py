"""Staying connected to the kiosks' MQTT broker, as both ends do it: the agent on a kiosk PC
(:mod:`hardware.agent.link`) and the engine's link to its kiosks (:mod:`hardware.hall.link`).

:class:`Outage` keeps the back-off between tries (``FIRST_RETRY_SECONDS``, doubling up to
``MAX_RETRY_SECONDS``) and says an outage once when it starts and once when it ends (Home
Assistant's habit), at DEBUG in between. :func:`words` says why a connection failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiomqtt import MqttError
from aiomqtt.exceptions import MqttConnectError

FIRST_RETRY_SECONDS = 1.0
"""A broker restart (an upgrade, a reboot of its box) is back within seconds."""
MAX_RETRY_SECONDS = 30.0
"""Doubling stops here: a hall of kiosks and its engines must not hammer a broker that is
coming back, and each should be back within half a minute of its broker."""


class Outage:
    """The broker ``name`` at ``where``, as one end's ``logger`` reports it."""

    def __init__(
        self,
        logger: logging.Logger,
        name: str,
        where: str,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._name = name
        self._where = where
        self._sleep = sleep
        self._clock = clock
        self._delay = FIRST_RETRY_SECONDS
        self._since: float | None = None

    def reached(self) -> None:
        """A connection was made: the next outage's first try comes after the first delay."""
        self._delay = FIRST_RETRY_SECONDS

    def serving(self, connected_as: str) -> None:
        """Connected and subscribed: "connected … as ``connected_as``" the first time, else
        "back after N s" once for the outage that ended."""
        if self._since is not None:
            self._logger.info(
                "%s back at %s after %.0f s", self._name, self._where, self._clock() - self._since
            )
            self._since = None
        else:
            self._logger.info(
                "connected to the %s at %s as %s", self._name, self._where, connected_as
            )

    async def retry(self, reason: str) -> None:
        """The connection failed or ended for ``reason``: say so (once per outage), wait the
        back-off, double it."""
        if self._since is None:
            self._since = self._clock()
            self._logger.warning(
                "%s unavailable at %s (%s); trying again in %g s, doubling up to %g s",
                self._name,
                self._where,
                reason,
                self._delay,
                MAX_RETRY_SECONDS,
            )
        else:
            self._logger.debug("%s at %s still unavailable: %s", self._name, self._where, reason)
        await self._sleep(self._delay)
        self._delay = min(self._delay * 2, MAX_RETRY_SECONDS)


def words(err: MqttError, credentials: str) -> str:
    """Why a connection failed, for a person; a refused one names the ``credentials`` to check."""
    if isinstance(err, MqttConnectError):
        return f"connection refused: {err} (check {credentials})"
    cause = f": {err.__cause__}" if err.__cause__ is not None else ""
    return f"{err or type(err).__name__}{cause}"
