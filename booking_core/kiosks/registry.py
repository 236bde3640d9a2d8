"""The kiosk registry (自助机登记): register, disable (停用), a new broker password; and the
status each kiosk reports (online/offline since when, each device's state)."""

from __future__ import annotations

import re
from typing import Any

from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..events.model import KioskDisabled, KioskPasswordReset, KioskRegistered, KioskStatusChanged
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, InvalidState
from ..kernel.unit import Tx, Unit, execute, from_epoch, one, to_epoch, val
from .commands import DisableKiosk, RecordKioskStatus, RegisterKiosk, ResetKioskPassword
from .model import Kiosk, StatusRecorded
from .repo import ID_ATTEMPTS, devices_of, kiosk_by_id, new_kiosk_id, seen_kiosk

NAME_MAX = 40
LOCATION_MAX = 80
PASSWORD_HASH = re.compile(r"[!-9;-~]{1,512}")
"""A hash as it goes into the broker's password file after ``<user>:``: printable ASCII
without a colon or a space (either would break the file's line)."""


def _text(name: str, value: str, most: int, *, required: bool) -> str:
    value = " ".join(value.split())
    if (required and not value) or len(value) > most:
        raise InvalidInput(name, f"{1 if required else 0} to {most} characters")
    return value


def _password_hash(value: str) -> str:
    if not PASSWORD_HASH.fullmatch(value):
        raise InvalidInput("password_hash", "the broker's hash: printable, no colon or space")
    return value


def register_kiosk(tx: Tx, cmd: RegisterKiosk, deps: Deps) -> Unit[Kiosk]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    name = _text("name", cmd.name, NAME_MAX, required=True)
    location = _text("location", cmd.location, LOCATION_MAX, required=False)
    password_hash = _password_hash(cmd.password_hash)
    taken = yield val(
        "SELECT 1 FROM kiosks WHERE hospital_id = ? AND name = ? AND disabled_at IS NULL",
        hospital.id,
        name,
    )
    if taken:
        raise InvalidInput("name", "taken by another kiosk of the hospital")
    for _ in range(ID_ATTEMPTS):
        kiosk_id = new_kiosk_id()
        made = yield val(
            "INSERT INTO kiosks (id, hospital_id, name, location, password_hash, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            kiosk_id,
            hospital.id,
            name,
            location,
            password_hash,
            tx.epoch,
            tx.epoch,
        )
        if made is not None:
            break
        if not (yield val("SELECT 1 FROM kiosks WHERE id = ?", kiosk_id)):
            raise InvalidInput("name", "taken by another kiosk of the hospital")  # just now
    else:
        raise RuntimeError("could not draw an unused kiosk id")
    event = KioskRegistered(
        hospital_id=hospital.id, kiosk_id=kiosk_id, name=name, location=location
    )
    tx.emit(event)
    tx.audit(
        cmd.actor,
        AuditAction.KIOSK_REGISTERED,
        "kiosk",
        kiosk_id,
        hospital_id=hospital.id,
        after={"name": name, "location": location},  # never the hash
    )
    return (yield from kiosk_by_id(kiosk_id))


def disable_kiosk(tx: Tx, cmd: DisableKiosk, deps: Deps) -> Unit[Kiosk]:
    kiosk = yield from seen_kiosk(cmd.actor, cmd.kiosk_id, lock=True)
    if kiosk.disabled:
        return kiosk
    yield execute(
        "UPDATE kiosks SET disabled_at = ?, updated_at = ? WHERE id = ?",
        tx.epoch,
        tx.epoch,
        kiosk.kiosk_id,
    )
    # never published: nothing was done, and now nothing will be (a desk can reprint);
    # a job already sent may have been done: its ack is still recorded when it comes
    yield execute(
        "UPDATE kiosk_jobs SET status = 'failed', reason = 'kiosk_disabled', acked_at = ? "
        "WHERE kiosk_id = ? AND status = 'queued' AND sent_at IS NULL",
        tx.epoch,
        kiosk.kiosk_id,
    )
    tx.emit(KioskDisabled(hospital_id=kiosk.hospital_id, kiosk_id=kiosk.kiosk_id, name=kiosk.name))
    tx.audit(
        cmd.actor,
        AuditAction.KIOSK_DISABLED,
        "kiosk",
        kiosk.kiosk_id,
        hospital_id=kiosk.hospital_id,
        before={"name": kiosk.name},
    )
    return (yield from kiosk_by_id(kiosk.kiosk_id))


def reset_kiosk_password(tx: Tx, cmd: ResetKioskPassword, deps: Deps) -> Unit[Kiosk]:
    kiosk = yield from seen_kiosk(cmd.actor, cmd.kiosk_id, lock=True)
    if kiosk.disabled:
        raise InvalidState(status="disabled", action="reset_password")
    yield execute(
        "UPDATE kiosks SET password_hash = ?, updated_at = ? WHERE id = ?",
        _password_hash(cmd.password_hash),
        tx.epoch,
        kiosk.kiosk_id,
    )
    tx.emit(KioskPasswordReset(hospital_id=kiosk.hospital_id, kiosk_id=kiosk.kiosk_id))
    tx.audit(
        cmd.actor,
        AuditAction.KIOSK_PASSWORD_RESET,
        "kiosk",
        kiosk.kiosk_id,
        hospital_id=kiosk.hospital_id,
    )
    return kiosk


