"""Mosquitto's password file and ACL for the kiosks (docs/kiosk.md, "The broker"), written
by the engine from its list of kiosks, and the broker asked to read them again.

- :func:`password_hash`: mosquitto 2's ``$7$`` hash (PBKDF2-HMAC-SHA512), what
  ``mosquitto_passwd`` writes; :func:`password_matches` checks a password against one.
  Both live in :mod:`edge.mosquitto` (the console hashes a new kiosk's password too, and
  doors never import each other) and are named here as well.
- :func:`acl_text`: the ACL of docs/kiosk.md for the engine's user: the engine reads what
  kiosks say and writes their jobs and replies; a ``pattern`` gives every kiosk (its user
  name is its id) its own topics and no other's.
- :meth:`BrokerFiles.write` writes both files from the engine's account and the kiosks'
  ``(kiosk_id, password_hash)``, each atomically (a temporary file beside it, fsync, rename,
  fsync of the folder: the broker reads the old file or the new one, never half of one) and
  only when its text changed (the engine's own hash is kept while it still matches its
  password), so writing the same list twice changes nothing.
- :meth:`BrokerFiles.reload` sends mosquitto SIGHUP (its documented reload: it reads the
  password file and the ACL again, and disconnects a client whose password is gone) at the
  pid its ``pid_file`` names, after checking that pid is mosquitto's.

Blocking file I/O: call these from a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge.mosquitto import is_password_hash, password_hash, password_matches
from hardware.hall.address import USER_NAME
from hardware.protocol import ACKS, JOBS, KIOSK_ID, REPLIES, REQUESTS, ROOT, STATUS

NEW_FILE_MODE = 0o640
"""A new file: the engine's user writes it, the broker's group reads it (give the folder
the mosquitto group, or make the engine's user the file's owner and the broker's group its
group). A file that exists keeps its mode and group."""


class BrokerFilesError(Exception):
    """The broker's files could not be written, or the broker could not be asked to
    reload them; says what to do."""


def acl_text(engine_user: str) -> str:
    """The ACL of docs/kiosk.md, for the engine's user ``engine_user``."""
    _check_engine_user(engine_user)
    engine = (
        "# the engine: reads what kiosks say, writes their jobs and replies\n"
        f"user {engine_user}\n"
        + "".join(f"topic read {ROOT}/+/{leaf}\n" for leaf in (STATUS, REQUESTS, ACKS))
        + "".join(f"topic write {ROOT}/+/{leaf}\n" for leaf in (JOBS, REPLIES))
    )
    kiosks = (
        "# every kiosk (its user name is its id): only its own topics\n"
        + "".join(f"pattern write {ROOT}/%u/{leaf}\n" for leaf in (STATUS, REQUESTS, ACKS))
        + "".join(f"pattern read {ROOT}/%u/{leaf}\n" for leaf in (JOBS, REPLIES))
    )
    return f"{engine}\n{kiosks}"


def _check_engine_user(user: str) -> None:
    if not USER_NAME.fullmatch(user):
        raise BrokerFilesError(f"the engine's MQTT user {user!r}: letters, digits, _ . - only")
    if KIOSK_ID.fullmatch(user):
        raise BrokerFilesError(
            f"the engine's MQTT user {user!r} looks like a kiosk id: the ACL's kiosk "
            "patterns would apply to it; choose another name"
        )


@dataclass(frozen=True)
class EngineAccount:
    """The engine's own MQTT user name and password (the password from the environment)."""

    user: str
    password: str

    def __repr__(self) -> str:
        return f"EngineAccount(user={self.user!r}, password='***')"


HEADER = "# written by the guahao engine from its kiosk registry: edits here are overwritten\n"


