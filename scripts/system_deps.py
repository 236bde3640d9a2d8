#!/usr/bin/env python3
"""The Debian packages the test suite needs from the system, installed when missing.

    python3 scripts/system_deps.py           # install what is missing (make system-deps)
    python3 scripts/system_deps.py --check   # only say what is missing; exit 1 if anything is

``make test`` runs it before pytest, so a bare Debian machine needs nothing but the two
commands of the README. What it installs, why, and how it tells the package is there:

- ``chromium``: the browser the console's browser tests and scripts/screenshots.py drive
  through Playwright (never a downloaded browser); found at /usr/bin/chromium.
- ``fonts-wqy-microhei`` (with ``fontconfig``): a CJK font, so the screenshots show Chinese
  text rather than boxes; found when ``fc-list :lang=zh`` lists a font.
- ``mosquitto``: the MQTT broker the tests start privately (kiosk jobs go over MQTT); found on
  PATH or in /usr/sbin.
- ``postgresql``: the server binaries (initdb, pg_ctl) for the tests' private PostgreSQL
  (tests/support/services.py); found on PATH or under /usr/lib/postgresql/*/bin.

As root it runs ``apt-get update`` (once, and only when something is missing) and
``apt-get install``; otherwise through ``sudo -n`` when that works without a password;
otherwise it prints the exact command to run and exits 1. It never removes anything, and
installing a package is the only change it makes. ``make demo`` does not use it.

Standard library only: it runs with the system python3, before the virtual environment.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")  # the path tests/agent_console/browser/live_desk.py uses
SBIN_DIRS = (Path("/usr/sbin"), Path("/usr/local/sbin"))
POSTGRES_LIB = Path("/usr/lib/postgresql")
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def chromium_present() -> bool:
    return CHROMIUM.exists()


def cjk_font_present() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    result = subprocess.run(
        [fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and bool(result.stdout.strip())


def mosquitto_present() -> bool:
    if shutil.which("mosquitto"):
        return True
    return any((folder / "mosquitto").exists() for folder in SBIN_DIRS)


def initdb_present() -> bool:
    if shutil.which("initdb"):
        return True
    return any(POSTGRES_LIB.glob("*/bin/initdb"))


@dataclass(frozen=True)
class Need:
    """Something the tests need from the system, the packages that provide it, and how we
    tell it is there."""

    name: str
    packages: tuple[str, ...]
    purpose: str
    found_by: str
    present: Callable[[], bool]


NEEDS: tuple[Need, ...] = (
    Need(
        "chromium",
        ("chromium",),
        "the browser Playwright drives in the console's browser tests and screenshots",
        "/usr/bin/chromium exists",
        chromium_present,
    ),
    Need(
        "cjk-font",
        ("fonts-wqy-microhei", "fontconfig"),
        "a Chinese (CJK) font, so screenshots show Chinese text rather than boxes",
        "fc-list :lang=zh lists a font",
        cjk_font_present,
    ),
    Need(
        "mosquitto",
        ("mosquitto",),
        "the MQTT broker the tests start privately on a free port (the kiosk door talks MQTT)",
        "mosquitto on PATH or in /usr/sbin",
        mosquitto_present,
    ),
    Need(
        "postgresql",
        ("postgresql",),
        "initdb and pg_ctl, for the tests' private PostgreSQL server",
        "initdb on PATH or under /usr/lib/postgresql/*/bin",
        initdb_present,
    ),
)


def missing(needs: Sequence[Need] | None = None) -> list[Need]:
    return [need for need in (NEEDS if needs is None else needs) if not need.present()]


def packages_of(needs: Sequence[Need]) -> list[str]:
    """The packages to install for ``needs``, each once, in order."""
    return list(dict.fromkeys(package for need in needs for package in need.packages))


def install_commands(packages: Sequence[str], prefix: Sequence[str] = ()) -> list[list[str]]:
    return [
        [*prefix, "apt-get", "update"],
        [*prefix, "apt-get", "install", "-y", "--no-install-recommends", *packages],
    ]


def how_to_run_as_root() -> list[str] | None:
    """The prefix that runs a command as root here (``[]`` when we are root, ``["sudo", "-n"]``
    when sudo works without a password), or None when neither does."""
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo is None:
        return None
    probe = subprocess.run([sudo, "-n", "true"], capture_output=True, check=False)
    return ["sudo", "-n"] if probe.returncode == 0 else None


def shown(commands: Sequence[Sequence[str]]) -> str:
    return " && ".join(shlex.join(command) for command in commands)


def say(text: str) -> None:
    print(f"system-deps: {text}", file=sys.stderr, flush=True)


def describe(needs: Sequence[Need]) -> str:
    return "\n".join(
        f"  - {' '.join(need.packages)}: {need.purpose} (looked for: {need.found_by})"
        for need in needs
    )


def run(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report only, install nothing")
    args = parser.parse_args(argv)

    lacking = missing()
    if not lacking:
        say("chromium, a CJK font, mosquitto and the PostgreSQL server are installed")
        return 0
    packages = packages_of(lacking)
    say("the tests need these system packages, not installed here:\n" + describe(lacking))
    if args.check:
        say(f"install them with: {shown(install_commands(packages, ['sudo']))}")
        return 1
    if shutil.which("apt-get") is None:
        say(
            "this is not a Debian-like system (no apt-get): install the equivalents of "
            f"{' '.join(packages)} yourself, then run make test again"
        )
        return 1
    prefix = how_to_run_as_root()
    if prefix is None:
        if shutil.which("sudo") is None:
            why, command = "not root, and sudo is not installed. As root, run", []
        else:
            why, command = "not root, and sudo -n asks for a password. Run", ["sudo"]
        say(f"{why} this, then make test again:\n    {shown(install_commands(packages, command))}")
        return 1
    for command in install_commands(packages, prefix):
        say(f"running: {shlex.join(command)}")
        result = subprocess.run(command, env={**os.environ, **APT_ENV}, check=False)
        if result.returncode != 0:
            say(f"{shlex.join(command)} failed with status {result.returncode}")
            return 1
    still = missing(lacking)
    if still:
        say(
            "installed, yet still not found:\n"
            + describe(still)
            + "\n  (the package installed, but not where the tests look)"
        )
        return 1
    say(f"installed: {' '.join(packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
