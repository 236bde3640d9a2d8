"""``docs/rules.md``'s table of rules, written from the code: for every rule record its
Chinese and English name and explanation (the rules screen's words), its platform default,
and for each refusal it gives (:data:`booking_core.rules.REFUSALS`) what every door says, each
door's own words rendered from its own catalogue with an example: the phone line (IVR), a
text (SMS), the agent console, the API (problem+json) and the kiosk screen.

Only the part between the markers is written; the sections around it are prose kept by hand.
``python -m engine.rules_doc --write`` rewrites it, ``--check`` exits 1 while it is stale;
``tests/engine/test_rules_doc.py`` fails while it is not current.

It lives in the engine because it reads every door's catalogue (doors never import each other).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from agent_console.i18n_office import MESSAGES as OFFICE
from agent_console.refusals import refusal
from booking_core.kernel import errors
from booking_core.rules import PLATFORM_DEFAULTS, REFUSALS, Rule, RuleKey
from hardware.hall.wording import error_message as kiosk_words
from hospital_api.problems import from_domain
from ivr.prompts import Catalogue as Prompts
from sms.replies import Replies

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
COMMAND = "python -m engine.rules_doc --write"
BEGIN = f"<!-- the rules table: written by `{COMMAND}`, do not edit by hand -->"
END = "<!-- end of the rules table -->"

TZ = ZoneInfo("Asia/Shanghai")
WHEN = datetime(2026, 7, 20, 7, 30, tzinfo=TZ)  # an example instant, hospital-local

SAMPLES: dict[str, tuple[errors.GuahaoError, ...]] = {
    "real_name_mismatch": (errors.RealNameMismatch(),),
    "invalid_id_number": (errors.InvalidIdNumber(reason="checksum"),),
    "outside_window": (errors.OutsideBookingWindow(opens_at=WHEN),),
    "booking_closed": (errors.BookingClosed(closed_at=WHEN),),
    "cancel_deadline_passed": (errors.CancelDeadlinePassed(deadline=WHEN),),
    "reschedule_deadline_passed": (errors.RescheduleDeadlinePassed(deadline=WHEN),),
    "blacklisted": tuple(
        errors.Blacklisted(until=datetime(2026, 10, 18, tzinfo=TZ), reason="", source=source)
        for source in ("no_show", "credit", "admin")
    ),
    "no_ban_to_appeal": (errors.NoBanToAppeal(patient_id=1),),
    "appeal_pending": (errors.AppealPending(appeal_id=7, filed_at=WHEN),),
    "not_eligible": (
        errors.NotEligible(reason="age_under", department="儿科", limit=14),
        errors.NotEligible(reason="age_from", department="老年科", limit=60),
        errors.NotEligible(reason="sex", department="产科", limit="F"),
        errors.NotEligible(reason="id_required", department="心内科", limit=""),
    ),
    "day_closed": (
        errors.DayClosed(day=date(2026, 10, 1), reason="holiday", name="国庆节"),
        errors.DayClosed(day=date(2026, 10, 11), reason="weekend", name=""),
        errors.DayClosed(day=date(2026, 7, 24), reason="hospital", name="院庆"),
    ),
    "closed_hours": (errors.BookingHoursClosed(opens_at=WHEN.replace(hour=6, minute=30)),),
    "invalid_state": (errors.InvalidState(status="hold_expired", action="pay"),),
    "channel_full": (errors.ChannelFull(slot_id=31, channel="sms"),),
    "waitlist_not_needed": (errors.WaitlistNotNeeded(session_id=4, free=2),),
    "already_waiting": (errors.AlreadyWaiting(session_id=4, position=3),),
    "waitlist_closed": (
        errors.WaitlistClosed(session_id=4, reason="closed", closed_at=WHEN),
        errors.WaitlistClosed(session_id=4, reason="off"),
    ),
    "extra_places_exhausted": (errors.ExtraPlacesExhausted(session_id=4, added=5, limit=5),),
    "queued": (errors.Queued(draw_at=WHEN.replace(second=10)),),
    "already_queued": (errors.AlreadyQueued(draw_at=WHEN.replace(second=10)),),
}
"""An example of each refusal code, worded by every door for the table. A rule's refusal
with a code missing here fails the document test: add its example."""


ONLY_AT: dict[RuleKey, frozenset[str]] = {
    RuleKey.SMS_REGISTRATIONS_PER_DAY: frozenset({"SMS"}),
    RuleKey.IVR_LOOKUPS_PER_HOUR: frozenset({"IVR"}),
}
"""Rules that refuse at one door only (a text's code, a caller typing numbers): the table
shows that door's words, not what the others would say of a refusal they never give."""

SPECIAL_PROMPTS = {RuleKey.IVR_LOOKUPS_PER_HOUR: "lookup_limit"}
"""The phone line's own prompt for a refusal it words apart (``ivr.flow.menu``: the caller
is passed to a person)."""


def samples(key: RuleKey, code: str) -> tuple[errors.GuahaoError, ...]:
    """The example refusals of ``code`` for rule ``key`` (a limit names its rule; one per
    reason where the doors word each reason apart)."""
    if code == "limit_reached":
        return (errors.LimitReached(rule=str(key), limit=_limit_of(key)),)
    return SAMPLES[code]


def _limit_of(key: RuleKey) -> int:
    value = _default(key).value
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _default(key: RuleKey) -> Rule:
    return next(rule for rule in PLATFORM_DEFAULTS if rule.key is key)


def _shown(rule: Rule) -> str:
    value = json.dumps(rule.value, ensure_ascii=False)
    if rule.period_type is not None:
        value += f" per {rule.period_value} {rule.period_type}"
    return value if rule.enabled else f"{value} (off)"


@cache
def _catalogues() -> tuple[Prompts, Replies]:
    return Prompts(), Replies()  # compiling every template takes a while: once


def door_words(key: RuleKey, err: errors.GuahaoError) -> list[tuple[str, str]]:
    """(door, words) for one refusal of rule ``key``, as each door that gives it says it."""
    prompts, replies = _catalogues()
    problem = json.loads(from_domain(err).body)  # type: ignore[arg-type]
    prompt = SPECIAL_PROMPTS.get(key, f"error.{err.code}")
    out = []
    for lang in ("zh", "en"):
        out.append((f"IVR ({lang})", prompts.say(lang, prompt, dict(err.params))))
    for lang in ("zh", "en"):
        out.append((f"SMS ({lang})", replies.error(err, lang=lang, timezone=str(TZ))))
    for lang in ("zh", "en"):
        out.append((f"console ({lang})", refusal(err, lang)[0]))
    out.append(("API", f"{problem['status']} {problem['title']}: {problem['detail']}"))
    out.append(("kiosk", kiosk_words(err, str(TZ))))
    doors = ONLY_AT.get(key)
    return [(door, words) for door, words in out if doors is None or door.split()[0] in doors]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table() -> str:
    lines = [
        BEGIN,
        "",
        "| rule (key) | 规则 | what it does | default |",
        "|---|---|---|---|",
    ]
    for key in RuleKey:
        zh, en = OFFICE["zh"], OFFICE["en"]
        lines.append(
            f"| {_cell(en[f'rule_{key}'])} (`{key}`) | {_cell(zh[f'rule_{key}'])} | "
            f"{_cell(en[f'rule_{key}_help'])}<br>{_cell(zh[f'rule_{key}_help'])} | "
            f"`{_cell(_shown(_default(key)))}` |"
        )
    lines += ["", "### What each door says when a rule refuses", ""]
    seen: set[tuple[str, str]] = set()
    for key in RuleKey:
        for code in REFUSALS.get(key, ()):
            for err in samples(key, code):
                shown = (code, json.dumps(err.params, default=str, sort_keys=True))
                if shown in seen:
                    continue
                seen.add(shown)
                rules = ", ".join(f"`{k}`" for k, codes in REFUSALS.items() if code in codes)
                if code == "limit_reached":
                    rules = f"`{key}`"
                reason = f", {err.params['reason']}" if "reason" in err.params else ""
                lines += [f"#### `{code}`{reason} ({rules})", "", "| door | words |", "|---|---|"]
                lines += [f"| {door} | {_cell(words)} |" for door, words in door_words(key, err)]
                lines.append("")
    lines.append(END)
    return "\n".join(lines)


def render(current: str) -> str:
    """``current`` with the table between the markers written afresh (appended if absent)."""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + table() + tail
    return current.rstrip("\n") + "\n\n## Every rule\n\n" + table() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT}")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    current = DOCUMENT.read_text("utf-8") if DOCUMENT.exists() else ""
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(f"{DOCUMENT} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if args.write:
        DOCUMENT.write_text(wanted, "utf-8")
        return 0
    sys.stdout.write(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
