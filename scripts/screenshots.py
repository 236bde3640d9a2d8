"""Screenshots of the agent's desk, for the README: the real engine, a small world, and
headless Chromium from the Debian package (never a downloaded browser).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Writes login.png, desk.png (callers waiting, live), search.png, patient.png (with the
call that was taken: screen pop, its choices pre-filling the booking form), slots.png
(the doctor's week above the free places), booked.png, slip.png (the booking slip to
print), quick_cancel.png (cancel from the record, with a reason), reschedule.png, refused.png,
wrap_up.png (the call's outcome and summary after it ended, 话后处理);
then the back office as a hospital admin: office_home.png, office_bookings.png (the booking
query), office_sessions.png (the week grid), office_stop.png (停诊 preview: three bookings
affected), office_reports.png, office_devices.png (the kiosks: devices, open jobs, money
waiting, reprint); then softphone.png: the desk with a call in progress on the agent's
softphone (#14), Twilio's Voice SDK replaced by the browser tests' recording stand-in
(tests/agent_console/browser/softphone_desk.py), since Twilio's cloud is not reached.

    .venv/bin/python scripts/screenshots.py --only softphone   # just that one
waiting, reprint), office_wallboard.png (the supervisor's wallboard, live).

and the registration of an unknown caller (#14): call_unknown.png, register.png,
register_refused.png, registered.png, search_family.png (``--only registration``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from booking_core.patients import RegisterPatient  # noqa: E402
from tests.agent_console.browser.live_desk import (  # noqa: E402
    LiveEngine,
    chromium_missing,
    go_available,
    launch,
    log_in,
    office_admin,
    office_hospital,
)
from tests.agent_console.browser.softphone_desk import STAND_IN, SoftphoneEngine  # noqa: E402
from tests.agent_console.desk.desk_world import transfer  # noqa: E402
from tests.agent_console.office.devices_world import hall  # noqa: E402
from tests.agent_console.office.live_world import busy_morning  # noqa: E402
from tests.support.world import resident_id  # noqa: E402


def take(page, out: Path, name: str) -> None:
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"wrote {out / name}.png")


def office(browser, engine: LiveEngine, out: Path) -> None:
    """The back office's main screens, as the admin of a hospital of their own."""
    hc = office_hospital(engine, "HC")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
    page = context.new_page()
    log_in(page, engine.url, "hadmin_demo", code=office_admin(engine, "hadmin_demo", "HC"))
    screens = (
        ("office_home", "office"),
        ("office_bookings", "office/bookings"),
        ("office_sessions", "office/sessions"),
        ("office_stop", f"office/sessions/{hc.stopped_session}/stop"),
        ("office_reports", "office/reports"),
    )
    for name, path in screens:
        page.goto(f"{engine.url}/console/{path}")
        take(page, out, name)
    context.close()


def devices(browser, engine: LiveEngine, out: Path) -> None:
    """The devices screen (设备) of a hall with two kiosks, one busy, as its hospital's admin."""
    engine.call(hall(engine.services, "HK", engine.clock))
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
    page = context.new_page()
    log_in(page, engine.url, "hadmin_hall", code=office_admin(engine, "hadmin_hall", "HK"))
    page.goto(f"{engine.url}/console/office/devices")
    take(page, out, "office_devices")
    context.close()


def softphone(browser, folder: Path, out: Path) -> None:
    """The desk with a call taken and accepted, 1:07 into it, muted."""
    engine = SoftphoneEngine(str(folder / "softphone.db")).start()
    try:
        engine.twilio.add_call("CA-demo-3")
        context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
        page = context.new_page()
        page.add_init_script(STAND_IN)
        page.clock.install(time="2026-07-10T08:00:00+08:00")
        log_in(page, engine.url, "agent_a")
        page.goto(f"{engine.url}/console/desk")
        go_available(page)  # 置闲: offered callers
        page.locator('#softphone[data-state="sp_ready"]').wait_for()
        li = engine.world["li"]
        engine.call(
            transfer(
                engine.services,
                "HA",
                "CA-demo-3",
                caller="13812345678",
                reason="asked",
                step="book.doctor",
                digits="00901",
                patient_id=li,
                patient_name="李小明",
            )
        )
        engine.call(transfer(engine.services, "HA", "CA-demo-4", caller="13611112222"))
        page.locator('tr[data-call="CA-demo-4"]').wait_for()
        page.keyboard.press("t")
        page.keyboard.press("Enter")
        page.wait_for_function("() => window.__softphone.devices[0].connects.length === 1")
        page.locator("tr.why-not.state-busy").wait_for()  # on a call: no caller offered
        page.clock.pause_at("2026-07-10T09:00:00+08:00")
        page.evaluate("window.__softphone.calls[0].emit('accept')")
        page.clock.run_for("01:07")
        page.keyboard.press("m")
        page.locator('#softphone[data-state="sp_muted"]').wait_for()
        take(page, out, "softphone")
        context.close()
    finally:
        engine.stop()


def wallboard(browser, engine: LiveEngine, out: Path) -> None:
    """The supervisor's wallboard (坐席监控大屏) of a busy morning, once its stream has
    sent the tiles (the page then counts the longest wait on by itself)."""
    office_hospital(engine, "HW")  # four bookings made today, one per channel
    engine.call(busy_morning(engine.services, engine.clock, "HW"))
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
    page = context.new_page()
    log_in(page, engine.url, "hadmin_wall", code=office_admin(engine, "hadmin_wall", "HW"))
    page.goto(f"{engine.url}/console/office/wallboard")
    page.locator("#wallboard[data-updated]").wait_for()
    take(page, out, "office_wallboard")


