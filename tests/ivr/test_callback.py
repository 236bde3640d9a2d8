"""The waiting caller presses 1 to be called back (回拨), and the agent's browser leg (#14).

Signed webhook walks, as Twilio would post them: the caller's ``<Gather>`` in the wait
URL, the ``<Enqueue>``'s action once they ``<Leave/>``, the TwiML App's Voice URL
(``agent``) for the agent's softphone (``From=client:op-<id>``, ``call=<CallSid>``) and
its ``<Dial>``'s action (``agent-dialed``) with ``DialCallStatus``.
"""

from __future__ import annotations

import dataclasses
import itertools
import xml.etree.ElementTree as ET

import pytest

from booking_core import calls
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import CallOver
from booking_core.kernel.pii import Cipher
from booking_core.kernel.unit import rows
from edge.voice_client import client_identity
from engine.app import build_app
from engine.config import load_settings
from engine.workers import callback_sweep_ctx
from ivr.twiml import CALLBACK_RING_SECONDS
from sms.notifier import Notifier
from sms.replies import Replies
from tests.agent_console.helpers import add_operator
from tests.ivr.helpers import (
    ACCOUNT,
    PREFIX,
    PUBLIC_URL,
    Phone,
    Twilio,
    make_root,
    path_of,
    take_as,
)

LINE = "+861065123456"  # the hospital's number: a call-back's caller ID
CALLER = "+8613900005678"

_legs = itertools.count(1)


@pytest.fixture
async def twilio(aiohttp_client, services, hospital) -> Twilio:
    root = make_root(services, caller_id=LINE, callback_attempts=2)
    return Twilio(await aiohttp_client(root), services)


@pytest.fixture
async def agents(services, hospital) -> dict[str, int]:
    names = ("wang", "li3")
    return {name: await add_operator(services, name, ("agent",), "H001") for name in names}


def by(name: str) -> Actor:
    return Actor("operator", name, None, Channel.AGENT)


async def queued(twilio: Twilio, caller: str = CALLER, lang: str = "zh") -> Phone:
    call = twilio.call(caller=caller)
    await call.dial()
    if lang == "en":
        await call.press("9")
    await call.press("0")
    assert call.kind() == "enqueue"
    await call.wait()
    return call


async def press_in_queue(call: Phone, digits: str) -> ET.Element:
    """Press a key during the wait music: Twilio posts the wait <Gather>'s action."""
    gather = call.doc.find("./Gather")
    assert gather is not None, call.xml()
    return await call._post(path_of(gather.get("action")), Digits=digits)


async def left_queue(call: Phone, result: str = "leave") -> ET.Element:
    """The caller is out of the queue: Twilio posts the <Enqueue>'s action."""
    return await call._post(f"{PREFIX}/queue-left?lang=zh", QueueResult=result, QueueTime="40")


async def agent_leg(twilio: Twilio, operator_id: int | None, call_sid: str, **extra: str):
    """The agent's browser connects with {call: sid}: Twilio posts the TwiML App's Voice URL."""
    params = {
        "AccountSid": ACCOUNT,
        "CallSid": f"CA{9_000_000 + next(_legs):032d}",
        "From": "client:" + client_identity(operator_id) if operator_id else "client:someone",
        "Caller": "client:" + client_identity(operator_id) if operator_id else "client:someone",
        "To": "",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "call": call_sid,
        **extra,
    }
    status, text = await twilio.post(f"{PREFIX}/agent", params)
    assert status == 200, text
    return ET.fromstring(text), params


async def dialed(twilio: Twilio, doc: ET.Element, leg: dict[str, str], status: str) -> ET.Element:
    """The call-back's <Dial> ended: Twilio posts its action with DialCallStatus."""
    action = doc.find("./Dial").get("action")
    params = {**leg, "DialCallStatus": status, "DialCallSid": "CA" + "7" * 32}
    code, text = await twilio.post(path_of(action), params)
    assert code == 200, text
    return ET.fromstring(text)


async def the_queue(services) -> list[calls.QueuedCall]:
    return await services.read(calls.call_queue, SYSTEM)


