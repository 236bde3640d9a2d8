"""One headless Chromium and one live engine per browser-test module; a fresh browser
context (cookies, downloads) per test."""

from __future__ import annotations

import pytest

from tests.agent_console.browser.live_desk import LiveEngine, launch, require_chromium


@pytest.fixture(scope="module")
def chromium():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def engine(request, tmp_path_factory, chromium):
    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    live = LiveEngine(str(folder / "guahao.db")).start()
    yield live
    live.stop()


@pytest.fixture
def page(chromium, engine):
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()  # closes its event streams before the engine stops