@dataclass(frozen=True)
class BrokerFiles:
    """Where the broker's ``password_file`` and ``acl_file`` are, and its ``pid_file``
    (None: the broker is reloaded by someone else, e.g. ``systemctl reload mosquitto``)."""

    password_path: Path
    acl_path: Path
    pid_path: Path | None = None

    def write(self, engine: EngineAccount, kiosks: Iterable[tuple[str, str]]) -> bool:
        """Write both files for the engine and the kiosks ``(kiosk_id, password_hash)``;
        True when either file changed (then the broker must reload them)."""
        _check_engine_user(engine.user)
        lines = [f"{engine.user}:{self._engine_hash(engine)}\n"]
        seen: set[str] = set()
        for kiosk_id, hashed in sorted(kiosks):
            if not KIOSK_ID.fullmatch(kiosk_id):
                raise BrokerFilesError(f"{kiosk_id!r} is not a kiosk id (k and 8 hex digits)")
            if kiosk_id in seen:
                raise BrokerFilesError(f"kiosk {kiosk_id} is listed twice")
            if not is_password_hash(hashed):  # never shown: it is a password's hash
                raise BrokerFilesError(f"kiosk {kiosk_id}: its password hash is not a $7$ hash")
            seen.add(kiosk_id)
            lines.append(f"{kiosk_id}:{hashed}\n")
        changed = _replace(self.password_path, "".join(lines))
        return _replace(self.acl_path, HEADER + acl_text(engine.user)) or changed

    def _engine_hash(self, engine: EngineAccount) -> str:
        """The engine's hash in the file now, if it is still its password's; else a new one."""
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in self.password_path.read_text(encoding="utf-8").splitlines():
                user, _, hashed = line.partition(":")
                if user == engine.user and password_matches(engine.password, hashed):
                    return hashed
        return password_hash(engine.password)

    def reload(self) -> int | None:
        """SIGHUP to the broker named by ``pid_path``; its pid, or None without a pid file
        configured. Raises :class:`BrokerFilesError` saying why it could not."""
        if self.pid_path is None:
            return None
        try:
            text = self.pid_path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise BrokerFilesError(
                f"cannot read the broker's pid file {self.pid_path} ({err}): is mosquitto "
                "running, with pid_file set to it?"
            ) from err
        if not text.isdigit() or int(text) <= 1:
            raise BrokerFilesError(f"the pid file {self.pid_path} holds no pid: {text[:20]!r}")
        pid = int(text)
        name = _process_name(pid)
        if name is not None and name != "mosquitto":
            raise BrokerFilesError(
                f"pid {pid} (from {self.pid_path}) is {name!r}, not mosquitto: a stale pid "
                "file? Nothing was signalled"
            )
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError as err:
            raise BrokerFilesError(
                f"no process {pid} (from {self.pid_path}): mosquitto is not running"
            ) from err
        except PermissionError as err:
            raise BrokerFilesError(
                f"the engine's user may not signal mosquitto (pid {pid}): run the broker as "
                "the same user, or leave the pid file unset and reload it yourself"
            ) from err
        return pid

    def sync(self, engine: EngineAccount, kiosks: Iterable[tuple[str, str]]) -> bool:
        """:meth:`write`, then :meth:`reload` if anything changed; whether it did."""
        changed = self.write(engine, kiosks)
        if changed:
            self.reload()
        return changed


def _process_name(pid: int) -> str | None:
    """The process's name from /proc (None where there is no /proc, or no such process)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _replace(path: Path, text: str) -> bool:
    """Put ``text`` at ``path`` atomically, keeping the mode and group of the file it
    replaces; False (and nothing written) when the file already holds it."""
    data = text.encode("utf-8")
    try:
        current = path.stat()
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        current = None
    except OSError as err:
        raise BrokerFilesError(f"cannot read {path}: {err.strerror}") from err
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as err:
        raise BrokerFilesError(f"cannot write beside {path}: {err.strerror}") from err
    try:
        try:
            os.fchmod(fd, current.st_mode & 0o777 if current else NEW_FILE_MODE)
            if current is not None:
                with contextlib.suppress(PermissionError):  # only its owner's groups
                    os.fchown(fd, -1, current.st_gid)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise BrokerFilesError(f"cannot write {path}: {err.strerror}") from err
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)
    return True
