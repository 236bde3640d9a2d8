"""Schemathesis over every operation of the OpenAPI document: no answer is a 5xx, and every
answer matches the schema the document gives it.

The API runs on a real port (as ``guahao serve`` runs it: a handler is not cancelled when
its caller hangs up) over a real store, SQLite and a private PostgreSQL, with a hospital, a
session, a patient and an admin token, in a thread of its own: schemathesis calls it
synchronously. A few examples per operation keep this well under a minute (issue #9's hunt
sent 6,054 requests).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from booking_core import operators
from booking_core.bus import bootstrap
from booking_core.kernel.clock import FrozenClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from hospital_api import openapi
from hospital_api.auth import hash_token, new_token
from hospital_api.web import ROUTES_TABLE
from tests.hospital_api.helpers import hospital_with_session, make_root
from tests.support.fixtures import TEST_PII_KEY
from tests.support.services import create_database, drop_database
from tests.support.world import World, first_slot, local

# 4 random requests an operation, besides schemathesis's own boundary and negative cases
# (which try one past every bound: with 4 they still catch an id of 2^63 reaching the
# store); GUAHAO_FUZZ_EXAMPLES=500 for a longer hunt by hand
EXAMPLES_PER_OPERATION = int(os.environ.get("GUAHAO_FUZZ_EXAMPLES", "4"))
START_SECONDS = 30  # the store's migrations and the small world take well under a second

schema = schemathesis.openapi.from_dict(openapi.build(ROUTES_TABLE))


@dataclass(frozen=True)
class Served:
    base_url: str
    headers: dict[str, str]


class ApiThread(threading.Thread):
    """The API app on 127.0.0.1 and a free port, in an event loop of its own."""

    def __init__(self, db: str) -> None:
        super().__init__(name="api-under-fuzz", daemon=True)
        self.db = db
        self.ready = threading.Event()
        self.served: Served | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # reported by the fixture, not lost in the thread
            self.error = err
            self.ready.set()

    async def _serve(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        store = make_store(
            self.db, FrozenClock(local(2026, 7, 10, 9, 0)), outbox_consumers=["test"]
        )
        await store.open()
        try:
            services = bootstrap(store, Cipher.from_base64(TEST_PII_KEY))
            session = await hospital_with_session(services, "H001")
            await first_slot(services, session.id)
            await World(services).patient(seq=1)
            token = new_token()
            await services.handle(
                operators.CreateToken(
                    name="fuzz", role="admin", hospital_code=None, token_hash=hash_token(token)
                )
            )
            runner = web.AppRunner(make_root(services, []))
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                port = runner.addresses[0][1]
                self.served = Served(
                    f"http://127.0.0.1:{port}/api/v1", {"Authorization": f"Bearer {token}"}
                )
                self.ready.set()
                await self._stopping.wait()
            finally:
                await runner.cleanup()
        finally:
            await store.close()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(timeout=START_SECONDS)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(request, tmp_path_factory) -> Iterator[Served]:
    """The API over SQLite and over PostgreSQL (whose text cannot hold U+0000, say)."""
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("fuzz") / "guahao.db")
    else:
        db = create_database(request.getfixturevalue("postgres_dsn"))
    thread = ApiThread(db)
    thread.start()
    assert thread.ready.wait(START_SECONDS), "the API did not start"
    if thread.error is not None:
        raise thread.error
    assert thread.served is not None
    try:
        yield thread.served
    finally:
        thread.stop()
        if request.param == "postgres":
            drop_database(db)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize="GUAHAO_FUZZ_EXAMPLES" not in os.environ,  # make test: the same every run
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_answer_matches_the_document(case, served):
    case.call_and_validate(
        base_url=served.base_url,
        headers=served.headers,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
