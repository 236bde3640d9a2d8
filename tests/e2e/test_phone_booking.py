"""``guahao phone`` end to end, as a newcomer runs it: ``guahao demo`` builds its folder,
the engine serves it as a real process, and ``guahao phone --from 13800130001`` (the real
command line, keys on stdin, no other flag: it finds the demo's settings and token) books
张三 a place. The booking it heard read out is in the store afterwards."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from booking_core import bookings
from booking_core.bookings import BookingStatus
from booking_core.bus import bootstrap
from booking_core.kernel.actor import SYSTEM, Channel
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.kernel.unit import one
from booking_core.store import make_store
from tests.support.engine_process import EngineProcess

ROOT = Path(__file__).resolve().parents[2]
DIGITS = "零一二三四五六七八九"
TIMEOUT_SECONDS = 60


def _cli(args: list[str], cwd: Path, stdin: str = "", env: dict | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUAHAO_")}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean | (env or {}),
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def _spoken_number(text: str, after: str) -> str:
    """The digits read out (一，二，…) after ``after``."""
    found = re.search(re.escape(after) + "([零一二三四五六七八九，]+)", text)
    assert found, text
    return "".join(str(DIGITS.index(ch)) for ch in found.group(1) if ch in DIGITS)


def _booking(db: str, key: str, booking_no: str):
    async def read():
        store = make_store(db, SystemClock())
        await store.open()
        try:
            services = bootstrap(store, Cipher.from_base64(key))
            view = await services.read(bookings.get_booking, booking_no, SYSTEM)

            def caller_of(tx):
                return (yield one("SELECT booked, result FROM calls ORDER BY id DESC LIMIT 1"))

            call = await store.read(caller_of)
            return view, call
        finally:
            await store.close()

    return asyncio.run(read())


def test_guahao_phone_books_a_place_on_the_demo(tmp_path):
    made = _cli(["demo", "--dir", ".demo", "--port", "0"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / ".demo"
    card = re.search(r"张三\s+(\d+)\s+13800130001", made.stdout).group(1)
    settings = tomllib.loads((folder / "guahao.toml").read_text())
    key = (folder / "pii.key").read_text().strip()
    engine = EngineProcess(
        db=str(folder / "guahao.db"),
        pii_key=key,
        log_path=tmp_path / "engine.log",
        port=settings["port"],
        env={
            "GUAHAO_TWILIO_AUTH_TOKEN_FILE": str(folder / "twilio_auth_token"),
            "GUAHAO_PUBLIC_URL": settings["public_url"],
        },
    )
    engine.start()
    try:
        tomorrow = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
        keys = ["1", f"{card}#", "101#", "00868#", f"{tomorrow:%m%d}#", "0830#", "1", ""]
        call = _cli(["phone", "--from", "13800130001"], cwd=tmp_path, stdin="\n".join(keys) + "\n")
    finally:
        engine.stop()
    assert call.returncode == 0, call.stderr + engine.log_tail()
    heard = call.stdout
    assert re.search(r"张(先生|女士)，您好", heard), heard  # never a masked name said aloud
    assert "张*" not in heard
    assert "上午8点30分，心血管内科，张建国主任医师" in heard
    booking_no = _spoken_number(heard, "您的预约号是：")
    assert _spoken_number(heard, "再说一遍，预约号：") == booking_no
    assert "[no input]" in heard  # the last, empty line: silence at the main menu
    assert "you hung up" in heard  # end of input

    view, record = _booking(str(folder / "guahao.db"), key, booking_no)
    b = view.booking
    assert b.booking_no == booking_no
    assert (b.status, b.channel, b.day) == (BookingStatus.CONFIRMED, Channel.IVR, tomorrow)
    assert view.start.strftime("%H%M") == "0830"
    assert view.doctor_name == "张建国"
    assert (record["booked"], record["result"]) == (1, "booked")  # the status callback came
