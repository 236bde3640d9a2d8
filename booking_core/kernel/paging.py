"""Keyset pages of a list: the rows after a key, in the list's own order.

A list read that can be paged takes ``after`` (the sort key of the last row of the page
before, or None for the first page) and ``limit``; :func:`after_clause` is the condition
that continues it. Each key is the list's full ``ORDER BY`` ending in a unique column, so a
row is never on two pages, nor on none, however rows are added between two pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PageKey = tuple[Any, ...]
"""The values of a list's ``ORDER BY`` columns for one row (text and integers)."""


def after_clause(
    columns: Sequence[str], after: Sequence[Any] | None
) -> tuple[list[str], list[Any]]:
    """(where clauses, args) for the rows after ``after`` in ``columns`` order (ascending):
    a row-value comparison, which SQLite (3.15+) and PostgreSQL both take."""
    if after is None:
        return [], []
    if len(after) != len(columns):
        raise ValueError(f"a key of {len(columns)} values was expected, not {len(after)}")
    if len(columns) == 1:
        return [f"{columns[0]} > ?"], [after[0]]
    marks = ", ".join("?" * len(columns))
    return [f"({', '.join(columns)}) > ({marks})"], list(after)
