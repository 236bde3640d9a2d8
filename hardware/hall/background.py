"""The hall's background work (自助机后台): the engine's link to the kiosks' broker with its
handlers (:class:`~.requests.KioskDoor`), the ``kiosk`` outbox consumer, the re-send sweep
and the broker's files (:mod:`.sending`).

All of it starts and stops together in :func:`running`, which the engine runs as a cleanup
context once the store is open (so it stops before the store closes): the broker's files
are written first (the engine's own account is among them), then the link connects and the
workers start; on shutdown the workers are cancelled, then the link leaves its share
groups, lets the requests in hand be answered, and disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from booking_core.bus import BookingServices
from booking_core.kernel.errors import GuahaoError
from edge.periodic import run_periodically

from .address import BrokerAddress
from .link import HallLink
from .mosquitto import BrokerFiles, BrokerFilesError, EngineAccount
from .requests import KioskDoor
from .sending import BrokerSync, JobSender

logger = logging.getLogger("hardware.hall")

OUTBOX_POLL_SECONDS = 0.5
"""A job made by a check-in waits at most this long to be published: the patient is
standing at the kiosk waiting for the ticket."""
RESEND_SWEEP_SECONDS = 5.0
"""How often the jobs without an ack are looked for: a job is published again within this
of its 30 s (``kiosks.RESEND_AFTER_SECONDS``)."""
FILES_RETRY_SECONDS = 10.0
"""The broker's files could not be written as the engine started (a folder not there yet, a
permission): how often they are tried again until they are."""
CONNECTION_WATCH_SECONDS = 0.5
"""How soon a new connection to the broker is noticed (and every unacknowledged job of the
online kiosks published again)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hall:
    """What the hall's background work needs: the broker, the engine's account on it, its
    client id ("" for the default), the broker's files (None: someone else writes them) and
    the hospital's time zone (for times on the kiosks' screens)."""

    address: BrokerAddress
    account: EngineAccount
    client_id: str = ""
    files: BrokerFiles | None = None
    timezone: str = "Asia/Shanghai"


@dataclass
class Running:
    """The hall at work: its link (``connected`` for /healthz), its door and its sender."""

    link: HallLink
    door: KioskDoor
    sender: JobSender


@contextlib.asynccontextmanager
async def running(services: BookingServices, hall: Hall) -> AsyncIterator[Running]:
    door = KioskDoor(services, timezone=hall.timezone)
    link = HallLink(
        hall.address,
        user=hall.account.user,
        password=hall.account.password,
        handlers=door,
        client_id=hall.client_id,
    )
    sync = BrokerSync(services, hall.files, hall.account) if hall.files is not None else None
    sender = JobSender(services, link, broker_sync=sync)
    door.on_came_online = sender.resend_kiosk
    synced = sync is None or await _sync_files(sync)
    tasks: list[asyncio.Task[None]] = []
    async with link:
        tasks.append(_every("kiosk-outbox", OUTBOX_POLL_SECONDS, sender.drain))
        tasks.append(_every("kiosk-resend", RESEND_SWEEP_SECONDS, sender.resend_due))
        tasks.append(asyncio.create_task(_on_each_connect(link, sender), name="kiosk-connect"))
        if not synced:
            assert sync is not None
            tasks.append(asyncio.create_task(_sync_until_done(sync), name="kiosk-broker-files"))
        logger.info(
            "kiosks: broker %s as %s, broker files %s",
            hall.address,
            hall.account.user,
            "written by the engine" if hall.files is not None else "not written by the engine",
        )
        try:
            yield Running(link, door, sender)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _sync_files(sync: BrokerSync) -> bool:
    """Write the broker's files; whether that worked (what did not is logged)."""
    try:
        await sync.sync()
    except (BrokerFilesError, GuahaoError, OSError) as err:  # say so, and carry on
        logger.error(
            "the broker's password file and ACL were not written (kiosks registered since "
            "they last were may not get in; tried again every %g s): %s",
            FILES_RETRY_SECONDS,
            err,
        )
        return False
    return True


async def _sync_until_done(sync: BrokerSync) -> None:
    """The broker's files, written at last (they could not be as the engine started)."""
    while True:
        await asyncio.sleep(FILES_RETRY_SECONDS)
        try:
            await sync.sync()
        except (BrokerFilesError, GuahaoError, OSError) as err:
            logger.debug("the broker's files still not written: %s", err)
            continue
        logger.info("the broker's password file and ACL are written now")
        return


async def _on_each_connect(link: HallLink, sender: JobSender) -> None:
    """Each time the link connects (the engine started, the broker came back) every
    unacknowledged job of the online kiosks is published again at once: an ack sent while
    this engine was away (killed, or the broker restarting: its shared subscriptions come
    back only when the engines subscribe again) may have reached no engine, and the kiosk
    answers a job it has done from its journal."""
    while True:
        await link.connected.wait()
        try:
            await sender.resend_open()
        except (GuahaoError, OSError) as err:
            logger.warning("jobs were not published again on connecting: %s", err)
        except Exception:
            logger.exception("jobs were not published again on connecting")
        while True:  # until the connection goes (the link has no event for that)
            await asyncio.sleep(CONNECTION_WATCH_SECONDS)
            if not link.connected.is_set():
                break


def _every(name: str, interval: float, step: Callable[[], Awaitable[object]]) -> asyncio.Task[None]:
    async def guarded() -> object:
        try:
            return await step()
        except (GuahaoError, OSError):
            raise  # run_periodically logs these once, and once more when it works again
        except Exception:  # a bug: logged each time, and the loop goes on
            logger.exception("%s failed", name)
            return None

    return asyncio.create_task(run_periodically(name, interval, guarded), name=name)
