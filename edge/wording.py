"""Wording catalogues (话术): one TOML file per language whose values are jinja2 templates,
and the value helpers the doors' filters share.

A door keeps its own ``<lang>.toml`` files in a package of its own (``ivr/prompts``,
``sms/replies``) and its own filters, because a spoken form and a written one differ (the
IVR says "7月15日 星期三, 上午8点30分, 12元5角", a text writes "7月15日 08:30, 12.5元").
What is the same is here, written once: reading a package's TOML into dotted keys,
compiling every template with ``StrictUndefined`` (a missing parameter fails loudly, in
the doors' completeness tests), globals every template sees, and turning the values a
template is given (ISO text, dates, times, fen) into what a filter words.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from types import CodeType
from typing import Any

import jinja2

Filters = Mapping[str, Callable[..., str]]
"""A language's filters, by the name templates use (``{{ day | md }}``)."""

ZH_PERIODS = {"morning": "上午", "afternoon": "下午", "evening": "晚上"}
EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


# --- catalogues ----------------------------------------------------------------------------


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """TOML tables as dotted keys: ``[error] slot_full = …`` is ``error.slot_full``."""
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


@cache
def load_sources(package: str, lang: str) -> dict[str, str]:
    """Key → template text of one language: ``<lang>.toml`` in ``package``."""
    text = resources.files(package).joinpath(f"{lang}.toml").read_text("utf-8")
    return flatten(tomllib.loads(text))


def _environment(filters: Filters) -> jinja2.Environment:
    env = jinja2.Environment(
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters.update(filters)
    return env


_CODE: dict[tuple[Any, ...], dict[str, CodeType]] = {}


def _compiled(package: str, lang: str, filters: Filters) -> dict[str, CodeType]:
    """Key → the compiled code of one language's templates, once per process: each
    :class:`Catalogue` (a door's, built with every app) makes its templates from these with
    its own environment (its filters and globals, looked up when a template renders), where
    parsing and compiling a few hundred templates again took a quarter of a second. Code
    depends on the filters' names and on what each asks to be passed (a context, an
    environment), so those are the key with the package and language."""
    kinds = tuple(sorted((name, getattr(f, "jinja_pass_arg", None)) for name, f in filters.items()))
    key = (package, lang, kinds)
    codes = _CODE.get(key)
    if codes is None:
        env = _environment(filters)
        sources = load_sources(package, lang)
        codes = _CODE[key] = {name: env.compile(source) for name, source in sources.items()}
    return codes


class Catalogue:
    """Every language's templates of one package, compiled once.

    ``filters`` gives each language its filters (its keys are the languages);
    ``globals_`` are values every template sees (:meth:`set_global` changes one later).
    Plain text, not HTML: no autoescaping (a door that puts the text into XML, TwiML,
    escapes it there)."""

    def __init__(
        self,
        package: str,
        filters: Mapping[str, Filters],
        globals_: Mapping[str, Any] | None = None,
    ) -> None:
        self._templates: dict[str, dict[str, jinja2.Template]] = {}
        self._envs: list[jinja2.Environment] = []
        for lang, lang_filters in filters.items():
            env = _environment(lang_filters)
            env.globals.update(globals_ or {})
            self._envs.append(env)
            codes = _compiled(package, lang, lang_filters)
            self._templates[lang] = {
                key: env.template_class.from_code(env, code, env.make_globals(None))
                for key, code in codes.items()
            }

    def set_global(self, name: str, value: Any) -> None:
        """A value every template sees from now on (a hospital's name once it is known)."""
        for env in self._envs:
            env.globals[name] = value

    def keys(self, lang: str) -> set[str]:
        return set(self._templates[lang])

    def has(self, key: str, lang: str) -> bool:
        return key in self._templates[lang]

    def template(self, lang: str, key: str) -> jinja2.Template:
        return self._templates[lang][key]


# --- what the filters are given ------------------------------------------------------------


def as_date(value: Any) -> date:
    """A date from a date, a datetime or ISO text (``"2026-07-15"``, or an instant)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def as_time(value: Any) -> time:
    """A time of day from a time, a datetime or ISO text: ``"08:30"``, or an instant kept
    as text (the IVR keeps its call's state as JSON)."""
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    text = str(value)
    try:
        return time.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text).time()


def yuan_and_fen(fen: Any) -> tuple[int, int]:
    """Money kept in fen as whole yuan and the fen left over: 1250 → (12, 50)."""
    return divmod(int(fen), 100)


def yuan(fen: Any) -> str:
    """Money in yuan as figures are written, no trailing zeros: 5000 → "50", 2550 →
    "25.5", 1 → "0.01"."""
    whole, rest = yuan_and_fen(fen)
    return str(whole) if not rest else f"{whole}.{rest:02d}".rstrip("0")


def period_name(value: Any, lang: str) -> str:
    """A session's period (``morning`` …) in ``lang``: 上午 in Mandarin; other languages
    say the period's own name."""
    name = str(value)
    return ZH_PERIODS.get(name, name) if lang == "zh" else name
