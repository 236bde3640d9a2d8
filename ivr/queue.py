"""The caller waiting for an agent, and the agent's browser leg (#14, contract C2).

Each caller transferred to the agents waits in a Twilio queue of their own, ``q-<CallSid>``
(:meth:`ivr.twiml.Voice.queue_name`). Their place and expected wait are the engine's own
(:func:`booking_core.calls.queue_place`): Twilio's ``QueuePosition`` is always 1 in a queue
of one, and its ``AvgQueueTime`` is only that caller's own wait, so neither is said.

* ``POST queue-wait?lang=`` — the ``<Enqueue>``'s wait URL: the place and the expected
  wait, the offer of a call-back (press 1), then the hold music, inside a one-key
  ``<Gather>``; Twilio asks again when it has played (every ~30 s with a 30-second clip).
  A caller the engine does not know (queued by the database-free fallback) or a store that
  does not answer in time gets "please hold" and no offer.
* ``POST queue-key?lang=`` — the key pressed while waiting: 1 makes the call a call-back
  (the caller keeps their place) and ``<Leave/>``s the queue; a withheld number cannot be
  called back (said, and the caller keeps waiting); any other key: waiting goes on.
* ``POST queue-left?lang=`` — the ``<Enqueue>``'s action, once the caller left the queue:
  a call-back is confirmed ("we will call you back at the number ending 5678") and the call
  ends; a bridged call that is over ends; a queue Twilio could not hold says "no operator".
* ``POST queue-hold?lang=`` — the wait URL of a caller on hold: music only.
* ``POST requeue?call=&hold=1|0&lang=`` — the softphone redirects the caller's leg here
  (Twilio's REST API) to put them back in their own queue: on hold (music only), or
  waiting again (a transfer to another agent).
* ``POST agent`` — the TwiML App's Voice URL, for the agent's browser leg
  (``From=client:op-<id>``, the custom parameter ``call=<the caller's CallSid>``):
  ``<Dial><Queue>q-<sid></Queue></Dial>`` for a waiting caller that operator took;
  ``<Dial callerId=…><Number>…</Number></Dial>`` for a call-back they took; otherwise a
  spoken refusal and ``<Hangup/>``.
* ``POST agent-dialed?call=`` — that ``<Dial>``'s action: ``DialCallStatus`` tells the
  engine whether the call-back reached the caller (:class:`booking_core.calls.CallbackDialed`).
"""

from __future__ import annotations

import logging

from aiohttp import web

from booking_core import calls
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import GuahaoError
from booking_core.store.budget import within
from edge.signature import FORM, SID_SHAPES
from edge.voice_client import operator_of

from .door import IVR, Ivr, twiml_response
from .twiml import CALLBACK_KEY

log = logging.getLogger(__name__)

LANGS = ("zh", "en")
AGENT_LANG = "zh"  # what an agent hears in the browser (the console's staff language)
REFUSALS = {"not_taken": "agent_not_taken", "ended": "agent_ended", "unknown": "agent_unknown"}
CALLBACK_TEXTS = {
    calls.CallbackOutcome.RETRY: "callback_retry",
    calls.CallbackOutcome.CLOSED: "callback_closed",
}
LEFT_BRIDGED = ("bridged", "hangup", "redirected")  # over, or somewhere else now
CALL_SID = SID_SHAPES["CallSid"]  # what a ``call`` parameter must look like


def add_routes(app: web.Application) -> None:
    app.router.add_post("/queue-wait", queue_wait)
    app.router.add_post("/queue-key", queue_key)
    app.router.add_post("/queue-left", queue_left)
    app.router.add_post("/queue-hold", queue_hold)
    app.router.add_post("/requeue", requeue)
    app.router.add_post("/agent", agent)
    app.router.add_post("/agent-dialed", agent_dialed)


def _lang(request: web.Request) -> str:
    lang = request.query.get("lang", "zh")
    return lang if lang in LANGS else "zh"


async def queue_wait(request: web.Request) -> web.Response:
    ivr = request.app[IVR]
    lang = _lang(request)
    call_sid = request[FORM].get("CallSid", "")
    place = calls.QueuePlace(None)
    try:
        async with within(ivr.answer_within):
            await ivr.hospital_record()
            place = await ivr.services.read_small(calls.queue_place, call_sid)
    except (TimeoutError, GuahaoError) as err:  # the caller still hears "please hold"
        log.warning("queue place not read for a waiting caller: %s", err)
    return twiml_response(
        ivr.voice.queue_wait(
            lang, place.position, place.wait_seconds, offer_callback=place.position is not None
        )
    )


