"""Private PostgreSQL and mosquitto instances for tests, so test runs never share state.

Each instance listens on 127.0.0.1 on a free port, lives in its own directories and is gone after
``stop()``. The system services on 5432 and 1883 are never touched.

PostgreSQL refuses to run as root, so when the tests run as root the server is initialised and
run as the ``postgres`` OS user, in a directory of its own under the system temp directory (the
postgres user cannot enter pytest's private ``tmp_path`` directories).
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

from hardware.hall.mosquitto import password_hash

PG_USER = "postgres"  # the database superuser created by initdb (and the OS user when root)
PG_START_TIMEOUT_SECONDS = 60  # initdb + start take ~2 s; a loaded CI box can be much slower
PSQL_TIMEOUT_SECONDS = 60
BROKER_START_TIMEOUT_SECONDS = 10  # mosquitto listens within milliseconds when it works at all
START_ATTEMPTS = 3  # a free port can be taken by someone else between choosing and binding it


class ServiceError(Exception):
    """A private service could not be started (or cleanly stopped)."""


class ServiceNotInstalled(ServiceError):
    """The binaries a private service needs are not installed."""


def running_in_ci() -> bool:
    """CI=true (or 1, yes): whatever the tests need must be there, so missing means failing."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def service_missing(what: str, why: str) -> NoReturn:
    """Skip the test because ``what`` is unavailable; in CI (CI=true), fail it instead."""
    message = f"{what} is not available: {why}"
    if running_in_ci():
        pytest.fail(f"{message} (CI=true, so a missing service fails the run)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """True once ``host:port`` accepts a TCP connection, False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _clean_env() -> dict[str, str]:
    """os.environ without libpq's PG* variables, which would redirect our commands."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# --- PostgreSQL ------------------------------------------------------------------------------


def find_pg_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: from PATH, else the newest Debian-style one."""
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    candidates = []
    for initdb_path in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        version = initdb_path.parent.parent.name
        if re.fullmatch(r"\d+(\.\d+)?", version) and (initdb_path.parent / "pg_ctl").exists():
            candidates.append((tuple(int(part) for part in version.split(".")), initdb_path.parent))
    return max(candidates)[1] if candidates else None


def find_psql() -> Path | None:
    bindir = find_pg_bindir()
    if bindir is not None and (bindir / "psql").exists():
        return bindir / "psql"
    found = shutil.which("psql")
    return Path(found) if found else None


def run_psql(dsn: str, sql: str) -> str:
    """Run ``sql`` with psql against ``dsn``; return its unaligned output, stripped."""
    psql = find_psql()
    if psql is None:
        raise ServiceNotInstalled("psql is not installed")
    command = [str(psql), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=PSQL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"psql {sql!r} on {dsn} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _with_database(dsn: str, dbname: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + dbname))


def create_database(
    server_dsn: str, name: str | None = None, *, template: str = "template0"
) -> str:
    """Create a database on the server of ``server_dsn``, a copy of ``template`` (by default
    an empty one); return its DSN."""
    name = name or f"t_{secrets.token_hex(6)}"
    for given in (name, template):
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", given):
            raise ValueError(f"database name {given!r} must be lower-case letters, digits and _")
    admin = _with_database(server_dsn, "postgres")
    # PostgreSQL 15 copies a template through the WAL by default, block by block: twice the
    # time of a file copy for the small databases here (0.23 s against 0.10 s a copy of the
    # migrated schema, ~1,000 of them a run)
    strategy = " STRATEGY = FILE_COPY" if _server_version(admin) >= 150000 else ""
    run_psql(admin, f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
    return _with_database(server_dsn, name)


@functools.cache
def _server_version(dsn: str) -> int:
    return int(run_psql(dsn, "SHOW server_version_num"))


_SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1"})


def drop_database(dsn: str) -> None:
    """Drop the database ``dsn`` names, closing any connections still open to it."""
    name = urlsplit(dsn).path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in _SYSTEM_DATABASES:
        raise ValueError(f"refusing to drop database {name!r}")
    run_psql(_with_database(dsn, "postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_user_wrapper() -> Callable[[list[str]], list[str]]:
    """How to run a PostgreSQL command: as is, or (when we are root) as the postgres OS user."""
    if os.geteuid() != 0:
        return list
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        raise ServiceNotInstalled(
            f"running as root, and there is no {PG_USER!r} OS user to run PostgreSQL as"
        ) from None
    runuser = shutil.which("runuser") or _existing("/usr/sbin/runuser", "/sbin/runuser")
    if runuser:
        return lambda args: [runuser, "-u", PG_USER, "--", *args]
    su = shutil.which("su") or _existing("/bin/su", "/usr/bin/su")
    if su:
        return lambda args: [su, PG_USER, "-s", "/bin/sh", "-c", shlex.join(args)]
    raise ServiceNotInstalled("running as root, and neither runuser nor su is installed")


def _existing(*paths: str) -> str | None:
    return next((path for path in paths if Path(path).exists()), None)


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of our own; ``dsn`` connects as the superuser to ``postgres``."""

    dsn: str
    port: int
    data_dir: Path
    log_file: Path
    _pg_ctl: Path
    _as_pg_user: Callable[[list[str]], list[str]]
    _remove: list[Path] = field(default_factory=list)
    _stopped: bool = False

    def stop(self) -> None:
        """Stop the server at once (no checkpoint; the data is thrown away) and clean up."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        result = subprocess.run(
            self._as_pg_user(
                [str(self._pg_ctl), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            text=True,
            cwd=self.data_dir.parent,
            env=_clean_env(),
            timeout=PG_START_TIMEOUT_SECONDS,
            check=False,
        )
        still_running = (self.data_dir / "postmaster.pid").exists()
        for path in self._remove:
            if not still_running:
                shutil.rmtree(path, ignore_errors=True)
        if result.returncode != 0 and still_running:
            raise ServiceError(f"pg_ctl stop failed: {result.stderr.strip()}")


def start_private_postgres(tmpdir: Path) -> PrivatePostgres:
    """initdb a new cluster and start it on a free port of 127.0.0.1, trusting local users.

    Raises ServiceNotInstalled when the binaries (or, as root, the postgres user) are missing,
    ServiceError when the server does not start.
    """
    bindir = find_pg_bindir()
    if bindir is None:
        raise ServiceNotInstalled("initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
    as_pg_user = _pg_user_wrapper()
    as_root = os.geteuid() == 0
    remove: list[Path] = []
    if as_root:  # root: a directory the postgres user owns, outside pytest's 0700 tmp tree
        base = Path(tempfile.mkdtemp(prefix="guahao-pg-"))
        shutil.chown(base, user=PG_USER, group=pwd.getpwnam(PG_USER).pw_gid)
        remove.append(base)
    else:
        Path(tmpdir).mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="postgres-", dir=tmpdir))
    # The socket path must fit in 107 bytes, so it never goes under a long pytest path.
    sock_dir = Path(tempfile.mkdtemp(prefix="guahao-pgsock-"))
    remove.append(sock_dir)
    if as_root:
        shutil.chown(sock_dir, user=PG_USER, group=pwd.getpwnam(PG_USER).pw_gid)
    data_dir = base / "data"
    log_file = base / "server.log"

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                as_pg_user(args),
                capture_output=True,
                text=True,
                cwd=base,
                env=_clean_env(),
                timeout=PG_START_TIMEOUT_SECONDS + 30,  # pg_ctl -t gives up first
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise ServiceError(f"{Path(args[0]).name} did not finish: {err}") from err

    try:
        initdb = [str(bindir / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", PG_USER]
        result = run([*initdb, "--no-sync", "-E", "UTF8", "--locale=C"])
        if result.returncode != 0:
            raise ServiceError(f"initdb failed: {(result.stderr or result.stdout).strip()}")
        for _attempt in range(START_ATTEMPTS):
            port = free_port()
            options = (
                f"-p {port} -k {shlex.quote(str(sock_dir))} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=200"
            )
            pg_ctl = bindir / "pg_ctl"
            start = [str(pg_ctl), "-D", str(data_dir), "-l", str(log_file), "-o", options]
            result = run([*start, "-w", "-t", str(PG_START_TIMEOUT_SECONDS), "start"])
            if result.returncode == 0:
                pg = PrivatePostgres(
                    dsn=f"postgresql://{PG_USER}@127.0.0.1:{port}/postgres",
                    port=port,
                    data_dir=data_dir,
                    log_file=log_file,
                    _pg_ctl=pg_ctl,
                    _as_pg_user=as_pg_user,
                    _remove=remove,
                )
                atexit.register(pg.stop)  # no orphaned server if the session dies early
                return pg
            if "already in use" not in _tail(log_file):
                break
        raise ServiceError(
            f"pg_ctl start failed: {(result.stderr or result.stdout).strip()}\n{_tail(log_file)}"
        )
    except BaseException:
        if (data_dir / "postmaster.pid").exists():  # half started: do not leave it running
            pg_ctl = bindir / "pg_ctl"
            run([str(pg_ctl), "-D", str(data_dir), "-m", "immediate", "-w", "stop"])
        for path in remove:
            shutil.rmtree(path, ignore_errors=True)
        raise


# --- mosquitto -------------------------------------------------------------------------------


def find_mosquitto() -> Path | None:
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    for candidate in (Path("/usr/sbin/mosquitto"), Path("/usr/local/sbin/mosquitto")):
        if candidate.exists():
            return candidate
    return None


def write_password_file(path: Path, users: Mapping[str, str]) -> None:
    """A mosquitto ``password_file``: one ``user:hash`` line per user (name → password), in
    the ``$7$`` format the engine writes (:func:`hardware.hall.mosquitto.password_hash`)."""
    for user in users:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", user):
            raise ValueError(f"user name {user!r}: letters, digits, _ . - only")
    lines = (f"{user}:{password_hash(password)}\n" for user, password in users.items())
    path.write_text("".join(lines), encoding="utf-8")
    path.chmod(0o600)


@dataclass(frozen=True)
class BrokerTls:
    """A TLS listener's files: the CA that signed the server's certificate, and the
    server's certificate and key (PEM)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass
class PrivateBroker:
    """A mosquitto broker of our own on 127.0.0.1: anonymous clients allowed unless it was
    started with ``users`` or a ``password_file``; ``restart()`` keeps its port (and, with
    ``persistence``, its sessions and queued messages, as a production broker does).
    ``pid_file`` is where mosquitto writes its pid (what the engine signals to reload it)."""

    host: str
    port: int
    log_file: Path
    _process: subprocess.Popen[bytes]
    _log: IO[bytes]
    _command: list[str] = field(default_factory=list)
    pid_file: Path | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        """SIGTERM (mosquitto saves its persistence file on the way out), then wait."""
        atexit.unregister(self.stop)
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def start_again(self) -> None:
        """Start the stopped broker again on the same port and config; wait until it accepts."""
        if self._process.poll() is None:
            raise ServiceError("the broker is still running")
        self._log = self.log_file.open("ab")
        deadline = time.monotonic() + BROKER_START_TIMEOUT_SECONDS
        while True:  # the old listening socket may linger for a moment
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            while self._process.poll() is None and time.monotonic() < deadline:
                if wait_for_port(self.host, self.port, timeout=0.2):
                    atexit.register(self.stop)
                    return
            if self._process.poll() is None or time.monotonic() >= deadline:
                self.stop()
                raise ServiceError(f"mosquitto did not start again\n{_tail(self.log_file)}")
            time.sleep(0.1)

    def restart(self) -> None:
        self.stop()
        self.start_again()


def _broker_conf(
    port: int,
    base: Path,
    *,
    users: Mapping[str, str] | None,
    acl: str | None,
    persistence: bool,
    tls: BrokerTls | None,
    password_file: Path | None,
    acl_file: Path | None,
) -> str:
    lines = [f"listener {port} 127.0.0.1", "log_dest stdout", "log_type all"]
    lines.append(f"pid_file {base / 'mosquitto.pid'}")
    if os.geteuid() == 0:  # as root mosquitto would switch to its own user, who cannot
        lines.append("user root")  # read pytest's 0700 directories (password file, ACL)
    if tls is not None:
        lines += [
            f"cafile {tls.ca_file}",
            f"certfile {tls.cert_file}",
            f"keyfile {tls.key_file}",
        ]
    if users is not None:
        if password_file is not None:
            raise ValueError("users or a password_file, not both")
        password_file = base / "passwd"
        write_password_file(password_file, users)
    if password_file is None:
        lines.append("allow_anonymous true")
    else:
        lines += ["allow_anonymous false", f"password_file {password_file}"]
    if acl is not None:
        if acl_file is not None:
            raise ValueError("acl or an acl_file, not both")
        acl_file = base / "acl"
        acl_file.write_text(acl, encoding="utf-8")
    if acl_file is not None:
        lines.append(f"acl_file {acl_file}")
    if persistence:
        lines += ["persistence true", f"persistence_location {base}/", "autosave_interval 1"]
    else:
        lines.append("persistence false")
    return "\n".join(lines) + "\n"


def start_private_mosquitto(
    tmpdir: Path,
    *,
    users: Mapping[str, str] | None = None,
    acl: str | None = None,
    persistence: bool = False,
    tls: BrokerTls | None = None,
    password_file: Path | None = None,
    acl_file: Path | None = None,
) -> PrivateBroker:
    """Start ``mosquitto -c <conf>`` listening on a free port of 127.0.0.1; wait until it accepts.

    ``users`` (name → password) turns anonymous access off and writes a password file;
    ``acl`` is an ``acl_file``'s text (``pattern read guahao/v1/kiosk/%u/jobs`` …);
    ``persistence`` keeps sessions and queued messages across :meth:`PrivateBroker.restart`;
    ``tls`` makes the listener TLS-only; ``password_file`` and ``acl_file`` name files
    written elsewhere (by the engine) instead of ``users`` and ``acl``.

    Raises ServiceNotInstalled when mosquitto is missing, ServiceError when it does not start.
    """
    binary = find_mosquitto()
    if binary is None:
        raise ServiceNotInstalled("mosquitto not found on PATH or in /usr/sbin")
    base = Path(tmpdir) / "mosquitto"
    base.mkdir(parents=True, exist_ok=True)
    problem = "not started"
    for attempt in range(START_ATTEMPTS):
        port = free_port()
        conf = base / f"mosquitto-{attempt}.conf"
        conf.write_text(
            _broker_conf(
                port,
                base,
                users=users,
                acl=acl,
                persistence=persistence,
                tls=tls,
                password_file=password_file,
                acl_file=acl_file,
            ),
            encoding="utf-8",
        )
        log_file = base / f"mosquitto-{attempt}.log"
        log = log_file.open("wb")
        command = [str(binary), "-c", str(conf)]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, not the broker
        )
        broker = PrivateBroker(
            "127.0.0.1", port, log_file, process, log, command, base / "mosquitto.pid"
        )
        deadline = time.monotonic() + BROKER_START_TIMEOUT_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            if wait_for_port("127.0.0.1", port, timeout=0.2):
                atexit.register(broker.stop)
                return broker
        exited = process.poll()
        broker.stop()
        problem = "timed out" if exited is None else f"exited with status {exited}"
        problem = f"{problem}\n{_tail(log_file)}"
        if "in use" not in problem:
            break
    raise ServiceError(f"mosquitto did not start: {problem}")
