"""Search parameters and searchset Bundles.

Parameters are strict: one this door does not know is refused (400) rather than ignored,
so a search is never silently broader than asked. ``_count`` is 1 to :data:`MAX_COUNT`;
a page that is not the last has a ``next`` link (``_cursor``, the last id served), and
``total`` is given only on a complete answer: no list is silently cut. Dates are
``YYYY-MM-DD`` or a dateTime (hospital-local when it has no offset), after an optional
prefix ``eq``, ``ge``, ``gt``, ``le``, ``lt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiMapping
from yarl import URL

from booking_core.schedule import FEED_PAGE_MAX

from .keys import SETTINGS
from .outcome import invalid

PREFIX = "/fhir/R4"
MAX_COUNT = FEED_PAGE_MAX
DEFAULT_COUNT = 50
MAX_ID = 2**63 - 1
PAGING = frozenset({"_count", "_cursor"})

_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits: str.isdigit() takes ² and ١ too
_COUNT = re.compile(r"[0-9]{1,6}")
_BOOKING_NO = re.compile(r"[0-9]{9}")
_DATE = re.compile(
    r"(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2})(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?", re.ASCII
)
_ONE_SECOND = timedelta(seconds=1)
# a clinic's calendar: far enough either way, and never near datetime's own limits
MIN_YEAR, MAX_YEAR = 1900, 2999


def base_url(request: web.Request) -> str:
    public = request.app[SETTINGS].public_url.rstrip("/")
    origin = public or f"{request.scheme}://{request.host}"
    return origin + PREFIX


def plain_text(value: str) -> bool:
    """No control character and no lone surrogate: nothing a store refuses (PostgreSQL
    takes no NUL) or a log line should carry."""
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def check_known(query: MultiMapping[str], allowed: Iterable[str]) -> None:
    """Only ``allowed`` parameters, each of plain text."""
    known = set(allowed)
    for name, value in query.items():
        if name in known and not plain_text(value):
            raise invalid("invalid_value", f"{name} holds a control character.", name)
        if name not in known:
            raise invalid(
                "unknown_parameter",
                f"Unknown search parameter {name!r}; this search takes "
                f"{', '.join(sorted(known)) or 'none'}.",
                name,
            )


def single(query: MultiMapping[str], name: str) -> str | None:
    values = query.getall(name, [])
    if len(values) > 1:
        raise invalid("repeated_parameter", f"Give {name} once.", name)
    return values[0] if values else None


def count(query: MultiMapping[str]) -> int:
    raw = single(query, "_count")
    if raw is None:
        return DEFAULT_COUNT
    if not _COUNT.fullmatch(raw) or not 1 <= int(raw) <= MAX_COUNT:
        raise invalid("invalid_count", f"_count must be a whole number 1 to {MAX_COUNT}.", "_count")
    return int(raw)


def cursor(query: MultiMapping[str]) -> int:
    raw = single(query, "_cursor")
    if raw is None:
        return 0
    if not _ID.fullmatch(raw):
        raise invalid("invalid_cursor", "_cursor is the value of a next link.", "_cursor")
    return int(raw)


def resource_id(text: str) -> int | None:
    """A numeric resource id, or None when ``text`` cannot be one (so: not found)."""
    if not _ID.fullmatch(text) or int(text) > MAX_ID:
        return None
    return int(text)


def booking_no(text: str) -> str | None:
    """An Appointment id (a booking number, 预约号: 9 digits), or None when it cannot be."""
    return text if _BOOKING_NO.fullmatch(text) else None


def reference(value: str, kind: str, name: str) -> int:
    """``Kind/123`` or ``123`` (a search on a reference), as an id."""
    key = value.removeprefix(f"{kind}/")
    found = resource_id(key)
    if found is None:
        raise invalid("invalid_reference", f"{name} is {kind}/<id>.", name)
    return found


def token(value: str) -> tuple[str | None, str]:
    """``system|code`` or ``code``."""
    system, bar, code = value.rpartition("|")
    return (system or None) if bar else None, code


@dataclass(frozen=True, slots=True)
class Bounds:
    """Inclusive bounds on an instant (whole seconds); None: open."""

    lower: datetime | None = None
    upper: datetime | None = None

    def days(self, tz: ZoneInfo) -> tuple[date | None, date | None]:
        lo = self.lower.astimezone(tz).date() if self.lower else None
        hi = self.upper.astimezone(tz).date() if self.upper else None
        return lo, hi

    def holds(self, at: datetime) -> bool:
        return (self.lower is None or at >= self.lower) and (self.upper is None or at <= self.upper)


def _tighter(a: datetime | None, b: datetime, pick: Any) -> datetime:
    return b if a is None else pick(a, b)


def dates(query: MultiMapping[str], name: str, tz: ZoneInfo) -> Bounds:
    """Every value of ``name`` ANDed into one pair of bounds."""
    lower: datetime | None = None
    upper: datetime | None = None
    for raw in query.getall(name, []):
        m = _DATE.fullmatch(raw)
        if m is None:
            raise invalid(
                "invalid_date",
                f"{name}: {raw!r} is not [eq|ge|gt|le|lt]YYYY-MM-DD[Thh:mm:ss[+hh:mm]].",
                name,
            )
        prefix, day_text, clock = m.group(1) or "eq", m.group(2), m.group(3)
        if not MIN_YEAR <= int(day_text[:4]) <= MAX_YEAR:
            raise invalid("invalid_date", f"{name}: years {MIN_YEAR} to {MAX_YEAR} only.", name)
        try:
            day = date.fromisoformat(day_text)
            if clock:
                start = datetime.fromisoformat(day_text + clock.replace("Z", "+00:00"))
                if start.tzinfo is None:
                    start = start.replace(tzinfo=tz)
                end = start
            else:
                start = datetime.combine(day, time(0), tzinfo=tz)
                end = start + timedelta(days=1) - _ONE_SECOND
        except ValueError as err:
            raise invalid("invalid_date", f"{name}: {raw!r} is no such date.", name) from err
        if prefix in ("eq", "ge"):
            lower = _tighter(lower, start, max)
        if prefix == "gt":
            lower = _tighter(lower, end + _ONE_SECOND, max)
        if prefix in ("eq", "le"):
            upper = _tighter(upper, end, min)
        if prefix == "lt":
            upper = _tighter(upper, start - _ONE_SECOND, min)
    return Bounds(lower, upper)


def entry(base: str, resource: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"resource": resource, "search": {"mode": "match"}}
    if "id" in resource:
        out["fullUrl"] = f"{base}/{resource['resourceType']}/{resource['id']}"
    return out


def searchset(
    request: web.Request, resources: list[dict[str, Any]], next_cursor: int | None = None
) -> dict[str, Any]:
    """A searchset of ``resources``; ``next_cursor`` (the last id served) when there is more."""
    base = base_url(request)
    here = URL(base + request.path.removeprefix(PREFIX)).with_query(request.query)
    links = [{"relation": "self", "url": str(here)}]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if next_cursor is not None:
        links.append(
            {"relation": "next", "url": str(here.update_query({"_cursor": str(next_cursor)}))}
        )
    elif "_cursor" not in request.query:  # the whole answer on its first page
        bundle["total"] = len(resources)
    bundle["link"] = links
    bundle["entry"] = [entry(base, r) for r in resources]
    return bundle


def page(found: list[Any], limit: int, key: Any) -> tuple[list[Any], int | None]:
    """``found`` was read with ``limit + 1``: the page, and the cursor when there is more."""
    if len(found) > limit:
        kept = found[:limit]
        return kept, key(kept[-1])
    return found, None