def _wrong_check_digit(id_number: str) -> str:
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


def registration(browser, engine: LiveEngine, out: Path) -> None:
    """An unknown caller registered at the desk (#14): the call page's Register button, the
    form pre-filled from the call, a mistake shown in words, the new record; a family's
    search results told apart; the phone change form."""
    engine.call(
        transfer(
            engine.services,
            "HA",
            "CA-demo-new",
            caller="13733334444",
            reason="not_registered",
            step="identify",
        )
    )
    for name, birth in (("冯建国", "19880101"), ("冯卫国", "19620101")):
        engine.call(
            engine.services.handle(
                RegisterPatient(
                    hospital_code="HA",
                    name=name,
                    id_number=resident_id(800 + int(birth[2]), birth=birth),
                    phone="13655556666",
                )
            )
        )
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
    page = context.new_page()
    log_in(page, engine.url, "agent_a")
    page.goto(f"{engine.url}/console/desk/calls/CA-demo-new")
    page.locator("button[data-shortcut=take]").click()
    page.wait_for_url(re.compile(r"/desk/calls/CA-demo-new$"))
    take(page, out, "call_unknown")
    page.locator("a.register").click()
    page.wait_for_url(re.compile(r"/desk/patients/new\?call="))
    page.fill("input[name=name]", "王小紅")
    page.fill("input[name=id_number]", _wrong_check_digit(resident_id(900)))
    take(page, out, "register")
    page.locator("form.registration button").click()
    page.wait_for_load_state("load")
    if page.locator(".field-error").count():
        take(page, out, "register_refused")
    page.fill("input[name=id_number]", resident_id(900))
    page.locator("form.registration button").click()
    page.wait_for_url(re.compile(r"/desk/patients/\d+\?call=CA-demo-new"))
    take(page, out, "registered")
    page.fill("input[name=q]", "13655556666")  # a family's phone: posted, listed at ?s=
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/desk/patients\?s="))
    take(page, out, "search_family")
    context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument(
        "--only", choices=["softphone", "registration"], help="take only these screens"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    missing = chromium_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    if args.only == "softphone":
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                softphone(browser, Path(tmp), out)
            finally:
                browser.close()
        return 0
    if args.only == "registration":
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
            engine = LiveEngine(str(Path(tmp) / "guahao.db")).start()
            browser = launch(playwright)
            try:
                registration(browser, engine, out)
            finally:
                browser.close()
                engine.stop()
        return 0
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        engine = LiveEngine(str(Path(tmp) / "guahao.db")).start()
        browser = launch(playwright)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
            page = context.new_page()
            page.goto(f"{engine.url}/console/login")
            take(page, out, "login")
            log_in(page, engine.url, "agent_a")
            page.goto(f"{engine.url}/console/desk")
            page.click('#agent-state button[value="available"]')  # 置闲: offered callers
            page.wait_for_selector("#agent-state.state-available")
            li = engine.world["li"]
            engine.call(
                transfer(
                    engine.services,
                    "HA",
                    "CA-demo-1",
                    caller="13812345678",
                    reason="asked",
                    step="book_date",
                    digits="0",
                    patient_id=li,
                    patient_name="李小明",
                    department="102",
                    doctor="00901",
                )
            )
            engine.call(
                transfer(
                    engine.services,
                    "HA",
                    "CA-demo-2",
                    caller="13611112222",
                    reason="wrong_input",
                    step="book_patient",
                    digits="4711",
                )
            )
            page.goto(f"{engine.url}/console/desk")
            page.locator('tr[data-call="CA-demo-2"]').wait_for()
            take(page, out, "desk")
            page.goto(f"{engine.url}/console/desk/patients?q=李&one=list")
            take(page, out, "search")
            page.goto(f"{engine.url}/console/desk")
            page.keyboard.press("t")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"\?call=CA-demo-1"))
            take(page, out, "patient")
            page.goto(f"{engine.url}/console/desk/patients/{li}/slots?department=102&doctor=00901")
            take(page, out, "slots")  # the doctor's week above the free places
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"done=booked"))
            take(page, out, "booked")
            number = page.locator(".booking-no").inner_text()
            page.goto(f"{engine.url}/console/desk/bookings/{number}/slip")
            take(page, out, "slip")
            page.goto(f"{engine.url}/console/desk/patients/{li}")
            page.locator(f'tr[data-booking="{number}"] summary').click()
            take(page, out, "quick_cancel")
            page.goto(f"{engine.url}/console/desk/bookings/{number}")
            page.keyboard.press("b")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/slots"))
            take(page, out, "reschedule")
            page.goto(f"{engine.url}/console/desk/patients/{li}/slots?department=102")
            page.keyboard.press("Enter")  # the same patient twice on one day: a kind refusal
            page.wait_for_load_state("load")
            take(page, out, "refused")
            page.click('#agent-state button:has-text("结束通话")')  # end the call: wrap-up
            page.wait_for_url(re.compile(r"/wrap-up$"))
            page.check('input[name="disposition"][value="booked"]')
            page.fill('textarea[name="summary"]', "来电预约骨科赵医生，已约成功并短信通知。")
            take(page, out, "wrap_up")
            context.close()
            office(browser, engine, out)
            devices(browser, engine, out)
            registration(browser, engine, out)
            softphone(browser, Path(tmp), out)
            wallboard(browser, engine, out)
        finally:
            browser.close()
            engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