async def texts(services) -> list[dict]:
    notifier = Notifier(services, Replies(), "twilio", consumer="test")
    while await notifier.run_once():
        pass

    def read(tx):
        found = yield rows(
            "SELECT kind, body, phone_enc FROM messages WHERE direction = 'out' ORDER BY id"
        )
        return [dict(r) for r in found]

    out = []
    for r in await services.read(read):
        phone = services.cipher.decrypt(r.pop("phone_enc"), context="phone")
        out.append({**r, "phone": phone})
    return out


def said(doc: ET.Element) -> list[str]:
    return [el.text or "" for el in doc.iter("Say")]


# --- press 1 --------------------------------------------------------------------------------


async def test_press_1_keeps_the_place_and_the_desk_sees_a_call_back(twilio, services):
    first, second = await queued(twilio, "+8613900000011"), await queued(twilio, "+8613900000022")
    me = await queued(twilio, CALLER)
    behind = await queued(twilio, "+8613900000033")
    assert said(me.doc)[:2] == [
        "您前面还有2位，请稍候。",
        "不想等待的话，请按1，我们会回拨给您。",
    ]
    doc = await press_in_queue(me, "1")
    assert [el.tag for el in doc] == ["Leave"]
    doc = await left_queue(me)
    assert said(doc) == [
        "好的，我们会尽快回拨您尾号五，六，七，八的电话，请保持电话畅通。您可以挂机了，再见。"
    ]
    assert [el.tag for el in doc] == ["Say", "Hangup"]
    assert await me.hang_up() == 200  # the call is over; the call-back is not
    queue = await the_queue(services)
    assert [c.call_sid for c in queue] == [first.sid, second.sid, me.sid, behind.sid]
    row = queue[2]
    assert (row.callback, row.callback_masked, row.taken_by) == (True, "139****5678", None)
    # the caller behind still counts it ahead; so does a caller who comes later
    assert said(await behind.waiting())[0] == "您前面还有3位，请稍候。"
    later = await queued(twilio, "+8613900000099")
    assert said(later.doc)[0] == "您前面还有4位，请稍候。"


async def test_the_english_line_confirms_in_english(twilio, services):
    call = await queued(twilio, lang="en")
    await press_in_queue(call, "1")
    status, text = await twilio.post(
        f"{PREFIX}/queue-left?lang=en", call.params(QueueResult="leave")
    )
    assert status == 200
    assert "We will call you back at the number ending 5, 6, 7, 8" in text


async def test_a_second_delivery_of_the_key_answers_the_same(twilio, services):
    call = await queued(twilio)
    first = await press_in_queue(call, "1")
    call.doc = await call.waiting()  # a replay of the wait, then of the key
    again = await press_in_queue(call, "1")
    assert [el.tag for el in first] == [el.tag for el in again] == ["Leave"]
    assert [c.callback for c in await the_queue(services)] == [True]


@pytest.mark.parametrize("withheld", ["anonymous", "+266696687", "", "+7378742833"])
async def test_a_withheld_number_cannot_be_called_back_and_keeps_waiting(
    twilio, services, withheld
):
    call = await queued(twilio, caller=withheld)
    doc = await press_in_queue(call, "1")
    assert said(doc) == ["对不起，您的来电号码未显示，无法回拨，请继续等待。"]
    assert doc.find("./Redirect").text == f"{PUBLIC_URL}{PREFIX}/queue-wait?lang=zh"
    assert doc.find("./Leave") is None
    [row] = await the_queue(services)
    assert row.callback is False


@pytest.mark.parametrize("digits", ["2", "0", "*", "#", "12", "", "x"])
async def test_any_other_key_goes_on_waiting(twilio, services, digits):
    call = await queued(twilio)
    doc = await press_in_queue(call, digits)
    assert [el.tag for el in doc] == ["Redirect"]
    assert [c.callback for c in await the_queue(services)] == [False]


async def test_a_forged_key_press_is_refused(twilio, services):
    call = await queued(twilio)
    params = call.params(Digits="1")
    status, _ = await twilio.post(f"{PREFIX}/queue-key?lang=zh", params, signature="bm9wZQ==")
    assert status == 403
    assert [c.callback for c in await the_queue(services)] == [False]


async def test_a_caller_already_taken_cannot_turn_into_a_call_back(twilio, services, agents):
    call = await queued(twilio)
    await take_as(services, "wang", call.sid)
    doc = await press_in_queue(call, "1")
    assert said(doc) == ["对不起，现在无法为您登记回拨，请继续等待。"]


