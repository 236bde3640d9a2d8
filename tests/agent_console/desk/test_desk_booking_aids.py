"""The desk's booking aids (#14): the screen pop pre-fills the booking form with the
caller's IVR choices and says the IVR step and transfer reason in words; channels and
statuses in words and times in the hospital's zone on every desk screen (a scan of the
rendered pages for the engine's own identifiers); quick cancel with a reason, audited,
refused in words for a booking that has begun or is checked in; resending the
confirmation, limited and audited; the printable booking slip."""

from __future__ import annotations

import ast
import io
import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

import ivr
from agent_console import i18n_calls
from agent_console.i18n import MESSAGES
from agent_console.i18n_desk import MESSAGES as DESK_WORDS
from booking_core import bookings
from booking_core.bookings import RESENDS_PER_HOUR, BookingStatus, ResendConfirmation
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import InvalidState, LimitReached
from booking_core.schedule import Period
from ivr.flow import HANDLERS
from sms.notifier import Notifier
from sms.replies import Replies
from tests.agent_console.desk.desk_world import go_available, transfer
from tests.agent_console.helpers import table
from tests.support.world import World, local

DR = "00901"  # 赵医生, 骨科 (102): 2026-07-12 14:00–16:00, 4 slots × 3 places

IDENTIFIERS = sorted(
    {
        *HANDLERS,
        *i18n_calls.REASONS["zh"],
        *(str(c) for c in Channel),
        *(str(s) for s in BookingStatus),
        *(str(p) for p in Period),
    }
)
"""The engine's own names a person must never read on a Chinese screen."""


