"""The HIS's blacklist replaced in bulk (HIS 黑名单同步), on both stores: what it sends
replaces what it sent before and nothing else, bad entries are listed by index and change
nothing, only the difference makes events; and the replace is atomic under real bookings
(issue #13, "What must be shown" 5), with a negative control."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from datetime import date
from typing import Any

import pytest

from booking_core import blacklist, bookings
from booking_core.blacklist import BanSource, HisBan, ReplaceHisBlacklist, his_sync
from booking_core.blacklist.his_sync import add_fresh, check_his_list, lift_stale
from booking_core.bus import BookingServices
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import AlreadyBooked, Blacklisted, NotFound
from booking_core.kernel.unit import rows
from tests.booking_core.helpers import audit_rows, events, last_event_id
from tests.support.fixtures import open_race_services
from tests.support.world import World, first_slot, local, resident_id

TOMORROW = date(2026, 7, 11)
LAST_DAY = date(2026, 8, 31)


def ban(card_no: str | None = None, until: date = LAST_DAY, reason: str = "欠费", **kw):
    return HisBan(card_no=card_no, until=until, reason=reason, **kw)


def replace(*entries: HisBan, code: str = "H001", actor: Actor = SYSTEM) -> ReplaceHisBlacklist:
    return ReplaceHisBlacklist(hospital_code=code, entries=entries, actor=actor)


async def in_force(services) -> list[tuple[int, str, str]]:
    """(patient, source, reason) of every ban in force, in id order."""
    found = await services.read(blacklist.list_blacklist, SYSTEM)
    return [(e.patient_id, str(e.source), e.reason) for e in found]


async def test_replace_swaps_the_his_bans_and_keeps_the_others(world, services):
    await world.basic(TOMORROW)
    c_id = resident_id()
    a, b = await world.patient("甲"), await world.patient("乙")
    c, d = await world.patient("丙", id_number=c_id), await world.patient("丁")
    admin = await services.handle(
        blacklist.AddToBlacklist(patient_id=d.id, until=LAST_DAY, reason="倒号")
    )
    first = await services.handle(replace(ban(a.card_no), ban(b.card_no, reason="逃费")))
    assert first.done
    assert len(first.added) == 2
    assert first.lifted == ()
    assert await in_force(services) == [
        (d.id, "admin", "倒号"),
        (a.id, "his", "欠费"),
        (b.id, "his", "逃费"),
    ]

    mark = await last_event_id(services)
    second = await services.handle(
        replace(ban(b.card_no, reason="逃费"), ban(id_number=c_id, reason="冒名"))
    )
    assert second.done
    assert second.unchanged == (first.added[1],)  # b's ban sent again as it was: kept
    assert second.lifted == (first.added[0],)  # a's no longer sent: lifted
    assert await in_force(services) == [
        (d.id, "admin", "倒号"),
        (b.id, "his", "逃费"),
        (c.id, "his", "冒名"),
    ]
    assert admin.id in [e.id for e in await services.read(blacklist.list_blacklist, SYSTEM)]
    # only the difference made events: a lifted, c added; nothing of b
    changed = [(e.topic, e.payload["patient_id"]) for e in await events(services, mark)]
    assert changed == [("patient.ban_lifted", a.id), ("patient.blacklisted", c.id)]
    added = [e for e in await events(services, mark) if e.topic == "patient.blacklisted"]
    assert added[0].payload["source"] == "his"
    assert added[0].payload["until"] == local(2026, 9, 1).isoformat()

    mark = await last_event_id(services)  # the same list again: nothing at all
    again = await services.handle(
        replace(ban(b.card_no, reason="逃费"), ban(id_number=c_id, reason="冒名"))
    )
    assert (again.added, again.lifted, len(again.unchanged)) == ((), (), 2)
    assert await events(services, mark) == []

    changed_end = await services.handle(replace(ban(b.card_no, until=date(2026, 9, 30))))
    assert len(changed_end.added) == 1  # b's new end
    assert len(changed_end.lifted) == 2  # b's old end, and c
    empty = await services.handle(replace())
    assert empty.lifted == changed_end.added
    assert await in_force(services) == [(d.id, "admin", "倒号")]
    audited = await audit_rows(services, str(a.id))
    actions = [r["action"] for r in audited if r["entity"] == "patient"]
    assert actions == ["patient.registered", "patient.blacklisted", "patient.ban_lifted"]


async def test_replace_leaves_no_show_bans_alone(world, services):
    await world.basic(TOMORROW)
    p = await world.patient()

    def no_show_ban(tx):
        yield rows(
            "INSERT INTO blacklist (hospital_id, patient_id, reason, source, starts_at, ends_at, "
            "created_by) VALUES (?, ?, '3 no-shows', ?, ?, ?, 'system:engine') RETURNING id",
            p.hospital_id,
            p.id,
            str(BanSource.NO_SHOW),
            tx.epoch,
            tx.epoch + 86400,
        )

    await services.store.write(no_show_ban)
    await services.handle(replace(ban(p.card_no)))
    await services.handle(replace())
    assert await in_force(services) == [(p.id, "no_show", "3 no-shows")]


async def test_bad_entries_are_listed_by_index_and_nothing_changes(world, services):
    await world.basic(TOMORROW)
    a, b = await world.patient("甲"), await world.patient("乙")
    await services.handle(replace(ban(a.card_no)))
    before = await in_force(services)
    mark = await last_event_id(services)
    result = await services.handle(
        replace(
            ban(b.card_no),  # 0: fine
            ban("999999999"),  # 1: no such card
            ban(b.card_no, until=date(2026, 7, 1)),  # 2: over already, and b twice
            ban(id_number="110105198001019999"),  # 3: a bad ID number
            ban(a.card_no, reason="  "),  # 4: no reason
            ban(),  # 5: no patient
            ban(a.card_no, id_number=resident_id(7777)),  # 6: card and ID of two people
        )
    )
    assert not result.done
    assert [(r.index, r.code) for r in result.refused] == [
        (1, "not_found"),
        (2, "invalid_input"),
        (3, "invalid_id_number"),
        (4, "invalid_input"),
        (5, "invalid_input"),
        (6, "not_found"),
    ]
    assert result.refused[1].params["reason"].startswith("already in entry 0")
    assert result.added == result.lifted == ()
    assert await in_force(services) == before
    assert await events(services, mark) == []


async def test_an_unknown_id_number_is_reported_masked(world, services):
    await world.basic(TOMORROW)
    stranger = resident_id(4242)
    result = await services.handle(replace(ban(id_number=stranger)))
    assert result.refused[0].code == "not_found"
    assert stranger not in str(result.refused[0].params)
    assert result.refused[0].params["key"].endswith(stranger[-4:])


async def test_a_hospital_replaces_only_its_own_list(world, services):
    await world.basic(TOMORROW)
    other = await world.at("H002").hospital()
    p = await world.patient()
    b_actor = Actor("token", "his-b", hospital_id=other.id, channel=Channel.HIS)
    with pytest.raises(NotFound) as refused_b:
        await services.handle(replace(ban(p.card_no), actor=b_actor))
    assert refused_b.value.params["entity"] == "hospital"
    refused = await services.handle(replace(ban(p.card_no), code="H002"))
    assert refused.refused[0].code == "not_found"  # H001's patient is no one at H002
    assert await in_force(services) == []


# --- atomic under bookings -------------------------------------------------------------

DAY = date(2026, 7, 15)
ROUNDS = 15
PAIRS = 8  # observers per round


async def observe(services: BookingServices, slot_id: int, patient_id: int) -> bool:
    """Whether a booking of ``patient_id`` is refused as blacklisted right now. Each patient
    already holds a place in ``slot_id``, so the attempt writes nothing: a banned patient is
    refused ``Blacklisted``, any other ``AlreadyBooked`` (the ban is checked first)."""
    try:
        await services.handle(
            bookings.BookSlot(slot_id=slot_id, patient_id=patient_id, channel=Channel.HIS)
        )
    except Blacklisted:
        return True
    except AlreadyBooked:
        return False
    raise AssertionError("the observing booking went through")


async def later(delay: float, work: Awaitable[Any]) -> Any:
    await asyncio.sleep(delay)
    return await work


async def pair(services, slot_id: int, first: int, second: int, delay: float):
    await asyncio.sleep(delay)
    return (await observe(services, slot_id, first), await observe(services, slot_id, second))


async def split_replace(services: BookingServices, cmd: ReplaceHisBlacklist) -> None:
    """The negative control: the same replace done as two units (lift, then add), as a HIS
    that lifted and added in two requests would."""

    def lift(tx):
        plan = yield from check_his_list(tx, cmd, services.deps)
        return (yield from lift_stale(tx, plan, cmd.actor))

    def add(tx):
        plan = yield from check_his_list(tx, cmd, services.deps)
        return (yield from add_fresh(tx, plan, cmd.actor))

    await services.store.write(lift)
    await asyncio.sleep(0.005)  # the moment between two requests
    await services.store.write(add)


async def _race(services: BookingServices, *, atomic: bool, seed: int) -> dict[str, int]:
    """Rounds of: the list is [A]; then [B] replaces it while pairs of bookings observe A
    then B, or B then A. Atomic, a pair that saw A free (the new list) must see B banned
    after it, and one that saw B banned (the new list) must see A free after it."""
    world = World(services)
    session = await world.basic(DAY, places=50)
    slot_id = await first_slot(services, session.id)
    a, b = await world.patient("甲"), await world.patient("乙")
    for p in (a, b):
        await world.book(slot_id, p.id)
    rng = random.Random(seed)
    seen = {"mix": 0, "old": 0, "new": 0, "straddled": 0}  # what the pairs saw
    for _round in range(ROUNDS):
        await services.handle(replace(ban(a.card_no)))
        to_new = replace(ban(b.card_no))
        work = later(
            rng.random() / 100,
            services.handle(to_new) if atomic else split_replace(services, to_new),
        )
        pairs = [
            pair(services, slot_id, *((a.id, b.id) if i % 2 else (b.id, a.id)), rng.random() / 50)
            for i in range(PAIRS)
        ]
        _, *observed = await asyncio.gather(work, *pairs)
        for i, (first, second) in enumerate(observed):
            a_first = bool(i % 2)
            a_banned, b_banned = (first, second) if a_first else (second, first)
            seen[verdict(a_first, a_banned, b_banned)] += 1
    return seen


def verdict(a_first: bool, a_banned: bool, b_banned: bool) -> str:
    """What a pair saw: the old list ([A]), the new one ([B]), the old then the new
    (straddled the replace), or a mix: the new list then the old one — A free and then B
    free, or B banned and then A banned — which an atomic replace cannot show."""
    if a_banned != b_banned:
        return "old" if a_banned else "new"
    first_saw_new = (not a_banned) if a_first else b_banned
    return "mix" if first_saw_new else "straddled"


async def test_a_replace_is_atomic_for_concurrent_bookings(race_services):
    seen = await _race(race_services, atomic=True, seed=13)
    assert seen["mix"] == 0, seen
    assert seen["old"], f"no pair saw the old list: {seen}"
    assert seen["new"], f"no pair saw the new list: {seen}"


async def test_control_a_replace_in_two_units_shows_the_mix(race_services):
    seen = await _race(race_services, atomic=False, seed=13)
    assert seen["mix"] > 0, f"the race cannot fail: it proves nothing ({seen})"


# --- two replaces at once --------------------------------------------------------------

TWIN_ROUNDS = 10


async def _twin_replaces(services: BookingServices) -> list[set[int]]:
    """Rounds of: the list is empty; two lists of different patients are sent at once.
    What was on the list after each round (its patients)."""
    world = World(services)
    await world.basic(DAY)
    b, c = await world.patient("乙"), await world.patient("丙")
    finals = []
    for _round in range(TWIN_ROUNDS):
        await services.handle(replace())
        await asyncio.gather(
            services.handle(replace(ban(b.card_no))), services.handle(replace(ban(c.card_no)))
        )
        finals.append({e.patient_id for e in await services.read(blacklist.list_blacklist, SYSTEM)})
    assert all(final <= {b.id, c.id} for final in finals)
    return finals


async def test_two_replaces_at_once_leave_one_list_or_the_other(race_services):
    finals = await _twin_replaces(race_services)
    assert all(len(final) == 1 for final in finals), finals


@pytest.mark.postgres
async def test_control_two_replaces_at_once_without_the_lock_add_both(
    fresh_pg_dsn, clock, cipher, monkeypatch
):
    """PostgreSQL only: SQLite's one writer runs them one after the other anyway."""

    def no_lock(tx, hospital_code):
        return
        yield

    monkeypatch.setattr(his_sync, "one_replace_at_a_time", no_lock)
    services = await open_race_services(fresh_pg_dsn, clock, cipher)
    try:
        finals = await _twin_replaces(services)
    finally:
        await services.store.close()
    assert any(len(final) == 2 for final in finals), f"the race proves nothing: {finals}"
