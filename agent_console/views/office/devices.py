"""Devices (设备): the hospital's kiosks as the hall's staff need to see them, and what the
hospital's admin does to them.

- The screen lists each kiosk: online or offline since when (local time), each device's
  state in words, its newest jobs and failures with their reasons, the jobs sent and not
  yet acknowledged, and money waiting (a reversal or a refund not done, or the terminal's
  own count of reversals still to send) marked; a printed or failed ticket can be printed
  again (补打凭条: :class:`~booking_core.kiosks.ReprintTicket`).
- Registering a kiosk draws its MQTT password here (:func:`edge.mosquitto.new_password`),
  hands the core only the broker's hash of it, and shows the password on the answer to
  that one request: it is never stored, logged or shown again. Resetting a kiosk's
  password does the same; disabling a kiosk takes it out of the broker's accounts.

Another hospital's kiosk or job is "not found" (the core's tenancy rule); so is anything
in the URL that is not shaped like a kiosk's or a job's id.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from booking_core import kiosks
from booking_core.kernel.errors import InvalidInput, NotFound
from booking_core.kiosks import JobKind, JobStatus
from edge.mosquitto import new_password, password_hash

from ...i18n import language
from ...i18n_devices import DEVICES
from ...i18n_office import office_text
from ...pages import Page
from ..common import actor, form, services
from ..times import localized, zone_of
from .util import hospital_of, office_url, page

KIOSK_ID = re.compile(r"k[0-9a-f]{8}")  # the core draws them so (booking_core/kiosks/repo.py)
JOB_ID = re.compile(r"J[0-9a-f]{16}")
MONEY_BACK = (JobKind.REVERSAL, JobKind.REFUND)  # money a patient is owed until it is done
DONE_WORDS = {"reprinted": "reprinted", "disabled": "kiosk_disabled_done"}
"""``?done=`` after a redirect: the notice the screen shows (anything else shows none)."""


def _word(lang: str, prefix: str, code: str | None) -> str:
    """``code`` in words (``state_paper_out`` → 缺纸), or the code itself when it has none."""
    if not code:
        return ""
    key = f"{prefix}_{code}"
    text = office_text(lang, key)
    return code if text == key else text


def _device_order(device: kiosks.DeviceStatus) -> tuple[int, str]:
    """Printer, card reader, terminal (the order a patient meets them), then any other."""
    known = DEVICES.index(device.device) if device.device in DEVICES else len(DEVICES)
    return (known, device.device)


def _job(job: kiosks.KioskJob, lang: str, kiosk_usable: bool) -> dict[str, Any]:
    money_back = job.kind in MONEY_BACK and job.status is not JobStatus.DONE
    return {
        "job_id": job.job_id,
        "kind": job.kind,
        "kind_text": _word(lang, "job", job.kind),
        "status": job.status,
        "status_text": _word(lang, "job", job.status),
        "booking_no": job.booking_no,
        "amount": job.amount,
        "reason": job.reason,
        "reason_text": _word(lang, "reason", job.reason),
        "message": job.message,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "sent_at": job.sent_at,
        "acked_at": job.acked_at,
        "money_waiting": money_back,  # open, or failed: the desk gives the money back
        "reprint": (
            kiosk_usable
            and job.kind is JobKind.PRINT_TICKET
            and job.status in (JobStatus.DONE, JobStatus.FAILED)
            and job.booking_no is not None
        ),
    }


def kiosk_row(overview: kiosks.KioskOverview, lang: str) -> dict[str, Any]:
    """One kiosk as the screen and its JSON twin show it (times still UTC: localise)."""
    k = overview.kiosk
    usable = not k.disabled
    devices = [
        {
            "device": d.device,
            "device_text": _word(lang, "device", d.device),
            "state": d.state,
            "state_text": _word(lang, "state", d.state),
            "ok": d.state == "ok",
            "reason": d.reason,
            "since": d.since,
            "pending_reversals": d.pending_reversals,
        }
        for d in sorted(overview.devices, key=_device_order)
    ]
    last_jobs = [_job(j, lang, usable) for j in overview.last_jobs]
    open_jobs = [j for j in last_jobs if JobStatus(j["status"]).open]
    failures = [_job(j, lang, usable) for j in overview.failures]
    money_waiting = (
        any(j["money_waiting"] for j in (*last_jobs, *failures))
        or any(d["pending_reversals"] for d in devices)
    )  # fmt: skip
    if k.disabled:
        state = "disabled"
    elif k.online is None:
        state = "never_seen"
    else:
        state = "online" if k.online else "offline"
    return {
        "kiosk_id": k.kiosk_id,
        "hospital": k.hospital_code,
        "name": k.name,
        "location": k.location,
        "disabled": k.disabled,
        "online": k.online,
        "state": state,
        "state_text": _word(lang, "kiosk", state),
        "since": k.since,
        "offline_reason": k.reason,
        "offline_reason_text": _word(lang, "offline", k.reason),
        "devices": devices,
        "last_jobs": last_jobs,
        "failures": failures,
        "open_jobs": open_jobs,
        "open_count": overview.open_jobs,
        "open_not_listed": max(overview.open_jobs - len(open_jobs), 0),
        "money_waiting": money_waiting,
        "created_at": k.created_at,
    }


async def devices(request: web.Request) -> Page:
    hospital = hospital_of(request)
    found = await services(request).read(kiosks.kiosks, actor(request), hospital_code=hospital)
    lang = language(request)
    tz = await zone_of(request, hospital)
    rows = localized([kiosk_row(o, lang) for o in found], tz)
    done = DONE_WORDS.get(request.query.get("done", ""))
    return page(request, {"kiosks": rows, "hospital": hospital, "message": done or ""})


def _kiosk_id(request: web.Request) -> str:
    kiosk_id = request.match_info["kiosk"]
    if not KIOSK_ID.fullmatch(kiosk_id):
        raise NotFound("kiosk", kiosk_id[:40])
    return kiosk_id


async def _hashed(password: str) -> str:
    return await asyncio.to_thread(password_hash, password)  # PBKDF2: off the event loop


def _shown_once(request: web.Request, kiosk: kiosks.Kiosk, password: str, note: str) -> dict:
    """The answer that carries a new password: the one time it is ever shown."""
    lang = language(request)
    return {
        "kiosk": {
            "kiosk_id": kiosk.kiosk_id,
            "hospital": kiosk.hospital_code,
            "name": kiosk.name,
            "location": kiosk.location,
        },
        "password": password,
        "note": office_text(lang, note, name=kiosk.name, kiosk_id=kiosk.kiosk_id),
    }


async def register(request: web.Request) -> Page:
    fields = await form(request)
    if "name" not in fields:
        raise InvalidInput("name", "the kiosk's name")
    hospital = hospital_of(request, fields)
    if hospital is None:  # a platform operator names it
        raise InvalidInput("hospital", "the kiosk's hospital")
    password = new_password()
    kiosk = await services(request).handle(
        kiosks.RegisterKiosk(
            hospital_code=hospital,
            name=fields["name"],
            location=fields.get("location", ""),
            password_hash=await _hashed(password),
            actor=actor(request),
        )
    )
    return page(request, _shown_once(request, kiosk, password, "kiosk_registered"), status=201)


def _refused_disabled(request: web.Request) -> Page:
    """A disabled kiosk takes no new password and prints nothing: said so in words (the
    core refuses too, in its general words: "forbidden", "invalid state")."""
    message = office_text(language(request), "kiosk_is_disabled")
    return page(
        request, {"error": "kiosk_is_disabled", "message": message}, status=400,
        template="error.html",
    )  # fmt: skip


async def reset_password(request: web.Request) -> Page:
    kiosk_id = _kiosk_id(request)
    if (await services(request).read(kiosks.kiosk, kiosk_id, actor(request))).disabled:
        return _refused_disabled(request)
    password = new_password()
    kiosk = await services(request).handle(
        kiosks.ResetKioskPassword(
            kiosk_id=kiosk_id, password_hash=await _hashed(password), actor=actor(request)
        )
    )
    return page(request, _shown_once(request, kiosk, password, "kiosk_password_reset"))


async def disable(request: web.Request) -> Page:
    kiosk = await services(request).handle(
        kiosks.DisableKiosk(kiosk_id=_kiosk_id(request), actor=actor(request))
    )
    return page(
        request,
        {"kiosk_id": kiosk.kiosk_id, "disabled": kiosk.disabled, "message": "kiosk_disabled_done"},
        redirect=office_url(request, "devices?done=disabled"),
    )


async def reprint(request: web.Request) -> Page:
    """补打凭条 at the kiosk that printed (or failed to print) the ticket of job ``job``."""
    job_id = request.match_info["job"]
    if not JOB_ID.fullmatch(job_id):
        raise NotFound("kiosk_job", job_id[:40])
    who = actor(request)
    job = await services(request).read(kiosks.kiosk_job, job_id, who)
    if job.kind is not JobKind.PRINT_TICKET or job.booking_no is None:
        raise InvalidInput("job", "a ticket's print job")
    if (await services(request).read(kiosks.kiosk, job.kiosk_id, who)).disabled:
        return _refused_disabled(request)
    again = await services(request).handle(
        kiosks.ReprintTicket(booking_no=job.booking_no, kiosk_id=job.kiosk_id, actor=who)
    )
    tz = await zone_of(request, hospital_of(request))
    shown = localized(_job(again, language(request), kiosk_usable=True), tz)
    return page(
        request,
        {"job": shown, "of_job": job_id, "message": "reprinted"},
        redirect=office_url(request, "devices?done=reprinted"),
    )