# --- the agent's leg ------------------------------------------------------------------------


async def test_the_agent_bridges_exactly_the_caller_they_took(twilio, services, agents):
    first, second = await queued(twilio), await queued(twilio, "+8613900001111")
    await take_as(services, "wang", second.sid)
    doc, _ = await agent_leg(twilio, agents["wang"], second.sid)
    assert [el.tag for el in doc] == ["Dial"]
    assert [(q.tag, q.text) for q in doc.find("./Dial")] == [("Queue", f"q-{second.sid}")]
    doc, _ = await agent_leg(twilio, agents["wang"], first.sid)  # not the one wang took
    assert doc.find("./Dial") is None
    # the queue each caller waits in is that name
    call = twilio.call()
    await call.dial()
    await call.press("0")
    assert call.doc.find("./Enqueue").text == f"q-{call.sid}"


async def test_an_agent_who_did_not_take_the_call_is_refused(twilio, services, agents):
    call = await queued(twilio)
    doc, _ = await agent_leg(twilio, agents["li3"], call.sid)  # nobody took it
    assert said(doc) == ["这个来电不是由您接听的，无法接通。"]
    assert [el.tag for el in doc] == ["Say", "Hangup"]
    await take_as(services, "wang", call.sid)
    doc, _ = await agent_leg(twilio, agents["li3"], call.sid)  # wang took it, not li
    assert doc.find("./Dial") is None
    assert doc.find("./Hangup") is not None
    doc, _ = await agent_leg(twilio, None, call.sid)  # not a console operator
    assert said(doc) == ["没有找到这个来电。"]
    doc, _ = await agent_leg(twilio, agents["wang"], "CA" + "4" * 32)  # no such call
    assert said(doc) == ["没有找到这个来电。"]
    doc, _ = await agent_leg(twilio, agents["wang"], "")  # no call parameter
    assert doc.find("./Hangup") is not None


async def test_a_forged_agent_request_is_refused(twilio, services, agents):
    call = await queued(twilio)
    await take_as(services, "wang", call.sid)
    params = {
        "AccountSid": ACCOUNT,
        "CallSid": "CA" + "5" * 32,
        "From": "client:" + client_identity(agents["wang"]),
        "call": call.sid,
    }
    status, text = await twilio.post(f"{PREFIX}/agent", params, signature="bm9wZQ==")
    assert status == 403
    assert "Queue" not in text


async def test_a_caller_who_hung_up_cannot_be_taken_and_the_agent_is_told(twilio, services, agents):
    call = await queued(twilio)
    await take_as(services, "wang", call.sid)
    other = await queued(twilio, "+8613900002222")
    await other.hang_up()
    with pytest.raises(CallOver):
        await take_as(services, "li3", other.sid)
    await call.hang_up()  # taken, then the caller hung up before the browser connected
    doc, _ = await agent_leg(twilio, agents["wang"], call.sid)
    assert said(doc) == ["来电方已经挂机。"]


async def test_a_call_back_is_dialled_from_the_hospitals_line(twilio, services, agents):
    call = await queued(twilio)
    await press_in_queue(call, "1")
    await left_queue(call)
    await call.hang_up()
    taken = await take_as(services, "wang", call.sid)
    assert taken.won  # takeable although the call ended: the caller asked to be called
    doc, _ = await agent_leg(twilio, agents["wang"], call.sid)
    dial = doc.find("./Dial")
    assert dial.get("callerId") == LINE
    assert [(n.tag, n.text) for n in dial] == [("Number", "+8613900005678")]
    assert dial.get("action") == f"{PUBLIC_URL}{PREFIX}/agent-dialed?call={call.sid}"
    assert dial.get("timeout") == str(CALLBACK_RING_SECONDS)
    doc, _ = await agent_leg(twilio, agents["li3"], call.sid)  # li did not take it
    assert doc.find("./Dial") is None


# --- not reached: tried again, then closed with a text --------------------------------------


