"""``docs/events.md``, written from the code: the words of :mod:`.document_prose`, then for
every event type its docstring, topic and key, when it is emitted, its fields, its payload's
JSON Schema (:func:`.schema.payload_schema`) and an example payload (:mod:`.examples`);
the webhook section's example request is made by :mod:`.envelope`.

``python -m booking_core.events.document`` prints the page, ``--write`` writes it to
``docs/events.md`` and ``--check`` says whether the file is current (exit status 1 if not);
``tests/booking_core/events/test_document.py`` fails while it is not.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..kernel.actor import Channel
from .document_prose import AUDIT, ENVELOPE, GROUPS, INTRODUCTION, TITLE, WEBHOOKS, WHEN, Group
from .envelope import message_id, webhook_body, webhook_headers
from .examples import EXAMPLES
from .model import EVENT_TYPES, BookingCreated, BookingEvent, Event, OutboxEvent
from .schema import payload_rows, payload_schema

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "events.md"
COMMAND = "python -m booking_core.events.document --write"

EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""The Standard Webhooks specification's example secret: never one the engine made."""

EXAMPLE_EVENT_ID = 1042
EXAMPLE_RECORDED = datetime(2026, 7, 10, 2, 14, 5, tzinfo=UTC)  # 10:14:05 at the hospital
EXAMPLE_SENT = datetime(2026, 7, 10, 2, 14, 6, tzinfo=UTC)  # its first attempt, a second on
EXAMPLE_URL_HOST = "his.hospital.example"
EXAMPLE_URL_PATH = "/guahao/events"

BOOKING_FIELDS = "[the booking fields](#the-booking-fields)"


def render() -> str:
    """The whole page, as ``docs/events.md`` should hold it."""
    _check_groups()
    channels = ", ".join(f"`{c}`" for c in Channel)
    parts = [
        f"# {TITLE}",
        f"<!-- Written by `{COMMAND}` from booking_core/events/: "
        "edit the code (document_prose.py for the words), not this file. -->",
        INTRODUCTION,
        ENVELOPE.replace("{channels}", channels),
        WEBHOOKS.replace("{secret}", f"`{EXAMPLE_SECRET}`").replace(
            "{webhook_example}", webhook_example()
        ),
        AUDIT,
        _index(),
        *(_group(group) for group in GROUPS),
    ]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


def webhook_example() -> str:
    """The example request: the example :class:`BookingCreated` as the webhook sender
    POSTs it, signed with :data:`EXAMPLE_SECRET`."""
    example = EXAMPLES[BookingCreated]
    event = OutboxEvent(
        id=EXAMPLE_EVENT_ID,
        topic=example.topic,
        hospital_id=example.hospital_id,
        key=example.key,
        payload=example.payload(),
        created_at=EXAMPLE_RECORDED,
    )
    body = webhook_body(event, "H001")
    headers = webhook_headers(message_id(event.id), EXAMPLE_SENT, body, [EXAMPLE_SECRET])
    lines = [
        f"POST {EXAMPLE_URL_PATH} HTTP/1.1",
        f"Host: {EXAMPLE_URL_HOST}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
        "",
        body.decode(),
    ]
    return _fenced("http", "\n".join(lines))


def _check_groups() -> None:
    """Every event type in exactly one group and told of in WHEN, or the page is not made."""
    grouped = [t for group in GROUPS for t in group.types]
    missing = [t.__name__ for t in EVENT_TYPES.values() if t not in grouped]
    twice = sorted({t.__name__ for t in grouped if grouped.count(t) > 1})
    unknown = [t.__name__ for t in grouped if t not in EVENT_TYPES.values()]
    unsaid = [t.__name__ for t in EVENT_TYPES.values() if not WHEN.get(t, "").strip()]
    no_example = [t.__name__ for t in EVENT_TYPES.values() if t not in EXAMPLES]
    problems = {
        "in no group of GROUPS (document_prose.py)": missing,
        "in more than one group": twice,
        "grouped but not in EVENT_TYPES": unknown,
        "without a WHEN text (document_prose.py)": unsaid,
        "without an example (examples.py)": no_example,
    }
    said = [f"{what}: {', '.join(names)}" for what, names in problems.items() if names]
    if said:
        raise LookupError("docs/events.md cannot be written; event types " + "; ".join(said))


