"""scripts/system_deps.py: what `make test` installs before pytest, and how it asks for root.

Nothing here runs apt-get: the script's view of the system (what is present, who we are, what
a command does) is replaced by fakes, and the commands it would run are recorded.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.agent_console.browser import live_desk

from .services import find_mosquitto, find_pg_bindir

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system_deps.py"


def load_script():
    spec = importlib.util.spec_from_file_location("system_deps", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["system_deps"] = module
    spec.loader.exec_module(module)
    return module


deps = load_script()


class FakeSystem:
    """Which needs are present, our user id, which commands exist, and a record of runs."""

    def __init__(self, monkeypatch, *, missing=(), euid=0, sudo=None, apt=True, fails=()):
        self.present = {need.name: need.name not in missing for need in deps.NEEDS}
        self.runs: list[list[str]] = []
        self.sudo, self.fails = sudo, fails
        needs = tuple(
            deps.Need(n.name, n.packages, n.purpose, n.found_by, self._probe(n.name))
            for n in deps.NEEDS
        )
        commands = {"apt-get": "/usr/bin/apt-get" if apt else None}
        commands["sudo"] = "/usr/bin/sudo" if sudo else None
        monkeypatch.setattr(deps, "NEEDS", needs)
        monkeypatch.setattr(deps.os, "geteuid", lambda: euid)
        monkeypatch.setattr(deps.shutil, "which", lambda name: commands.get(name))
        monkeypatch.setattr(deps.subprocess, "run", self.run)

    def _probe(self, name):
        return lambda: self.present[name]

    def run(self, command, **_kwargs):
        command = list(command)
        if command[:3] == ["/usr/bin/sudo", "-n", "true"]:  # the password-less probe
            return subprocess.CompletedProcess(command, 0 if self.sudo == "nopasswd" else 1)
        self.runs.append(command)
        if any(word in command for word in self.fails):
            return subprocess.CompletedProcess(command, 100)
        if "install" in command:  # apt-get install makes what it installed present
            for need in deps.NEEDS:
                if set(need.packages) <= set(command):
                    self.present[need.name] = True
        return subprocess.CompletedProcess(command, 0)


def test_the_packages_are_the_ones_the_tests_need():
    packages = {p for need in deps.NEEDS for p in need.packages}
    assert {"chromium", "fonts-wqy-microhei", "mosquitto", "postgresql"} <= packages
    for need in deps.NEEDS:
        assert need.purpose, need.name
        assert need.found_by, need.name


def test_nothing_missing_runs_nothing(monkeypatch, capsys):
    system = FakeSystem(monkeypatch)
    assert deps.run([]) == 0
    assert system.runs == []
    assert "installed" in capsys.readouterr().err


def test_as_root_updates_once_then_installs_only_what_is_missing(monkeypatch):
    system = FakeSystem(monkeypatch, missing={"chromium", "cjk-font"}, euid=0)
    assert deps.run([]) == 0
    install = ["apt-get", "install", "-y", "--no-install-recommends"]
    assert system.runs == [
        ["apt-get", "update"],
        [*install, "chromium", "fonts-wqy-microhei", "fontconfig"],
    ]
    assert all(system.present.values())


def test_not_root_uses_sudo_when_it_needs_no_password(monkeypatch):
    system = FakeSystem(monkeypatch, missing={"mosquitto"}, euid=1000, sudo="nopasswd")
    assert deps.run([]) == 0
    assert system.runs == [
        ["sudo", "-n", "apt-get", "update"],
        ["sudo", "-n", "apt-get", "install", "-y", "--no-install-recommends", "mosquitto"],
    ]


def test_not_root_and_sudo_asks_for_a_password_prints_the_command(monkeypatch, capsys):
    system = FakeSystem(monkeypatch, missing={"chromium"}, euid=1000, sudo="password")
    assert deps.run([]) == 1
    assert system.runs == []
    err = capsys.readouterr().err
    assert (
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium\n" in err
    )


def test_not_root_without_sudo_prints_the_command_for_root(monkeypatch, capsys):
    system = FakeSystem(monkeypatch, missing={"postgresql", "chromium"}, euid=1000)
    assert deps.run([]) == 1
    assert system.runs == []
    err = capsys.readouterr().err
    assert "As root, run this" in err
    assert (
        "    apt-get update && apt-get install -y --no-install-recommends chromium postgresql"
        in err
    )


def test_check_only_reports(monkeypatch, capsys):
    system = FakeSystem(monkeypatch, missing={"mosquitto"}, euid=0)
    assert deps.run(["--check"]) == 1
    assert system.runs == []
    assert "mosquitto: the MQTT broker" in capsys.readouterr().err


def test_without_apt_get_says_what_to_install(monkeypatch, capsys):
    system = FakeSystem(monkeypatch, missing={"cjk-font"}, euid=0, apt=False)
    assert deps.run([]) == 1
    assert system.runs == []
    assert "no apt-get" in capsys.readouterr().err


def test_a_failing_apt_get_fails_the_run(monkeypatch, capsys):
    system = FakeSystem(monkeypatch, missing={"chromium"}, euid=0, fails={"update"})
    assert deps.run([]) == 1
    assert system.runs == [["apt-get", "update"]]  # no install after a failed update
    assert "apt-get update failed with status 100" in capsys.readouterr().err


def test_installed_but_still_not_found_fails(monkeypatch, capsys):
    system = FakeSystem(monkeypatch, missing={"chromium"}, euid=0)
    system.run = lambda command, **_: subprocess.CompletedProcess(command, 0)  # installs nothing
    monkeypatch.setattr(deps.subprocess, "run", system.run)
    assert deps.run([]) == 1
    assert "still not found" in capsys.readouterr().err


def test_detection_agrees_with_what_the_tests_look_for():
    assert Path(live_desk.CHROMIUM) == deps.CHROMIUM
    assert deps.mosquitto_present() == (find_mosquitto() is not None)
    assert deps.initdb_present() == (find_pg_bindir() is not None)


def make_dry_run(target: str) -> list[str]:
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_make_test_installs_system_packages_before_pytest_and_demo_does_not():
    lines = make_dry_run("test")
    steps = [i for i, line in enumerate(lines) if "scripts/system_deps.py" in line]
    pytest_steps = [i for i, line in enumerate(lines) if line.split(" ")[0].endswith("/pytest")]
    assert steps, lines
    assert pytest_steps, lines
    assert steps[0] < pytest_steps[0], lines
    assert not any("system_deps" in line for line in make_dry_run("demo"))
    assert any("scripts/system_deps.py" in line for line in make_dry_run("system-deps"))
