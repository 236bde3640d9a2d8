"""The ``/twilio/voice/`` sub-application: Twilio's voice webhooks in, TwiML out.

The engine mounts it with ``app.add_subapp("/twilio/voice/", ivr.web.make_app(...))``.

* ``POST /twilio/voice`` — a call comes in (Twilio's "A call comes in" URL).
* ``POST step?s=N`` — a ``<Gather>``'s digits for step N (``&e=timeout``: nothing pressed).
* ``POST recorded?s=N`` — a complaint's ``<Record>`` ended.
* ``POST recording`` — the recording's status callback (its URL is stored).
* ``POST status`` — the call's status callback: closes the call record.
* ``POST fallback`` — Twilio's fallback URL: no database, Mandarin "busy" and the agent queue.
* the waiting caller and the agent's browser leg (``queue-wait``, ``queue-key``,
  ``queue-left``, ``queue-hold``, ``requeue``, ``agent``, ``agent-dialed``): see
  :mod:`ivr.queue`.

Each caller transferred to the agents waits in a Twilio queue of their own,
``q-<CallSid>``, so an agent's ``<Dial><Queue>`` bridges exactly the caller they took.

Each step: the call's state and any stored answer for (call, step, digits) are read;
a stored answer is returned as it is (a replay acts on nothing); otherwise the pure
flow decides, its actions run against the core (a step that writes first claims the
step, so of parallel deliveries only one acts; a booking claims it in its own
transaction), and the answer is stored with the new state. The whole step is bounded
by ``answer_within_seconds``, a time budget the store keeps
(:mod:`booking_core.store.budget`): a stalled database gets the caller the fallback's
spoken answer long before Twilio's 15-second timeout, and that "busy" is true: a unit of
work not started by the deadline never starts, and a booking already being committed is
waited for and its number said (the booking, its claim and its answer are one unit).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from booking_core import calls, complaints
from booking_core.bus import BookingServices
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import GuahaoError
from edge.metrics import BookingCounter
from edge.signature import FORM, signature_middleware

from . import flow
from . import queue as waiting
from .actions import CoreActions
from .door import IVR, Ivr, bounded, twiml_response
from .prompts import Catalogue
from .state import Book, CallState, Digits, Event, NoInput, Outcome, Recorded, Step
from .twiml import TWILIO_HOLD_MUSIC, Voice

log = logging.getLogger(__name__)

ANSWER_WITHIN_SECONDS = 2.5  # Twilio waits 15 s, a caller in silence much less: say *something*
DEDUPE_POLL_SECONDS = 0.02  # a parallel delivery waits this long between looks for the answer
CLEAR_KEY_DIGITS = 6  # codes up to 5 digits (menu, department, doctor, MMDD) kept as typed


def make_app(
    services: BookingServices,
    *,
    auth_token: str,
    public_url: str,
    hospital_code: str,
    queue: str = "guahao-agents",
    prefix: str = "/twilio/voice",
    answer_within_seconds: float = ANSWER_WITHIN_SECONDS,
    on_booking: BookingCounter | None = None,
    hold_music_url: str = TWILIO_HOLD_MUSIC,
    caller_id: str = "",
    callback_attempts: int = 2,
) -> web.Application:
    """The voice sub-app. ``public_url`` is the base Twilio reaches the engine at (the
    signatures are checked against it); ``prefix`` is where the engine mounts this app;
    ``on_booking(channel, result)`` hears every confirm attempt ("ivr", "created" or the
    refusal code); ``hold_music_url`` is played to callers waiting for an agent between
    two announcements of their place ("": 30 s of quiet instead); ``caller_id`` is the
    number a call-back is placed from (the hospital's line), ``callback_attempts`` how many
    unanswered tries close a call-back."""
    base = public_url.rstrip("/")
    catalogue = Catalogue({"hospital": ""})
    voice = Voice(catalogue, base + prefix, queue, hold_music_url)
    app = web.Application(middlewares=[signature_middleware(auth_token, base)])
    app[IVR] = Ivr(
        services=services,
        voice=voice,
        actions=CoreActions(services, queue),
        hospital_code=hospital_code,
        answer_within=answer_within_seconds,
        on_booking=on_booking,
        caller_id=caller_id,
        callback_attempts=callback_attempts,
    )
    app.router.add_post("", incoming)
    app.router.add_post("/", incoming)
    app.router.add_post("/step", step)
    app.router.add_post("/menu", menu)
    app.router.add_post("/recorded", recorded)
    app.router.add_post("/recording", recording_status)
    app.router.add_post("/status", call_status)
    app.router.add_post("/fallback", fallback)
    waiting.add_routes(app)
    return app


# --- webhooks -----------------------------------------------------------------------------------


async def incoming(request: web.Request) -> web.Response:
    return await bounded(request, _incoming(request))


async def _incoming(request: web.Request) -> str:
    ivr = request.app[IVR]
    form = request[FORM]
    call = await ivr.call(form)
    first = flow.start()
    first.state.seq = 1
    twiml = ivr.voice.answer(first.state, first.say, call.call_sid)
    state = first.state.to_json()
    answer = await ivr.services.handle(
        calls.StartCall(
            actor=call.actor,
            call_sid=call.call_sid,
            hospital_code=call.hospital_code,
            caller=call.caller,
            called=form.get("To", ""),
            state=state,
            digits="!incoming",
            response=twiml,
        )
    )
    if answer.won:
        ivr.recent.put(call.call_sid, 1, state)
    return answer.response or twiml


async def menu(request: web.Request) -> web.Response:
    return await bounded(request, _menu(request))


MENU_KEY = "!menu"  # the dedupe key of an agent's "back to the menu" (a redelivery: same answer)


async def _menu(request: web.Request) -> str:
    """An agent sent the caller back to the menu (转回语音菜单; the softphone redirects the
    caller's leg here): the call goes on at its next step, from the main menu, in the
    caller's language. Not its first answer again (``incoming``): that would number the
    steps from 1 once more, and a key pressed as before would replay what the call was
    told then ("booked …") without doing it."""
    ivr = request.app[IVR]
    form = request[FORM]
    call_sid = form.get("CallSid", "")
    snap = await ivr.services.read_small(calls.call_step, call_sid, 0, MENU_KEY)
    if snap is None:  # a call this engine never saw: it starts here
        return await _incoming(request)
    before = await ivr.services.read_small(calls.step_response, call_sid, snap.seq - 1, MENU_KEY)
    if before is not None:  # Twilio asked again, nothing pressed since: the same menu
        return before
    lang = CallState.from_json(snap.state, snap.seq).lang
    state = CallState(lang=lang)
    state.seq = snap.seq + 1
    twiml = ivr.voice.answer(state, flow.node_prompts(state), call_sid)
    call = await ivr.call(form, lang)
    ivr.recent.forget(call_sid)
    answer = await ivr.services.handle(
        calls.RecordCallStep(
            actor=call.actor,
            call_sid=call_sid,
            step=snap.seq,
            digits=MENU_KEY,
            state=state.to_json(),
            response=twiml,
        )
    )
    if answer.won:
        ivr.recent.put(call_sid, state.seq, state.to_json())
    return answer.response or twiml


async def step(request: web.Request) -> web.Response:
    form = request[FORM]
    if request.query.get("e") == "timeout":
        key, event = "!timeout", NoInput()
    else:
        digits = form.get("Digits", "")
        key = _step_key(request.app[IVR], form.get("CallSid", ""), digits)
        key, event = (key, Digits(digits)) if digits else ("!empty", NoInput())
    return await bounded(request, _step(request, key, event))


def _step_key(ivr: Ivr, call_sid: str, digits: str) -> str:
    """The step's dedupe key: short menu codes as typed, anything longer (a card or ID
    number, a texted code) as a blind index bound to the call, never in the clear."""
    if len(digits) < CLEAR_KEY_DIGITS:
        return digits
    return "~" + ivr.services.cipher.blind_index(f"{call_sid}\x00{digits}", context="call_step")


async def recorded(request: web.Request) -> web.Response:
    form = request[FORM]
    event = Recorded(
        recording_sid=form.get("RecordingSid") or None,
        recording_url=form.get("RecordingUrl") or None,
        duration_seconds=_int(form.get("RecordingDuration")),
    )
    return await bounded(request, _step(request, "!recorded", event))


async def _step(request: web.Request, key: str, event: Event) -> str:
    ivr = request.app[IVR]
    form = request[FORM]
    call_sid = form.get("CallSid", "")
    try:
        step_no = int(request.query.get("s", ""))
    except ValueError:
        raise web.HTTPBadRequest(text="s must be the step number") from None
    services = ivr.services
    remembered = ivr.recent.get(call_sid, step_no)
    if remembered is not None:  # this process answered the step before: no read needed
        state = CallState.from_json(remembered, step_no)
    else:
        snap = await services.read_small(calls.call_step, call_sid, step_no, key)
        if snap is None:  # never started here (the fallback answered it): start over
            return await _incoming(request)
        if snap.response is not None:
            return snap.response  # a replay: the same answer, nothing done again
        if snap.known:
            return await _wait_for_answer(ivr, call_sid, step_no, key)
        state = CallState.from_json(snap.state, snap.seq)
        if snap.seq != step_no:  # an old step answered differently: say where the call is
            return ivr.voice.answer(state, flow.node_prompts(state), call_sid)
    ivr.recent.forget(call_sid)  # put back below once this step's state is stored
    call = await ivr.call(form, state.lang)
    result: Step = flow.advance(state, event)
    said = list(result.say)
    claimed = False
    while result.action is not None:
        outcome: Outcome | None = None
        if result.action.writes and not claimed:
            claim = None
            if isinstance(result.action, Book):  # claimed and answered in the booking's own tx
                finish = _Finisher(ivr, result, said, step_no, call_sid)
                claim, outcome, finished = await ivr.actions.claim_and_book(
                    result.action, call, step_no, key, finish
                )
                if finished:
                    ivr.count_booking(outcome)
                    ivr.recent.put(call_sid, step_no + 1, finish.stored)
                    return claim.response
            if claim is None:
                claim = await services.handle(
                    calls.ClaimCallStep(
                        actor=call.actor, call_sid=call_sid, step=step_no, digits=key
                    )
                )
            if not claim.won:
                if claim.known:
                    return await _wait_for_answer(ivr, call_sid, step_no, key)
                return await _current(ivr, call_sid)
            claimed = True
        if outcome is None:
            outcome = await ivr.actions.perform(result.action, call)
        if isinstance(result.action, Book):
            ivr.count_booking(outcome)
        result = flow.settle(result.state, result.action, outcome)
        said += result.say
    new_state = result.state
    new_state.seq = step_no + 1
    twiml = ivr.voice.answer(new_state, said, call_sid)
    patient_id = (new_state.patient or {}).get("id")
    stored = new_state.to_json()
    if claimed:
        await services.handle(
            calls.FinishCallStep(
                actor=call.actor,
                call_sid=call_sid,
                step=step_no,
                digits=key,
                state=stored,
                response=twiml,
                patient_id=patient_id,
            )
        )
        ivr.recent.put(call_sid, step_no + 1, stored)
        return twiml
    answer = await services.handle(
        calls.RecordCallStep(
            actor=call.actor,
            call_sid=call_sid,
            step=step_no,
            digits=key,
            state=stored,
            response=twiml,
            patient_id=patient_id,
        )
    )
    if answer.won:
        ivr.recent.put(call_sid, step_no + 1, stored)
        return twiml
    if answer.known:
        return answer.response or await _wait_for_answer(ivr, call_sid, step_no, key)
    return await _current(ivr, call_sid)


class _Finisher:
    """The step's record for a booking's outcome, worked out inside the booking's
    transaction (pure: the flow and the TwiML), or None when the flow has more to do.
    ``stored`` is the state it gave (kept by the process once the transaction is in)."""

    def __init__(self, ivr: Ivr, result: Step, said: list, step_no: int, call_sid: str) -> None:
        self.ivr, self.result, self.said, self.step_no = ivr, result, said, step_no
        self.call_sid = call_sid
        self.stored = ""

    def __call__(self, outcome: Outcome) -> calls.StepRecord | None:
        settled = flow.settle(self.result.state, self.result.action, outcome)
        if settled.action is not None:
            return None
        new_state = settled.state
        new_state.seq = self.step_no + 1
        self.stored = new_state.to_json()
        return calls.StepRecord(
            state=self.stored,
            response=self.ivr.voice.answer(new_state, [*self.said, *settled.say], self.call_sid),
            patient_id=(new_state.patient or {}).get("id"),
        )


async def _wait_for_answer(ivr: Ivr, call_sid: str, step_no: int, key: str) -> str:
    """Another delivery of this step is acting: return its answer once stored (the
    step's time budget bounds the wait)."""
    while True:
        response = await ivr.services.read_small(calls.step_response, call_sid, step_no, key)
        if response is not None:
            return response
        await asyncio.sleep(DEDUPE_POLL_SECONDS)


async def _current(ivr: Ivr, call_sid: str) -> str:
    snap = await ivr.services.read_small(calls.call_step, call_sid, -1, "")
    state = CallState.from_json(snap.state, snap.seq)
    return ivr.voice.answer(state, flow.node_prompts(state), call_sid)


async def recording_status(request: web.Request) -> web.Response:
    """Twilio's recordingStatusCallback: the complaint gets its recording's URL."""
    ivr = request.app[IVR]
    form = request[FORM]
    if form.get("RecordingStatus", "completed") != "completed":
        return twiml_response(ivr.voice.empty())
    try:
        async with asyncio.timeout(ivr.answer_within):
            await ivr.services.handle(
                complaints.AttachRecording(
                    actor=SYSTEM,
                    call_sid=form.get("CallSid", ""),
                    recording_sid=form.get("RecordingSid") or None,
                    recording_url=form.get("RecordingUrl") or None,
                    duration_seconds=_int(form.get("RecordingDuration")),
                )
            )
    except (TimeoutError, GuahaoError) as err:
        log.error("recording callback not stored: %s", err)
        raise web.HTTPServiceUnavailable() from err  # Twilio retries callbacks on 5xx
    return twiml_response(ivr.voice.empty())


async def call_status(request: web.Request) -> web.Response:
    """Twilio's statusCallback: the call is over; its record gets duration and result."""
    ivr = request.app[IVR]
    form = request[FORM]
    status = form.get("CallStatus", "")
    if status not in ("completed", "busy", "failed", "no-answer", "canceled"):
        return twiml_response(ivr.voice.empty())
    ivr.recent.forget(form.get("CallSid", ""))
    try:
        async with asyncio.timeout(ivr.answer_within):
            await ivr.services.handle(
                calls.EndCall(
                    actor=SYSTEM,
                    call_sid=form.get("CallSid", ""),
                    status=status,
                    duration_seconds=_int(form.get("CallDuration")),
                )
            )
    except (TimeoutError, GuahaoError) as err:
        log.error("call status not stored: %s", err)
        raise web.HTTPServiceUnavailable() from err
    return twiml_response(ivr.voice.empty())


async def fallback(request: web.Request) -> web.Response:
    """Needs no database: Twilio calls it when the primary URL fails."""
    return twiml_response(request.app[IVR].busy(request[FORM]))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