async def test_a_call_back_not_answered_is_tried_again_then_closed_with_a_text(
    twilio, services, agents
):
    call = await queued(twilio)
    await press_in_queue(call, "1")
    await left_queue(call)
    await call.hang_up()
    await take_as(services, "wang", call.sid)
    doc, leg = await agent_leg(twilio, agents["wang"], call.sid)
    answer = await dialed(twilio, doc, leg, "no-answer")
    assert said(answer) == ["回拨未接通，已放回队列，稍后再试。"]
    [row] = await the_queue(services)
    assert (row.callback, row.taken_by, row.callback_attempts) == (True, None, 1)
    assert await texts(services) == []
    # li tries next; busy: out of tries (callback_attempts = 2)
    await take_as(services, "li3", call.sid)
    doc, leg = await agent_leg(twilio, agents["li3"], call.sid)
    answer = await dialed(twilio, doc, leg, "busy")
    assert said(answer) == ["回拨未接通，已达到回拨次数，已短信通知来电人。"]
    assert await the_queue(services) == []
    [text] = await texts(services)
    assert text["phone"] == "13900005678"
    assert text["kind"] == "callback"
    assert "回拨了您的电话2次未能接通" in text["body"]

    def audited(tx):
        found = yield rows(
            "SELECT action, actor, after_state FROM audit WHERE entity_id = ? "
            "AND action LIKE 'call.callback%' ORDER BY id",
            call.sid,
        )
        return [(r["action"], r["actor"]) for r in found]

    # each step audited, and so signalled to the desks' live queue (topic "call")
    assert await services.read(audited) == [
        ("call.callback_ask", "system:ivr:H001"),
        ("call.callback_result", "system:ivr:H001"),
        ("call.callback_result", "system:ivr:H001"),
    ]
    # a late or replayed action changes nothing more
    again = await dialed(twilio, doc, leg, "busy")
    assert [el.tag for el in again] == ["Hangup"]
    assert len(await texts(services)) == 1
    doc, _ = await agent_leg(twilio, agents["li3"], call.sid)
    assert said(doc) == ["来电方已经挂机。"]


async def test_a_call_back_answered_is_closed_without_a_text(twilio, services, agents):
    call = await queued(twilio)
    await press_in_queue(call, "1")
    await left_queue(call)
    await take_as(services, "wang", call.sid)
    doc, leg = await agent_leg(twilio, agents["wang"], call.sid)
    answer = await dialed(twilio, doc, leg, "completed")
    assert [el.tag for el in answer] == ["Hangup"]
    assert await the_queue(services) == []
    assert await texts(services) == []


async def test_only_the_agent_who_took_it_reports_how_it_went(twilio, services, agents):
    call = await queued(twilio)
    await press_in_queue(call, "1")
    await left_queue(call)
    await take_as(services, "wang", call.sid)
    doc, leg = await agent_leg(twilio, agents["wang"], call.sid)
    forged = {**leg, "From": "client:" + client_identity(agents["li3"])}
    answer = await dialed(twilio, doc, forged, "failed")
    assert [el.tag for el in answer] == ["Hangup"]
    [row] = await the_queue(services)
    assert (row.taken_by, row.callback_attempts) == ("wang", 0)


async def test_the_agent_hanging_up_before_it_rang_out_counts_no_attempt(twilio, services, agents):
    call = await queued(twilio)
    await press_in_queue(call, "1")
    await left_queue(call)
    await take_as(services, "wang", call.sid)
    doc, leg = await agent_leg(twilio, agents["wang"], call.sid)
    await dialed(twilio, doc, leg, "canceled")
    [row] = await the_queue(services)
    assert (row.taken_by, row.callback_attempts) == (None, 0)


@pytest.mark.parametrize("status", ["", "ringing", "x" * 5000, "完成", "in-progress"])
async def test_a_dial_status_twilio_does_not_send_changes_nothing(twilio, services, agents, status):
    call = await queued(twilio)
    await press_in_queue(call, "1")
    await left_queue(call)
    await take_as(services, "wang", call.sid)
    doc, leg = await agent_leg(twilio, agents["wang"], call.sid)
    answer = await dialed(twilio, doc, leg, status)
    assert [el.tag for el in answer] == ["Hangup"]
    [row] = await the_queue(services)
    assert (row.taken_by, row.callback_attempts) == ("wang", 0)


