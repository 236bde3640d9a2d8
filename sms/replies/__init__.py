"""Reply and notice catalogues (短信话术): one TOML file per language whose values are
jinja2 templates, keyed by what happened.

- ``error.<code>``: every :class:`~booking_core.errors.GuahaoError` code;
- ``parse.<code>``: every :class:`~sms.commands.ParseError` code (followed by ``parse.format``
  quoting the command's right format);
- ``reply.*``: the answers to commands; ``notice.<kind>``: the notices we send first;
- ``status.*``, ``pay``, ``list.*``: pieces the others are built from.

jinja2 rather than ``str.format``: the wording's conditions (held or paid, which limit, why
a booking was cancelled) stay in the catalogue next to the words, a missing parameter fails
loudly (``StrictUndefined``) in the completeness test, and the IVR's prompts use the same
syntax (loading and compiling are :mod:`edge.wording`'s, written once for both doors).
Filters: ``md`` 7月15日 (with the year when it is not this year), ``hm`` 08:30, ``yuan``
money from fen, ``mask`` 张*, ``period`` 上午.

Lengths: one SMS segment holds 70 Chinese characters; a concatenated message 67 per part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from booking_core.bookings import BookingView
from booking_core.kernel.errors import GuahaoError
from booking_core.kernel.identity import mask_name
from booking_core.messages import MessageKind
from edge import wording
from edge.wording import as_date, as_time, period_name, yuan

from ..commands import ParseError

LANGS = ("zh", "en")
SEGMENT_CHARS = 70  # one UCS-2 segment
TWO_SEGMENTS_CHARS = 134  # two concatenated UCS-2 parts of 67
NOTICE_KINDS = (
    MessageKind.CONFIRMATION,
    MessageKind.CHANGE,
    MessageKind.CANCELLATION,
    MessageKind.STOP,
    MessageKind.REMINDER,
    MessageKind.SURVEY,
)
"""The kinds :meth:`Replies.notice` words from a booking (the others have their own keys)."""
EN_MONTHS = [name[:3] for name in wording.EN_MONTHS]  # Jan … Dec


def load_sources(lang: str) -> dict[str, str]:
    """Key → template text of one language (dotted keys for TOML tables)."""
    return wording.load_sources(__package__, lang)


# --- filters: the written forms ------------------------------------------------------------


def _filters(lang: str) -> dict[str, Callable[..., str]]:
    @jinja2.pass_context
    def md(ctx: Mapping[str, Any], value: Any) -> str:
        d = as_date(value)
        with_year = ctx.get("this_year") not in (None, d.year)
        if lang == "zh":
            return (f"{d.year}年" if with_year else "") + f"{d.month}月{d.day}日"
        return f"{EN_MONTHS[d.month - 1]} {d.day}" + (f" {d.year}" if with_year else "")

    def hm(value: Any) -> str:
        return as_time(value).strftime("%H:%M")

    def money(fen: Any) -> str:
        return f"{yuan(fen)}元" if lang == "zh" else f"{yuan(fen)} yuan"

    def period(value: Any) -> str:
        return period_name(value, lang)

    return {"md": md, "hm": hm, "yuan": money, "mask": mask_name, "period": period}


def _local(value: Any, tz: ZoneInfo | None) -> Any:
    if tz is not None and isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(tz)
    return value


# --- the catalogue -------------------------------------------------------------------------


class Replies(wording.Catalogue):
    """Every language's templates, compiled once; renders replies, errors and notices."""

    def __init__(self) -> None:
        super().__init__(__package__, {lang: _filters(lang) for lang in LANGS})

    @staticmethod
    def lang(lang: str | None) -> str:
        """A language the catalogue has (Mandarin when unknown)."""
        return lang if lang in LANGS else "zh"

    def render(self, key: str, /, *, lang: str = "zh", **params: Any) -> str:
        """One template; pass ``this_year`` to have dates of other years show their year."""
        return self.template(self.lang(lang), key).render(params)

    def has(self, key: str, lang: str = "zh") -> bool:
        return super().has(key, self.lang(lang))

    # --- what went wrong ---------------------------------------------------------------

    def error(
        self,
        err: GuahaoError,
        *,
        lang: str = "zh",
        timezone: str | None = None,
        this_year: int | None = None,
    ) -> str:
        """A core error in words, its instants in the hospital's time (``timezone``)."""
        tz = ZoneInfo(timezone) if timezone else None
        params = {k: _local(v, tz) for k, v in err.params.items()}
        status = params.get("status")
        if status is not None:
            key = f"status.{status}"
            params["status_name"] = self.render(key, lang=lang) if self.has(key, lang) else status
        key = f"error.{err.code}"
        if not self.has(key, lang):  # a code newer than this catalogue
            return self.render("error.fallback", lang=lang)
        return self.render(key, lang=lang, this_year=this_year, **params)

    def parse_error(self, err: ParseError, *, lang: str = "zh") -> str:
        """What was wrong with a text, then the right format of its command."""
        text = self.render(f"parse.{err.code}", lang=lang, command=err.command, **err.params)
        if err.example:
            text += self.render("parse.format", lang=lang, example=err.example)
        return text

    # --- bookings ----------------------------------------------------------------------

    def booking_params(
        self, view: BookingView, *, lang: str = "zh", timezone: str | None = None
    ) -> dict[str, Any]:
        """What a template needs to say about a booking (``pay`` already worded)."""
        b = view.booking
        tz = ZoneInfo(timezone) if timezone else None
        hold_until = _local(b.hold_expires_at, tz) if tz is not None else None
        status_key = f"status.{b.status}"
        params = {
            "booking_no": b.booking_no,
            "day": b.day,
            "start": view.start,
            "period": str(view.period),
            "dept": view.department_name,
            "doctor": view.doctor_name,
            "title": view.doctor_title,
            "room": view.room,
            "patient": mask_name(view.patient_name),
            "status": str(b.status),
            "status_name": self.render(status_key, lang=lang),
            "fee": b.fee,
            "paid": b.paid,
            "hold_until": hold_until,
        }
        params["pay"] = self.render("pay", lang=lang, **params)
        return params

    def notice(
        self,
        kind: str,
        view: BookingView,
        *,
        lang: str = "zh",
        reason: str | None = None,
        from_day: date | None = None,
        hospital: str = "",
        timezone: str | None = None,
    ) -> str:
        """A notice we send first (``kind`` as in ``MessageKind``): confirmation, change,
        cancellation, stop (停诊), reminder, survey. ``hospital`` is its name for the
        signature; ``timezone`` lets a held booking's notice say until when to pay."""
        params = self.booking_params(view, lang=lang, timezone=timezone)
        return self.render(
            f"notice.{kind}",
            lang=lang,
            hospital=hospital,
            reason=reason,
            from_day=from_day,
            **params,
        )

    # --- lists ---------------------------------------------------------------------------

    def listing(
        self,
        head: str,
        item: str,
        entries: list[dict[str, Any]],
        /,
        *,
        lang: str = "zh",
        tail: str | None = None,
        budget: int = TWO_SEGMENTS_CHARS,
        **params: Any,
    ) -> str:
        """``head`` + as many ``item``s as fit in ``budget`` characters (at least one) +
        "and N more" + ``tail``."""
        sep = self.render("list.sep", lang=lang)
        first = self.render(head, lang=lang, total=len(entries), **params)
        last = self.render(tail, lang=lang, **params) if tail else ""
        items = [self.render(item, lang=lang, **params, **entry) for entry in entries]
        for shown in range(len(items), 0, -1):
            rest = len(items) - shown
            more = self.render("list.more", lang=lang, rest=rest) if rest else ""
            text = first + sep.join(items[:shown]) + more + last
            if len(text) <= budget:
                return text
        more = self.render("list.more", lang=lang, rest=len(items) - 1) if len(items) > 1 else ""
        return first + "".join(items[:1]) + more + last

    def page(
        self,
        head: str,
        item: str,
        entries: list[dict[str, Any]],
        page: int,
        /,
        *,
        lang: str = "zh",
        more: str,
        tail: str | None = None,
        budget: int = TWO_SEGMENTS_CHARS,
        **params: Any,
    ) -> str | None:
        """Page ``page`` (from 1) of a list too long for one reply, or None past its end.

        Each page holds as many ``item``s as fit in ``budget`` with ``head``, ``tail`` and,
        when some remain, ``more`` (rendered with ``rest`` and ``next``, the next page's
        number: "还有2个，回复CX2查看"). Pages are cut the same way every time, so the page a
        reply points to starts where that reply stopped (while the list stays the same).
        """
        sep = self.render("list.sep", lang=lang)
        items = [self.render(item, lang=lang, **params, **entry) for entry in entries]
        last = self.render(tail, lang=lang, **params) if tail else ""
        start = 0
        for number in range(1, page + 1):
            if start >= len(items):
                return None
            first = self.render(head, lang=lang, total=len(items), page=number, **params)
            text, shown = first + items[start] + last, 1
            for count in range(len(items) - start, 0, -1):
                rest = len(items) - start - count
                tail_more = (
                    self.render(more, lang=lang, rest=rest, next=number + 1, **params)
                    if rest
                    else ""
                )
                candidate = first + sep.join(items[start : start + count]) + tail_more + last
                if len(candidate) <= budget or count == 1:
                    text, shown = candidate, count
                    break
            if number == page:
                return text
            start += shown
        return None  # unreachable: the loop returns on its last round
