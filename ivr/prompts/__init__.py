"""Prompt catalogues: one TOML file per language whose values are jinja2 templates.

``Catalogue.say(lang, key, params)`` renders one prompt; the filters of
:mod:`ivr.speech` speak dates, times, money and serial numbers naturally. Loading and
compiling are :mod:`edge.wording`'s, shared with the SMS door's replies.
"""

from __future__ import annotations

from typing import Any

from edge import wording

from ..speech import FILTERS
from ..state import LANGS


def load_sources(lang: str) -> dict[str, str]:
    """Key → template text of one language (dotted keys for TOML tables)."""
    return wording.load_sources(__package__, lang)


class Catalogue(wording.Catalogue):
    """Every language's prompts, compiled once; spoken text (the TwiML builder escapes
    XML)."""

    def __init__(self, globals_: dict[str, Any] | None = None) -> None:
        super().__init__(__package__, {lang: FILTERS[lang] for lang in LANGS}, globals_)

    def say(self, lang: str, key: str, params: dict[str, Any] | None = None) -> str:
        return self.template(lang, key).render(params or {})
