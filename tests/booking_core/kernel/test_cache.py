"""The core's one cache (:mod:`booking_core.kernel.cache`): an answer lives at most its TTL,
``clear()`` forgets everything at once, an answer loaded across a ``clear()`` is not kept,
errors never are. Time moves on a fake monotonic clock (no sleeping).

These replace the IVR's own CatalogueCache tests (the same five cases, on the one cache)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from booking_core.kernel.cache import Cache
from booking_core.kernel.errors import NotFound
from booking_core.kernel.unit import Query, val


class Loads:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> list[str]:
        self.count += 1
        return [f"load {self.count}"]


@pytest.fixture
def now() -> list[float]:
    return [100.0]


@pytest.fixture
def cache(now) -> Cache:
    return Cache(30.0, clock=lambda: now[0])


async def test_an_answer_is_read_once_within_the_ttl(cache, now):
    load = Loads()
    assert await cache.get(("departments", "H001"), load) == ["load 1"]
    now[0] += 29.9
    assert await cache.get(("departments", "H001"), load) == ["load 1"]
    assert load.count == 1
    now[0] += 0.2
    assert await cache.get(("departments", "H001"), load) == ["load 2"]


async def test_each_key_is_kept_apart(cache):
    load = Loads()
    await cache.get(("doctors", "H001", "101"), load)
    await cache.get(("doctors", "H001", "102"), load)
    await cache.get(("doctors", "H002", "101"), load)
    assert load.count == 3


async def test_clear_empties_it_at_once(cache):
    load = Loads()
    await cache.get(("departments", "H001"), load)
    cache.clear()
    assert await cache.get(("departments", "H001"), load) == ["load 2"]


async def test_an_answer_loaded_across_a_clear_is_handed_back_not_kept(cache):
    async def racing() -> list[str]:
        cache.clear()  # a catalogue command committed while this read ran
        return ["maybe old"]

    assert await cache.get(("departments", "H001"), racing) == ["maybe old"]
    load = Loads()
    assert await cache.get(("departments", "H001"), load) == ["load 1"]


async def test_errors_are_not_kept(cache):
    async def missing() -> list[str]:
        raise NotFound("hospital", "H009")

    with pytest.raises(NotFound):
        await cache.get(("departments", "H009"), missing)
    load = Loads()
    assert await cache.get(("departments", "H009"), load) == ["load 1"]


def _drive(gen: Generator[Query, Any, Any], answers: list[Any]) -> tuple[Any, list[Query]]:
    """Run a unit of work's generator, answering its queries from ``answers``."""
    asked: list[Query] = []
    try:
        query = next(gen)
        while True:
            asked.append(query)
            query = gen.send(answers[len(asked) - 1])
    except StopIteration as stop:
        return stop.value, asked


def test_a_unit_reads_through_it_with_the_same_rule(cache, now):
    def rule_set() -> Generator[Query, Any, int]:
        return (yield val("SELECT 1"))

    assert _drive(cache.through(("rules", 1), rule_set), [5]) == (5, [val("SELECT 1")])
    now[0] += 29.9
    assert _drive(cache.through(("rules", 1), rule_set), [6]) == (5, [])  # no query
    now[0] += 0.2
    assert _drive(cache.through(("rules", 1), rule_set), [7])[0] == 7
    cache.clear()
    assert _drive(cache.through(("rules", 1), rule_set), [8])[0] == 8


async def test_past_its_bound_it_starts_afresh(now):
    cache = Cache(30.0, clock=lambda: now[0], max_entries=2)
    load = Loads()
    for key in ("a", "b", "c"):
        await cache.get(key, load)
    assert await cache.get("c", load) == ["load 3"]  # kept
    assert await cache.get("a", load) == ["load 4"]  # dropped with "b" to make room
