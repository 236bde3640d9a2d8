"""Screenshots of the agent's desk, for the README: the real engine, a small world, and
headless Chromium from the Debian package (never a downloaded browser).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Writes login.png, desk.png (callers waiting, live), search.png, patient.png (with the
call that was taken: screen pop, its choices pre-filling the booking form), slots.png
(the doctor's week above the free places), booked.png, slip.png (the booking slip to
print), quick_cancel.png (cancel from the record, with a reason), reschedule.png, refused.png;
then the back office as a hospital admin: office_home.png, office_bookings.png (the booking
query), office_sessions.png (the week grid), office_stop.png (停诊 preview: three bookings
affected), office_reports.png, office_devices.png (the kiosks: devices, open jobs, money
waiting, reprint).
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

from tests.agent_console.browser.live_desk import (  # noqa: E402
    LiveEngine,
    chromium_missing,
    launch,
    log_in,
    office_admin,
    office_hospital,
)
from tests.agent_console.desk.desk_world import transfer  # noqa: E402
from tests.agent_console.office.devices_world import hall  # noqa: E402


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    missing = chromium_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        engine = LiveEngine(str(Path(tmp) / "guahao.db")).start()
        browser = launch(playwright)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
            page = context.new_page()
            page.goto(f"{engine.url}/console/login")
            take(page, out, "login")
            log_in(page, engine.url, "agent_a")
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
            context.close()
            office(browser, engine, out)
            devices(browser, engine, out)
        finally:
            browser.close()
            engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