# --- status -------------------------------------------------------------------------------

DEVICE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
STATE_MAX = 32
REASON_MAX = 200


def _reported(devices: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str, int]]:
    """Each reported device: (state, reason, pending reversals), checked and trimmed."""
    out: dict[str, tuple[str, str, int]] = {}
    for name, fields in devices.items():
        if not DEVICE_NAME.fullmatch(name) or not isinstance(fields, dict):
            raise InvalidInput("devices", f"{name[:32]!r}: a device is a name and an object")
        state = fields.get("state")
        if not isinstance(state, str) or not 1 <= len(state) <= STATE_MAX:
            raise InvalidInput("devices", f"{name}: state is 1 to {STATE_MAX} characters")
        reason = fields.get("reason") or ""
        pending = fields.get("pending_reversals") or 0
        if not isinstance(reason, str) or type(pending) is not int or pending < 0:
            raise InvalidInput("devices", f"{name}: reason is text, pending_reversals a count")
        out[name] = (state, " ".join(reason.split())[:REASON_MAX], pending)
    return out


def record_kiosk_status(tx: Tx, cmd: RecordKioskStatus, deps: Deps) -> Unit[StatusRecorded]:
    """Keep the latest status and since when, per kiosk and per device; a
    ``kiosk.status_changed`` only when something changed. Devices are replaced by an online
    status that lists them; an offline one (the will) keeps them as last reported."""
    kiosk = yield from seen_kiosk(cmd.actor, cmd.kiosk_id, lock=True)
    row = yield one("SELECT reported_at FROM kiosks WHERE id = ?", kiosk.kiosk_id)
    before = yield from devices_of(kiosk.kiosk_id)
    if cmd.at is not None and cmd.at.tzinfo is None:
        raise InvalidInput("at", "an instant with its UTC offset")
    at = None if cmd.at is None else to_epoch(cmd.at)
    if at is not None and row["reported_at"] is not None and at < row["reported_at"]:
        return StatusRecorded(kiosk, before, changed=False, came_online=False)  # late
    reason = "" if cmd.online else " ".join(cmd.reason.split())[:STATE_MAX]
    reported = _reported(cmd.devices) if cmd.online else {}
    known = {d.device: d for d in before}
    changed = kiosk.online is not cmd.online or kiosk.reason != reason
    if cmd.online:
        gone = set(known) - set(reported)
        changed |= bool(gone)
        for name in sorted(gone):
            yield execute(
                "DELETE FROM kiosk_devices WHERE kiosk_id = ? AND device = ?", kiosk.kiosk_id, name
            )
        for name, (state, dev_reason, pending) in sorted(reported.items()):
            old = known.get(name)
            if old is not None and (old.state, old.reason, old.pending_reversals) == (
                state,
                dev_reason,
                pending,
            ):
                continue
            changed = True
            since = tx.epoch if old is None or old.state != state else to_epoch(old.since)
            yield execute(
                "DELETE FROM kiosk_devices WHERE kiosk_id = ? AND device = ?", kiosk.kiosk_id, name
            )
            yield execute(
                "INSERT INTO kiosk_devices (kiosk_id, device, state, reason, pending_reversals, "
                "since) VALUES (?, ?, ?, ?, ?, ?)",
                kiosk.kiosk_id,
                name,
                state,
                dev_reason,
                pending,
                since,
            )
    if not changed:
        return StatusRecorded(kiosk, before, changed=False, came_online=False)
    flipped = kiosk.online is not cmd.online
    since = tx.epoch if flipped or kiosk.since is None else to_epoch(kiosk.since)
    yield execute(
        "UPDATE kiosks SET online = ?, status_since = ?, status_reason = ?, reported_at = ?, "
        "updated_at = ? WHERE id = ?",
        int(cmd.online),
        since,
        reason,
        at,
        tx.epoch,
        kiosk.kiosk_id,
    )
    after = yield from kiosk_by_id(kiosk.kiosk_id)
    devices = yield from devices_of(kiosk.kiosk_id)
    tx.emit(
        KioskStatusChanged(
            hospital_id=kiosk.hospital_id,
            kiosk_id=kiosk.kiosk_id,
            online=cmd.online,
            reason=reason,
            since=from_epoch(since),
            devices={
                d.device: {
                    "state": d.state,
                    "reason": d.reason,
                    "since": d.since.isoformat(),
                    "pending_reversals": d.pending_reversals,
                }
                for d in devices
            },
        )
    )
    return StatusRecorded(after, devices, changed=True, came_online=cmd.online and flipped)
