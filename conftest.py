"""Root conftest: puts the repository on sys.path and loads the shared fixtures."""

from __future__ import annotations

import os
import sys
import threading

pytest_plugins = ["tests.support.pg_fixture", "tests.support.fixtures"]

_exit_status = 0


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config):
    """A test that failed with a store still open leaves aiosqlite's worker threads (not
    daemons) behind, and the interpreter would wait for them forever at exit — a CI run
    would hang until its time limit. Name them and leave with pytest's own status."""
    stray = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if stray:
        names = ", ".join(sorted({t.name for t in stray}))
        print(
            f"\nleft-over threads after the session (a store not closed?): {names}", file=sys.stderr
        )
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(_exit_status or 1)
