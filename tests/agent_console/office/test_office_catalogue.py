"""The back office's catalogue: both languages have the same keys and placeholders, and
every word a template or view asks for exists (a missing one would show its key)."""

from __future__ import annotations

import re
import string
from pathlib import Path

from agent_console import i18n
from agent_console.i18n_devices import DEVICES, JOB_REASONS, OFFLINE_REASONS, STATES
from agent_console.i18n_office import MESSAGES, office_text
from agent_console.views.office.devices import DONE_WORDS
from agent_console.views.office.index import SCREENS
from agent_console.views.office.reports import CHARTS
from booking_core.blacklist import BanSource
from booking_core.bookings import BookingStatus
from booking_core.complaints import ComplaintStatus
from booking_core.events.audit import AuditAction
from booking_core.kernel.actor import Channel
from booking_core.kiosks import JobKind, JobStatus
from booking_core.rules import DayKind, RuleKey
from booking_core.schedule import Period

OFFICE = Path(i18n.__file__).parent / "templates" / "office"
LITERAL_KEY = re.compile(r"""\bo\('([a-z_]+)'[,)]""")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys_and_placeholders():
    zh, en = MESSAGES["zh"], MESSAGES["en"]
    assert set(zh) == set(en)
    for key in zh:
        assert _fields(zh[key]) == _fields(en[key]), key


def _known(key: str) -> bool:
    return all(key in MESSAGES[lang] or key in i18n.MESSAGES[lang] for lang in MESSAGES)


def test_every_literal_key_in_the_templates_is_worded():
    used = {key for path in OFFICE.glob("*.html") for key in LITERAL_KEY.findall(path.read_text())}
    assert used, "the pattern found nothing"
    assert sorted(key for key in used if not _known(key)) == []


def test_every_composed_key_is_worded():
    keys = (
        [f"channel_{c}" for c in Channel]
        + [f"status_{s}" for s in (*BookingStatus, "open", "stopped")]
        + [f"period_{p}" for p in Period]
        + [f"rule_{k}" for k in RuleKey]
        + [f"rule_{k}_help" for k in RuleKey]  # each rule explained on the rules screen
        + [f"day_kind_{k}" for k in (DayKind.HOLIDAY, DayKind.ADJUSTED_WORKDAY)]  # 节假日表
        + [f"complaint_{s}" for s in ComplaintStatus]
        + [f"report_{name}" for name in (*CHARTS, "slot_use", "no_show_rate")]
        + [f"source_{s}" for s in ("default", "platform", "hospital")]
        + [f"source_{s}" for s in BanSource]  # who banned (the blacklist screen)
        + [f"history_{a}" for a in AuditAction if a.startswith("complaint.")]
        + [label for _, label, _ in SCREENS]
        + ["session_stopped", "saved"]
        + [f"device_{d}" for d in DEVICES]
        + [f"state_{s}" for s in STATES]
        + [f"job_{k}" for k in (*JobKind, *JobStatus)]
        + [f"reason_{r}" for r in JOB_REASONS]
        + [f"offline_{r}" for r in OFFLINE_REASONS]
        + [f"kiosk_{s}" for s in ("online", "offline", "never_seen", "disabled")]
        + [*DONE_WORDS.values(), "kiosk_registered", "kiosk_password_reset", "kiosk_is_disabled"]
    )
    assert sorted(key for key in keys if not _known(key)) == []  # here or the console's


def test_lookup_falls_back_to_the_console_and_fills_placeholders():
    assert office_text("zh", "rows_found", total=3) == "共 3 条"
    assert office_text("en", "rows_found", total=3) == "3 found"
    assert office_text("en", "not_found") == i18n.translate("en", "not_found")
    assert office_text("fr", "booking_query") == "预约查询"
