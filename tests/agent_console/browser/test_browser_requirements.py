"""Without Chromium the browser tests skip on a workstation and fail in CI."""

from __future__ import annotations

import pytest

from tests.agent_console.browser import live_desk


def test_missing_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setattr(live_desk, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="need Chromium in CI"):
        live_desk.require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        live_desk.require_chromium()


def test_present_chromium_is_used(monkeypatch, tmp_path):
    binary = tmp_path / "chromium"
    binary.write_text("")
    monkeypatch.setattr(live_desk, "CHROMIUM", str(binary))
    monkeypatch.setenv("CI", "true")
    live_desk.require_chromium()  # neither fails nor skips


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_every_spelling_of_ci_fails_like_the_services_do(monkeypatch, tmp_path, value):
    """The browser tests and the private services read CI=… the same way (one helper)."""
    monkeypatch.setattr(live_desk, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="make system-deps"):
        live_desk.require_chromium()