async def test_a_dial_report_without_its_call_or_operator_is_answered_plainly(twilio, agents):
    leg = {"AccountSid": ACCOUNT, "CallSid": "CA" + "6" * 32, "DialCallStatus": "busy"}
    for path, params in [
        (f"{PREFIX}/agent-dialed", {**leg, "From": "client:" + client_identity(agents["wang"])}),
        (f"{PREFIX}/agent-dialed?call=CA{'1' * 32}", {**leg, "From": "+8613900000001"}),
        (f"{PREFIX}/agent-dialed?call=nonsense", {**leg, "From": "client:op-999"}),
    ]:
        status, text = await twilio.post(path, params)
        assert status == 200, text
        assert [el.tag for el in ET.fromstring(text)] == ["Hangup"]
    status, _ = await twilio.post(f"{PREFIX}/agent-dialed?call=CA1", leg, signature="bm9wZQ==")
    assert status == 403


@pytest.mark.parametrize("sid", ["x" * 3000, "CA' OR 1=1 --", "\u0000", "q-CA1"])
async def test_an_agent_leg_for_a_call_that_is_none_is_refused_in_words(twilio, agents, sid):
    doc, _ = await agent_leg(twilio, agents["wang"], sid)
    assert said(doc) == ["没有找到这个来电。"]


async def test_a_call_back_nobody_takes_in_time_is_tried_again_then_closed(twilio, services, clock):
    call = await queued(twilio)
    await press_in_queue(call, "1")
    await left_queue(call)
    await call.hang_up()
    sweep = calls.SweepCallbacks(answer_within_minutes=30, attempts=2)
    clock.advance(minutes=29)
    assert await services.handle(sweep) == 0
    clock.advance(minutes=2)
    assert await services.handle(sweep) == 1
    [row] = await the_queue(services)
    assert row.callback_attempts == 1
    assert await texts(services) == []
    clock.advance(minutes=29)
    assert await services.handle(sweep) == 0  # its time started again
    clock.advance(minutes=2)
    assert await services.handle(sweep) == 1
    assert await the_queue(services) == []
    [text] = await texts(services)
    assert text["phone"] == "13900005678"
    clock.advance(hours=2)
    assert await services.handle(sweep) == 0


async def test_the_english_caller_is_texted_in_english(twilio, services, clock):
    call = await queued(twilio, lang="en")
    await press_in_queue(call, "1")
    sweep = calls.SweepCallbacks(answer_within_minutes=1, attempts=1)
    clock.advance(minutes=2)
    assert await services.handle(sweep) == 1
    [text] = await texts(services)
    assert text["body"].startswith("[")
    assert "could not reach you" in text["body"]


# --- requeue (hold, transfer to another agent) ----------------------------------------------


async def test_requeue_puts_the_caller_back_in_their_own_queue(twilio, services):
    call = await queued(twilio)
    for hold, wait in (("1", "queue-hold"), ("0", "queue-wait")):
        status, text = await twilio.post(
            f"{PREFIX}/requeue?call={call.sid}&hold={hold}&lang=en", call.params()
        )
        assert status == 200, text
        doc = ET.fromstring(text)
        enqueue = doc.find("./Enqueue")
        assert enqueue.text == f"q-{call.sid}"
        assert enqueue.get("waitUrl") == f"{PUBLIC_URL}{PREFIX}/{wait}?lang=en"
    status, text = await twilio.post(f"{PREFIX}/queue-hold?lang=en", call.params())
    assert status == 200
    assert [el.tag for el in ET.fromstring(text)] == ["Play"]  # music only, nothing said


@pytest.mark.parametrize("query", ["call=CA1&hold=2", "hold=1&call=", "call=a%20b&hold=1"])
async def test_a_bad_requeue_is_a_clear_400(twilio, query):
    call = twilio.call()
    params = call.params()
    params["CallSid"] = ""
    status, text = await twilio.post(f"{PREFIX}/requeue?{query}", params)
    assert status in (400,), text
    assert "requeue needs" in text or "CallSid" in text


async def test_the_engine_runs_the_call_back_sweep(tmp_path, clock):
    settings = dataclasses.replace(
        load_settings(env={"GUAHAO_PII_KEY": Cipher.generate_key()}), db=str(tmp_path / "g.db")
    )
    assert callback_sweep_ctx in build_app(settings, clock=clock).cleanup_ctx