class _Text(HTMLParser):
    """What a person reads (or hears) on a page: its text, and the labels and titles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def read_by_a_person(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def leaked(text: str) -> list[str]:
    """The identifiers found in ``text`` as words of their own (``agent_a`` is a name,
    not the channel ``agent``)."""
    return [i for i in IDENTIFIERS if re.search(rf"(?<![\w.]){re.escape(i)}(?![\w.])", text)]


async def _html(agent, path: str, **params) -> str:
    async with agent.client.get("/console" + path, params=params) as resp:
        assert resp.status in (200, 409), (path, resp.status)
        return await resp.text()


async def _book(agent, patient: int, day: str = "2026-07-12", at: str = "14:00") -> str:
    status, body = await agent.get(
        f"/desk/patients/{patient}/slots", params={"day": day, "time": at}
    )
    [slot] = body["slots"]
    status, body = await agent.post(f"/desk/patients/{patient}/book", {"slot_id": slot["slot_id"]})
    assert status == 201, body
    return body["booking"]["booking_no"]


@pytest.fixture
async def popped(services, desk_world):
    """李小明 called, chose 骨科, 赵医生 and 12 July on the phone menu, then pressed wrong
    keys at the time menu: passed to an agent."""
    await transfer(
        services,
        "HA",
        "CA-pop",
        caller="13812345678",
        reason="wrong_input",
        step="book_time",
        digits="9",
        patient_id=desk_world["li"],
        patient_name="李小明",
        department="102",
        doctor=DR,
        day="2026-07-12",
    )
    return desk_world


# --- the screen pop ------------------------------------------------------------------------


async def test_taking_the_call_prefills_the_booking_form_with_the_callers_choices(agent, popped):
    li = popped["li"]
    status, body = await agent.post("/desk/calls/CA-pop/take")
    assert body["next"] == f"/console/desk/patients/{li}?call=CA-pop"
    status, record = await agent.get(f"/desk/patients/{li}", params={"call": "CA-pop"})
    assert status == 200, record
    assert record["filters"] == {
        "department": "102",
        "doctor": DR,
        "day": "2026-07-12",
        "time": "",
        "from_call": "1",
    }
    html = await _html(agent, f"/desk/patients/{li}", call="CA-pop")
    assert '<option value="102" selected>' in html
    assert f'<option value="{DR}" selected>' in html
    assert 'name="day" value="2026-07-12"' in html
    assert '<input type="hidden" name="call" value="CA-pop">' in html  # the search keeps it
    assert "已按来电人在语音导航中的选择预填科室、医生和日期。" in html
    panel = read_by_a_person(html.split('class="call-panel"')[1].split("</section>")[0])
    for seen in ("102 骨科", f"{DR} 赵医生", "2026-07-12", "预约挂号：选择时段", "多次按键有误"):
        assert seen in panel, seen
    # what the agent typed wins over the caller's choices
    status, typed = await agent.get(
        f"/desk/patients/{li}", params={"call": "CA-pop", "department": "101"}
    )
    assert typed["filters"]["department"] == "101"
    assert typed["filters"]["doctor"] == ""
    assert "from_call" not in typed["filters"]
    # the pre-filled search shows the doctor's week and keeps the call on the page
    status, slots = await agent.get(
        f"/desk/patients/{li}/slots",
        params={"department": "102", "doctor": DR, "day": "2026-07-12", "call": "CA-pop"},
    )
    assert status == 200, slots
    assert slots["call"]["call_sid"] == "CA-pop"
    assert len(slots["slots"]) == 4
    cell = next(c for r in slots["week"]["rows"] for c in r["cells"] if c["state"] == "open")
    assert "call=CA-pop" in cell["href"]


async def test_a_call_context_the_form_cannot_hold_is_left_out(agent, services, desk_world):
    await transfer(
        services,
        "HA",
        "CA-odd",
        reason="asked",
        step="main",
        patient_id=desk_world["li"],
        day="next tuesday",
    )
    status, record = await agent.get(
        f"/desk/patients/{desk_world['li']}", params={"call": "CA-odd"}
    )
    assert status == 200, record
    assert record["filters"] == {"department": "", "doctor": "", "day": "", "time": ""}


@pytest.mark.parametrize(
    ("lang", "step", "reason"),
    [
        ("zh", "预约挂号：选择时段", "多次按键有误"),
        ("en", "booking: choosing a time", "wrong keys"),
    ],
)
async def test_the_ivr_step_and_reason_are_words(agent, popped, lang, step, reason):
    for path in ("/desk", "/desk/calls/CA-pop", f"/desk/patients/{popped['li']}"):
        text = read_by_a_person(await _html(agent, path, lang=lang, call="CA-pop"))
        assert step in text, path
        assert reason in text, path
        assert "book_time" not in text, path
        assert "wrong_input" not in text, path
    _status, body = await agent.get("/desk", params={"lang": lang})
    [row] = body["calls"]
    assert (row["step"], row["reason"]) == ("book_time", "wrong_input")  # data for a program
    assert (row["step_text"], row["reason_text"][: len(reason)]) == (step, reason)


async def test_a_step_or_reason_without_words_is_never_shown_as_itself(agent, services, desk_world):
    await transfer(services, "HA", "CA-new", reason="brand_new", step="menu_of_2030")
    text = read_by_a_person(await _html(agent, "/desk"))
    assert "其他步骤" in text
    assert "其他原因" in text
    assert "brand_new" not in text
    assert "menu_of_2030" not in text


def _reasons_the_ivr_transfers_with() -> set[str]:
    """Every literal reason of a ``to_agent(s, "<reason>", …)`` call in the IVR's code."""
    found = set()
    for path in Path(ivr.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "to_agent"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                found.add(node.args[1].value)
    return found


def test_every_ivr_step_and_transfer_reason_has_words_in_both_languages():
    reasons = _reasons_the_ivr_transfers_with()
    assert {"asked", "no_input", "wrong_input"} <= reasons  # the scan finds them
    for lang in ("zh", "en"):
        assert set(HANDLERS) <= set(i18n_calls.STEPS[lang]), lang
        assert reasons <= set(i18n_calls.REASONS[lang]), lang
    assert set(i18n_calls.STEPS["zh"]) == set(i18n_calls.STEPS["en"])
    assert set(i18n_calls.REASONS["zh"]) == set(i18n_calls.REASONS["en"])


def test_the_desks_words_do_not_redefine_the_consoles():
    import agent_console.i18n as console

    source = Path(console.__file__).read_text(encoding="utf-8")
    own = set(re.findall(r'^\s+"([a-z_.0-9]+)": ', source, flags=re.M))
    assert own & set(DESK_WORDS["zh"]) == set()
    assert set(DESK_WORDS["zh"]) == set(DESK_WORDS["en"])
    assert set(DESK_WORDS["zh"]) <= set(MESSAGES["zh"])


# --- no identifier on a screen, and local time ---------------------------------------------


async def test_no_desk_screen_shows_an_identifier_of_the_engine(agent, services, popped):
    li = popped["li"]
    number = await _book(agent, li)
    await agent.post("/desk/calls/CA-pop/take")
    pages = {
        "/desk": {},
        "/desk/calls/CA-pop": {},
        f"/desk/patients/{li}": {"call": "CA-pop"},
        f"/desk/patients/{li}/slots": {"doctor": DR},
        f"/desk/patients/{li}/slots ": {"doctor": DR, "day": "2026-07-12", "period": "afternoon"},
        f"/desk/bookings/{number}": {},
        f"/desk/bookings/{number}/slots": {},
        f"/desk/bookings/{number}/slip": {},
        f"/patients/{li}": {},
        f"/bookings/{number}": {},
    }
    for path, params in pages.items():
        text = read_by_a_person(await _html(agent, path.strip(), **params))
        assert leaked(text) == [], (path, leaked(text))
    # the refusals too: a status in words, never its code
    await agent.post(f"/desk/bookings/{number}/cancel", {"why": "other"})
    html = await _html(agent, f"/desk/bookings/{number}")
    assert "已取消" in read_by_a_person(html)
    async with agent.client.post(
        f"/console/desk/bookings/{number}/resend", data={"csrf_token": agent.csrf_token}
    ) as resp:
        assert resp.status == 409
        text = read_by_a_person(await resp.text())
    assert "预约状态为 已取消，不能执行此操作。" in text
    assert leaked(text) == []
    # and in the JSON twins, whatever is meant to be read (words and messages)
    for path in ("/desk", f"/desk/patients/{li}/slots?doctor={DR}"):
        _status, body = await agent.get(path)
        for key, value in _read_fields(body):
            assert leaked(value) == [], (path, key, value)


async def _session_of(services, number: str) -> int:
    [row] = await table(services, "SELECT session_id FROM bookings WHERE booking_no = ?", number)
    return row["session_id"]


def _read_fields(value, key: str = ""):
    """(key, text) of every field of a JSON body a person reads: ``*_text``, ``text``,
    ``label`` and ``message``."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _read_fields(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _read_fields(v, key)
    elif isinstance(value, str) and (key.endswith("_text") or key in ("text", "label", "message")):
        yield key, value


async def test_times_are_the_hospitals_after_midnight_in_beijing(browser, services, clock, popped):
    clock.set(local(2026, 7, 11, 0, 30))  # 16:30 UTC on 10 July
    await transfer(services, "HA", "CA-night", reason="asked", step="main")
    agent = await browser()
    await agent.sign_in("agent_a")
    await go_available(agent)  # callers are listed to an available agent
    text = read_by_a_person(await _html(agent, "/desk"))
    assert "2026-07-11 00:30" in text
    assert "2026-07-10 16:30" not in text
    _status, body = await agent.get("/desk/calls/CA-night")
    assert body["call"]["transferred_at"] == "2026-07-11 00:30"


async def test_the_export_says_channel_and_status_in_words(agent, popped):
    number = await _book(agent, popped["li"])
    async with agent.client.get("/console/office/bookings/export.xlsx?doctor=00901") as resp:
        assert resp.status == 200
        sheet = load_workbook(io.BytesIO(await resp.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    [row] = [r for r in rows if r[0] == number]
    assert (row[7], row[8]) == ("人工坐席", "已预约")
    assert (row[1], row[2]) == ("2026-07-12", "14:00")  # the hospital's day and time
    async with agent.client.get(
        "/console/office/bookings/export.xlsx?doctor=00901&lang=en"
    ) as resp:
        rows = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert [r[7:9] for r in rows if r[0] == number] == [("Agent", "confirmed")]


# --- quick cancel ----------------------------------------------------------------------------


async def test_quick_cancel_from_the_record_asks_for_a_reason_and_audits_it(
    agent, services, desk_world
):
    li = desk_world["li"]
    number = await _book(agent, li)
    status, record = await agent.get(f"/desk/patients/{li}")
    assert record["cancellable"] == [number]
    html = await _html(agent, f"/desk/patients/{li}")
    assert f'action="/console/desk/bookings/{number}/cancel"' in html
    assert '<select name="why" required>' in html
    assert 'maxlength="200"' in html
    assert f"确认取消预约 {number}" in html

    status, body = await agent.post(
        f"/desk/bookings/{number}/cancel", {"back": "patient", "note": "x"}
    )  # no reason chosen
    assert (status, body["error"]) == (409, "invalid_input")
    assert body["message"] == "该预约不能取消：请选择取消原因。"
    status, body = await agent.post(
        f"/desk/bookings/{number}/cancel", {"back": "patient", "why": "other", "note": "长" * 201}
    )
    assert (status, body["error"]) == (409, "invalid_input")
    assert (await agent.get(f"/desk/bookings/{number}"))[1]["booking"]["status"] == "confirmed"

    status, body = await agent.post(
        f"/desk/bookings/{number}/cancel",
        {"back": "patient", "why": "time_conflict", "note": "  改天 再来 "},
    )
    assert status == 200, body
    assert body["next"] == f"/console/desk/patients/{li}?done=cancelled&no={number}"
    [audit] = await table(
        services,
        "SELECT actor, after_state FROM audit WHERE action = 'booking.cancelled' AND entity_id = ?",
        number,
    )
    assert audit["actor"] == "operator:agent_a"
    assert json.loads(audit["after_state"]) == {
        "status": "cancelled",
        "reason": "patient",
        "why": "time_conflict",
        "note": "改天 再来",
    }
    html = await _html(agent, f"/desk/patients/{li}", done="cancelled", no=number)
    assert f"已取消预约 {number}。" in html
    assert (await agent.get(f"/desk/patients/{li}"))[1]["cancellable"] == []


async def test_quick_cancel_is_refused_in_words_once_begun_or_checked_in(
    browser, services, clock, desk_world
):
    """The next morning at 08:30: 张三丰's 08:00 booking has begun; 李小明 checked in for 11:30."""
    ha = World(services, "HA")
    session = await _session_of(services, desk_world["HA"]["booking"])
    [row] = await table(
        services, "SELECT id FROM slots WHERE session_id = ? AND start_time = '11:30'", session
    )
    later = await ha.book(row["id"], desk_world["li"], Channel.AGENT)
    clock.set(local(2026, 7, 11, 8, 30))
    checked_in = later.booking.booking_no
    await services.handle(bookings.CheckIn(booking_no=checked_in))
    agent = await browser()
    await agent.sign_in("agent_a")
    status, record = await agent.get(f"/desk/patients/{desk_world['li']}")
    assert record["cancellable"] == []  # nothing offered to cancel
    status, body = await agent.post(
        f"/desk/bookings/{checked_in}/cancel", {"back": "patient", "why": "patient_asked"}
    )
    assert (status, body["error"]) == (409, "invalid_state")
    assert body["message"] == "该预约不能取消：预约状态为 已取号，不能执行此操作。"
    begun = desk_world["HA"]["booking"]
    status, body = await agent.post(f"/desk/bookings/{begun}/cancel", {"why": "patient_asked"})
    assert status == 409
    assert body["error"] == "cancel_deadline_passed"
    assert body["message"].startswith("该预约不能取消：")
    assert leaked(body["message"]) == []
    html = await _html(agent, f"/desk/bookings/{begun}")
    assert "quick-cancel" not in html
    rows = await table(
        services, "SELECT status FROM bookings WHERE booking_no IN (?, ?)", begun, checked_in
    )
    assert sorted(r["status"] for r in rows) == ["checked_in", "confirmed"]


# --- resend the confirmation ------------------------------------------------------------------


async def _confirmations(services, number: str) -> list[dict]:
    return await table(
        services,
        "SELECT idem_key, body FROM messages WHERE direction = 'out' AND kind = 'confirmation' "
        "AND booking_no = ? ORDER BY id",
        number,
    )


async def test_resend_texts_the_confirmation_again_limited_and_audited(
    agent, services, clock, desk_world
):
    notifier = Notifier(services, Replies(), "twilio", consumer="test")
    number = await _book(agent, desk_world["li"])
    html = await _html(agent, f"/desk/bookings/{number}")
    assert f'action="/console/desk/bookings/{number}/resend"' in html
    for _ in range(RESENDS_PER_HOUR):
        status, body = await agent.post(f"/desk/bookings/{number}/resend")
        assert status == 200, body
        assert body["next"] == f"/console/desk/bookings/{number}?done=resent"
    status, body = await agent.post(f"/desk/bookings/{number}/resend")
    assert (status, body["error"]) == (409, "limit_reached")
    assert body["message"] == f"该预约一小时内已补发 {RESENDS_PER_HOUR} 次短信，请稍后再试。"
    while await notifier.run_once():
        pass
    sent = await _confirmations(services, number)
    assert len(sent) == 1 + RESENDS_PER_HOUR  # the booking's own text, then each resend
    assert len({m["idem_key"] for m in sent}) == len(sent)
    assert len({m["body"] for m in sent}) == 1  # the same confirmation each time
    assert number in sent[0]["body"]
    audit = await table(
        services,
        "SELECT actor FROM audit WHERE action = 'booking.confirmation_resent' AND entity_id = ?",
        number,
    )
    assert audit == [{"actor": "operator:agent_a"}] * RESENDS_PER_HOUR
    html = await _html(agent, f"/desk/bookings/{number}", done="resent")
    assert f"已补发预约 {number} 的确认短信。" in html
    # an hour on, one more may go
    [row] = await table(services, "SELECT id FROM hospitals WHERE code = 'HA'")
    who = Actor("operator", "agent_a", row["id"], Channel.AGENT)
    with pytest.raises(LimitReached):
        await services.handle(ResendConfirmation(booking_no=number, actor=who))
    clock.advance(timedelta(hours=1, seconds=1))  # the window slides: the first three are older
    for _ in range(RESENDS_PER_HOUR):
        await services.handle(ResendConfirmation(booking_no=number, actor=who))
    with pytest.raises(LimitReached):
        await services.handle(ResendConfirmation(booking_no=number, actor=who))


async def test_a_cancelled_booking_is_not_texted_as_confirmed(agent, services, desk_world):
    number = await _book(agent, desk_world["li"])
    await agent.post(f"/desk/bookings/{number}/cancel", {"why": "other"})
    [row] = await table(services, "SELECT id FROM hospitals WHERE code = 'HA'")
    who = Actor("operator", "agent_a", row["id"], Channel.AGENT)
    with pytest.raises(InvalidState):
        await services.handle(ResendConfirmation(booking_no=number, actor=who))
    html = await _html(agent, f"/desk/bookings/{number}")
    assert "/resend" not in html


# --- the slip --------------------------------------------------------------------------------


async def test_the_booking_slip_has_what_the_patient_needs_masked(
    agent, browser, services, clock, desk_world
):
    number = await _book(agent, desk_world["li"])
    html = await _html(agent, f"/desk/bookings/{number}")
    assert f'href="/console/desk/bookings/{number}/slip?print=1" target="_blank"' in html
    status, body = await agent.get(f"/desk/bookings/{number}/slip")
    assert status == 200, body
    slip = body["slip"]
    assert slip["booking_no"] == number
    assert (slip["department"], slip["doctor"]) == ("骨科", "赵医生")
    assert (slip["day"], slip["start"], slip["end"]) == ("2026-07-12", "14:00", "14:30")
    assert slip["patient_name"] == "李**"
    assert slip["queue_no"] is None
    [hospital] = await table(services, "SELECT name FROM hospitals WHERE code = 'HA'")
    page = await _html(agent, f"/desk/bookings/{number}/slip", print="1")
    text = read_by_a_person(page)
    for seen in (hospital["name"], number, "骨科", "赵医生", "2026-07-12 14:00–14:30", "李**"):
        assert seen in text, seen
    assert "李小明" not in page
    assert "就诊序号" not in text
    assert re.search(r'<svg [^>]*class="qr"', page)  # the booking number as a QR code (segno)
    assert 'src="/console/static/slip.js"' in page
    assert "data-print-now" in page
    assert "<script>" not in page  # no inline script: the CSP allows none
    assert "data-print-now" not in await _html(agent, f"/desk/bookings/{number}/slip")
    async with agent.client.get("/console/static/slip.js") as resp:
        assert "window.print()" in await resp.text()
    # checked in on the day: the slip has the queue number
    clock.set(local(2026, 7, 12, 13, 0))
    await services.handle(bookings.CheckIn(booking_no=number))
    [row] = await table(services, "SELECT queue_no FROM bookings WHERE booking_no = ?", number)
    assert row["queue_no"] == 1
    agent = await browser()  # two days on: a new session
    await agent.sign_in("agent_a")
    status, body = await agent.get(f"/desk/bookings/{number}/slip")
    assert body["slip"]["queue_no"] == 1
    assert "就诊序号" in read_by_a_person(await _html(agent, f"/desk/bookings/{number}/slip"))


async def test_another_hospitals_slip_and_resend_are_not_found(agent, desk_world):
    theirs = desk_world["HB"]["booking"]
    assert (await agent.get(f"/desk/bookings/{theirs}/slip"))[0] == 404
    assert (await agent.post(f"/desk/bookings/{theirs}/resend"))[0] == 404
