"""Prompt catalogues: one TOML file per language whose values are jinja2 templates.

``Catalogue.say(lang, key, params)`` renders one prompt; the filters of
:mod:`ivr.speech` speak dates, times, money and serial numbers naturally.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from ..speech import FILTERS
from ..state import LANGS


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


@cache
def load_sources(lang: str) -> dict[str, str]:
    """Key → template text of one language (dotted keys for TOML tables)."""
    text = resources.files(__package__).joinpath(f"{lang}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


class Catalogue:
    """Every language's templates, compiled once."""

    def __init__(self, globals_: dict[str, Any] | None = None) -> None:
        self._templates: dict[str, dict[str, jinja2.Template]] = {}
        self._envs: list[jinja2.Environment] = []
        for lang in LANGS:
            env = jinja2.Environment(
                autoescape=False,  # spoken text; the TwiML builder escapes XML
                undefined=jinja2.StrictUndefined,
                keep_trailing_newline=False,
            )
            env.filters.update(FILTERS[lang])
            env.globals.update(globals_ or {})
            self._envs.append(env)
            self._templates[lang] = {
                key: env.from_string(source) for key, source in load_sources(lang).items()
            }

    def set_global(self, name: str, value: Any) -> None:
        """A value every template sees (the hospital's name once it is known)."""
        for env in self._envs:
            env.globals[name] = value

    def keys(self, lang: str) -> set[str]:
        return set(self._templates[lang])

    def say(self, lang: str, key: str, params: dict[str, Any] | None = None) -> str:
        return self._templates[lang][key].render(params or {})
