"""The events as a contract: each type's payload as JSON Schema (made by pydantic from the
dataclass) and as the rows of its table in ``docs/events.md``.

``python -m booking_core.events.schema`` prints every payload's schema by topic.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from pydantic import TypeAdapter

from .model import EVENT_TYPES, BookingEvent, Event, payload_fields


def payload_schema(event_type: type[Event]) -> dict[str, Any]:
    """The JSON Schema of ``event_type``'s payload, each property with its meaning."""
    schema = TypeAdapter(event_type).json_schema()
    docs = {f.name: f.metadata["doc"] for f in fields(event_type)}
    properties = {}
    for name in payload_fields(event_type):
        prop = dict(schema["properties"][name])
        prop.pop("title", None)
        properties[name] = {**prop, "description": docs[name]}
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event_type.__name__,
        "description": _first_paragraph(event_type.__doc__ or ""),
        "x-topic": getattr(event_type, "topic", None),  # None: the booking events' shared part
        "x-key": event_type.key_field,
        "type": "object",
        "properties": properties,
        "required": [n for n in schema.get("required", []) if n != "hospital_id"],
    }
    if "$defs" in schema:
        out["$defs"] = schema["$defs"]
    return out


def json_schemas() -> dict[str, dict[str, Any]]:
    """Every event's payload schema, by topic."""
    return {topic: payload_schema(t) for topic, t in EVENT_TYPES.items()}


def payload_rows(event_type: type[Event], *, own: bool = False) -> list[tuple[str, str, str]]:
    """(field, JSON type, meaning) for each payload field, as ``docs/events.md`` lists them;
    ``own``: only the fields a booking event adds to :class:`BookingEvent`'s."""
    schema = payload_schema(event_type)
    shared = set(payload_fields(BookingEvent)) if own else set()
    return [
        (name, _type_name(prop), prop["description"])
        for name, prop in schema["properties"].items()
        if name not in shared
    ]


def _type_name(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_type_name(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1].lower()  # a vocabulary docs/events.md lists
    if "format" in prop:
        return prop["format"]  # date, date-time
    return prop.get("type", "any")


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


if __name__ == "__main__":
    print(json.dumps(json_schemas(), ensure_ascii=False, indent=2))
