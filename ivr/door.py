"""What the voice door's webhooks share: the door's state on the app (:data:`IVR`), the
calls this process serves, and the bounded answer (a stalled store gets "busy")."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from aiohttp import web

from booking_core.bus import BookingServices
from booking_core.catalogue import Hospital
from booking_core.catalogue import hospital as find_hospital
from booking_core.kernel.errors import StoreUnavailable
from booking_core.store.budget import within
from edge.metrics import BookingCounter, count_booking
from edge.signature import FORM

from .actions import Call, CoreActions
from .state import Outcome
from .twiml import Voice

log = logging.getLogger(__name__)

TWIML = "text/xml"
CHANNEL = "ivr"
RECENT_CALLS = 20_000  # calls whose latest state this process keeps (a few MB at most)


class RecentCalls:
    """The state this process last stored for each call it is serving, so the next
    webhook of the call skips reading it back. Only a hit on the very step the state was
    stored for is used; every write still checks the step in the store (``seq``), so a
    stale entry (another process moved the call on) is caught there and dropped."""

    def __init__(self, size: int = RECENT_CALLS) -> None:
        self.size = size
        self._calls: OrderedDict[str, tuple[int, str]] = OrderedDict()

    def get(self, call_sid: str, step: int) -> str | None:
        hit = self._calls.get(call_sid)
        return hit[1] if hit is not None and hit[0] == step else None

    def put(self, call_sid: str, step: int, state: str) -> None:
        self._calls[call_sid] = (step, state)
        self._calls.move_to_end(call_sid)
        if len(self._calls) > self.size:
            self._calls.popitem(last=False)

    def forget(self, call_sid: str) -> None:
        self._calls.pop(call_sid, None)


@dataclass
class Ivr:
    services: BookingServices
    voice: Voice
    actions: CoreActions
    hospital_code: str
    answer_within: float
    on_booking: BookingCounter | None = None
    recent: RecentCalls = field(default_factory=RecentCalls)
    caller_id: str = ""  # the hospital's line number: what a call-back shows (ivr_phone_number)
    callback_attempts: int = 2  # tries before a call-back not reached is closed with a text

    def busy(self, form) -> str:
        """The database-free "busy" answer, queueing the caller in their own queue."""
        return self.voice.busy(form.get("CallSid", "") if form is not None else "")

    def count_booking(self, outcome: Outcome) -> None:
        """One per confirm attempt: "created" or the core's refusal code."""
        result = "created" if outcome.error is None else outcome.error.code
        count_booking(self.on_booking, CHANNEL, result)

    async def hospital_record(self) -> Hospital:
        """The line's hospital, through the core's cache (a renamed hospital is said by
        its new name from the next call step on)."""
        hospital = await self.services.cached(find_hospital, self.hospital_code)
        self.voice.catalogue.set_global("hospital", hospital.name)
        return hospital

    async def call(self, form, lang: str = "zh") -> Call:
        hospital = await self.hospital_record()
        return Call(
            call_sid=form.get("CallSid", ""),
            hospital_code=hospital.code,
            hospital_id=hospital.id,
            timezone=hospital.timezone,
            caller=form.get("From", "") or form.get("Caller", ""),
            lang=lang,
        )


IVR = web.AppKey("ivr", Ivr)


def twiml_response(text: str) -> web.Response:
    return web.Response(text=text, content_type=TWIML)


async def bounded(request: web.Request, work) -> web.Response:
    """Run a step within the answer budget; a stalled or failing store gets the busy answer
    (true: nothing of the step was done, see :mod:`booking_core.store.budget`)."""
    ivr = request.app[IVR]
    try:
        async with within(ivr.answer_within):
            return twiml_response(await work)
    except TimeoutError:
        log.error("voice step over %.1f s: answered busy (%s)", ivr.answer_within, request.path)
    except StoreUnavailable as err:
        log.error("store unavailable in a voice step: %s", err)
    return twiml_response(ivr.busy(request.get(FORM)))