def _index() -> str:
    rows = [
        f"| `{t.topic}` | [{t.__name__}](#{t.__name__.lower()}) | `{t.key_field}` | {_summary(t)} |"
        for group in GROUPS
        for t in group.types
    ]
    return "\n".join(
        [
            "## The event types",
            "",
            "| Topic | Type | Key | What happened |",
            "|---|---|---|---|",
            *rows,
        ]
    )


def _group(group: Group) -> str:
    parts = [f"## {group.title}"]
    if group.introduction:
        parts.append(group.introduction)
    if group.booking_fields:
        parts += ["### The booking fields", _table(payload_rows(BookingEvent))]
    parts += [_section(t) for t in group.types]
    return "\n\n".join(parts)


def _section(event_type: type[Event]) -> str:
    booking = issubclass(event_type, BookingEvent)
    rows = payload_rows(event_type, own=booking)
    if booking and not rows:
        payload = [f"Payload: {BOOKING_FIELDS}."]
    else:
        payload = [f"Payload: {BOOKING_FIELDS}, then:" if booking else "Payload:", _table(rows)]
    schema = _json(payload_schema(event_type))
    return "\n\n".join(
        [
            f"### {event_type.__name__}",
            _docstring(event_type),
            f"Topic `{event_type.topic}`, key `{event_type.key_field}`.",
            WHEN[event_type],
            *payload,
            f"<details><summary>JSON Schema of the payload</summary>\n\n"
            f"{_fenced('json', schema)}\n\n</details>",
            "Example payload:",
            _fenced("json", _json(EXAMPLES[event_type].payload())),
        ]
    )


def _docstring(event_type: type[Event]) -> str:
    """The type's docstring, each paragraph on one line."""
    text = inspect.cleandoc(event_type.__doc__ or "")
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n"))


def _summary(event_type: type[Event]) -> str:
    return " ".join(inspect.cleandoc(event_type.__doc__ or "").split("\n\n")[0].split())


def _table(rows: Sequence[tuple[str, str, str]]) -> str:
    lines = ["| Field | Type | Meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {kind} | {meaning} |" for name, kind, meaning in rows]
    return "\n".join(lines)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _fenced(language: str, text: str) -> str:
    return f"```{language}\n{text}\n```"


def stale(path: Path = DOCUMENT) -> str | None:
    """None when ``path`` holds the page as the code writes it; else what differs (the
    first lines of a diff) and the command that writes it."""
    want = render()
    have = path.read_text(encoding="utf-8") if path.exists() else ""
    if have == want:
        return None
    diff = difflib.unified_diff(
        have.splitlines(),
        want.splitlines(),
        f"{path.name} (now)",
        f"{path.name} (the code's)",
        lineterm="",
    )
    shown = "\n".join(list(diff)[:40])
    return f"{path} is not what the code writes; run `{COMMAND}`\n{shown}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m booking_core.events.document",
        description="Print docs/events.md as the code writes it.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write it to {DOCUMENT}")
    mode.add_argument("--check", action="store_true", help="exit 1 if the file is not current")
    args = parser.parse_args(argv)
    if args.check:
        problem = stale()
        if problem:
            print(problem, file=sys.stderr)
            return 1
        return 0
    if args.write:
        DOCUMENT.write_text(render(), encoding="utf-8")
        return 0
    sys.stdout.buffer.write(render().encode())  # UTF-8 whatever the locale
    return 0


if __name__ == "__main__":
    sys.exit(main())
