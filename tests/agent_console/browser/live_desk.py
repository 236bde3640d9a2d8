"""The real engine (``engine.app.build_app``) on a real port, in a thread of its own, for
the browser tests and ``scripts/screenshots.py``; Chromium from the Debian package.

The engine's clock is frozen at 2026-07-10 09:00 in Beijing, so the desk's world (two
hospitals, free places the next days, callers) looks the same on every run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from booking_core.kernel.clock import FrozenClock
from booking_core.kernel.pii import Cipher
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES
from tests.agent_console.desk.desk_world import build
from tests.agent_console.helpers import add_operator, code_at
from tests.agent_console.office import office_world
from tests.support.services import free_port, running_in_ci
from tests.support.world import local

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery"  # the desk world's operators (tests/agent_console/helpers)
CALL_SECONDS = 30


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: make system-deps installs it (Debian's chromium)"
    return None


def require_chromium() -> None:
    """Skip on a workstation without Chromium; fail in CI, where it must be installed."""
    import pytest

    reason = chromium_missing()
    if reason is None:
        return
    if running_in_ci():
        pytest.fail(f"browser tests need Chromium in CI: {reason}", pytrace=False)
    pytest.skip(reason)


class LiveEngine:
    """``build_app`` served on 127.0.0.1 by an event loop in a background thread."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.port = free_port()
        self.clock = FrozenClock(local(2026, 7, 10, 9, 0))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-engine")
        self.runner: web.AppRunner | None = None
        self.world: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the engine's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_SECONDS)

    def start(self) -> LiveEngine:
        self.thread.start()
        self.world = self.call(self._start())
        return self

    async def _start(self) -> dict[str, Any]:
        settings = load_settings(
            env={"GUAHAO_PII_KEY": Cipher.generate_key()}, overrides={"db": self.db}
        )
        app = build_app(settings, clock=self.clock)
        self.runner = web.AppRunner(app, shutdown_timeout=2)  # open event streams end fast
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.services = app[SERVICES]
        return await build(self.services)

    def stop(self) -> None:
        try:
            if self.runner is not None:
                self.call(self.runner.cleanup())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(CALL_SECONDS)
            self.loop.close()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def log_in(page, url: str, username: str, password: str = PASSWORD, code: str = "") -> None:
    """Log in with the keyboard only: the user name field has the focus; then the one-time
    code (TOTP) when ``code`` is given (the admin roles)."""
    page.goto(f"{url}/console/login")
    page.locator("input[name=username]:focus").wait_for()  # autofocus has landed
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if code:
        page.locator("input[name=code]:focus").wait_for()
        page.keyboard.type(code)
        with page.expect_navigation():
            page.keyboard.press("Enter")


def office_hospital(engine: LiveEngine, code: str) -> office_world.Hospital:
    """The back office's world (tests/agent_console/office) as one more hospital: a
    session with three bookings to stop, a substitute, one booking another day."""
    return engine.call(office_world.hospital(engine.services, code))


def office_admin(engine: LiveEngine, username: str, hospital: str) -> str:
    """A hospital admin of ``hospital``; the one-time code to log in with. The engine's
    clock is frozen and a code is accepted once per operator: one log-in per admin."""
    engine.call(
        add_operator(
            engine.services,
            username,
            ("hospital_admin",),
            hospital,
            totp_secret=office_world.SECRET,
        )
    )
    return code_at(office_world.SECRET, engine.clock)


def go_available(page) -> None:
    """置闲: an agent is offered callers only when available (#14)."""
    if not page.locator("#agent-state.state-available").count():
        with page.expect_navigation(wait_until="load"):  # the form posts, the page comes back
            page.click('#agent-state button[value="available"]')
    page.wait_for_selector("#agent-state.state-available")