async def queue_key(request: web.Request) -> web.Response:
    ivr = request.app[IVR]
    lang = _lang(request)
    form = request[FORM]
    if form.get("Digits", "").strip() != CALLBACK_KEY:
        return twiml_response(ivr.voice.wait_again(lang))
    try:
        async with within(ivr.answer_within):
            call = await ivr.call(form, lang)
            asked = await ivr.services.handle(
                calls.RequestCallback(actor=call.line, call_sid=call.call_sid)
            )
    except (TimeoutError, GuahaoError) as err:
        log.warning("call-back not recorded: %s", err)
        return twiml_response(ivr.voice.say_then(lang, "callback_unavailable", then="wait"))
    if asked.status is calls.CallbackStatus.ASKED:
        return twiml_response(ivr.voice.leave())  # queue-left confirms and ends the call
    key = "callback_withheld" if asked.status is calls.CallbackStatus.WITHHELD else None
    return twiml_response(
        ivr.voice.say_then(lang, key or "callback_unavailable", then="wait"),
    )


async def queue_left(request: web.Request) -> web.Response:
    ivr = request.app[IVR]
    lang = _lang(request)
    form = request[FORM]
    result = form.get("QueueResult", "")
    if result in LEFT_BRIDGED:
        return twiml_response(ivr.voice.hangup())
    if result == "leave":
        try:
            async with within(ivr.answer_within):
                call = await ivr.call(form, lang)
                queued = await ivr.services.read_small(calls.queued_call, call.call_sid, call.line)
        except (TimeoutError, GuahaoError) as err:
            log.warning("call-back not confirmed to the caller: %s", err)
            queued = None
        if queued is not None and queued.callback:
            last4 = queued.callback_masked[-4:]
            return twiml_response(
                ivr.voice.say_then(lang, "callback_confirm", {"last4": last4}, then="hangup")
            )
    return twiml_response(ivr.voice.say_then(lang, "queue_closed", then="hangup"))


async def queue_hold(request: web.Request) -> web.Response:
    return twiml_response(request.app[IVR].voice.queue_hold())


async def requeue(request: web.Request) -> web.Response:
    ivr = request.app[IVR]
    call_sid = request.query.get("call", "") or request[FORM].get("CallSid", "")
    hold = request.query.get("hold", "0")
    if hold not in ("0", "1") or not CALL_SID.fullmatch(call_sid):
        raise web.HTTPBadRequest(text="requeue needs call=<CallSid> and hold=1 or hold=0")
    return twiml_response(ivr.voice.requeue(call_sid, _lang(request), hold=hold == "1"))


async def agent(request: web.Request) -> web.Response:
    """The agent's browser leg: bridge the caller they took, dial the call-back they
    took, or say why not and hang up."""
    ivr = request.app[IVR]
    form = request[FORM]
    operator_id = operator_of(form.get("From", "") or form.get("Caller", ""))
    call_sid = form.get("call", "").strip()
    if operator_id is None or not CALL_SID.fullmatch(call_sid):
        return _refuse(ivr, "unknown")
    try:
        async with within(ivr.answer_within):
            leg = await ivr.services.read_small(
                calls.agent_leg, call_sid, operator_id, ivr.services.cipher
            )
    except (TimeoutError, GuahaoError) as err:
        log.error("agent leg not answered: %s", err)
        return twiml_response(ivr.voice.say_then(AGENT_LANG, "store_unavailable", then="hangup"))
    if leg.kind is calls.LegKind.QUEUE:
        return twiml_response(ivr.voice.agent_queue(leg.call_sid))
    if leg.kind is calls.LegKind.CALLBACK:
        return twiml_response(ivr.voice.agent_callback(leg.call_sid, leg.number, ivr.caller_id))
    return _refuse(ivr, leg.reason)


def _refuse(ivr: Ivr, reason: str) -> web.Response:
    key = REFUSALS.get(reason, "agent_unknown")
    return twiml_response(ivr.voice.say_then(AGENT_LANG, key, then="hangup"))


async def agent_dialed(request: web.Request) -> web.Response:
    """How the call-back's ``<Dial>`` went; the agent hears what became of it."""
    ivr = request.app[IVR]
    form = request[FORM]
    operator_id = operator_of(form.get("From", "") or form.get("Caller", ""))
    call_sid = request.query.get("call", "")
    if operator_id is None or not CALL_SID.fullmatch(call_sid):
        return twiml_response(ivr.voice.hangup())
    try:
        async with within(ivr.answer_within):
            hospital = await ivr.hospital_record()
            line = Actor("system", f"ivr:{hospital.code}", hospital.id, Channel.IVR)
            outcome = await ivr.services.handle(
                calls.CallbackDialed(
                    actor=line,
                    call_sid=call_sid,
                    operator_id=operator_id,
                    dial_status=form.get("DialCallStatus", ""),
                    attempts=ivr.callback_attempts,
                )
            )
    except (TimeoutError, GuahaoError) as err:  # the sweep counts it once its time is up
        log.error("call-back outcome not stored: %s", err)
        return twiml_response(ivr.voice.say_then(AGENT_LANG, "store_unavailable", then="hangup"))
    key = CALLBACK_TEXTS.get(outcome)
    if key is None:
        return twiml_response(ivr.voice.hangup())
    return twiml_response(ivr.voice.say_then(AGENT_LANG, key, then="hangup"))
