"""A blacklist file (黑名单导入) is one unit of work and safe to import again, on SQLite and
PostgreSQL (#10 item 15): cut off part-way, it leaves no ban; imported twice, each ban is
on the list once and the second run says which lines it skipped."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from booking_core import blacklist
from booking_core.blacklist import handlers as office_handlers
from booking_core.blacklist.handlers import insert_ban
from booking_core.kernel.actor import Actor, Channel
from tests.agent_console.helpers import table
from tests.agent_console.office.office_world import sign_in
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)
from tests.support.world import World

PATIENTS = 60


@pytest.fixture
async def cards(services) -> list[str]:
    world = World(services)
    await world.hospital("HA")
    found = []
    for i in range(PATIENTS):
        patient = await world.patient(f"病人{i:02d}")
        found.append(patient.card_no)
    return found


def _lines(cards: list[str]) -> tuple[blacklist.BanLine, ...]:
    return tuple(
        blacklist.BanLine(n, card, "2026-12-31", "多次爽约")
        for n, card in enumerate(cards, start=2)
    )


async def _actor(services) -> Actor:
    [row] = await table(services, "SELECT id FROM hospitals WHERE code = 'HA'")
    return Actor("operator", "hadmin", row["id"], Channel.AGENT)


async def _bans(services) -> int:
    [row] = await table(services, "SELECT count(*) AS n FROM blacklist")
    return row["n"]


async def test_an_import_cut_off_part_way_keeps_no_ban(services, cards, monkeypatch):
    actor = await _actor(services)
    real_insert = insert_ban
    inserted = []

    def dying_insert(tx, ban, who):
        if len(inserted) == PATIENTS // 3:
            raise RuntimeError("the process was killed here")
        inserted.append(ban)
        return (yield from real_insert(tx, ban, who))

    monkeypatch.setattr(office_handlers, "insert_ban", dying_insert)
    command = blacklist.ImportBlacklist(hospital_code=None, lines=_lines(cards), actor=actor)
    with pytest.raises(RuntimeError):
        await services.handle(command)
    assert inserted
    assert await _bans(services) == 0  # one unit: nothing of the cut-off import stayed
    monkeypatch.undo()
    first = await services.handle(command)
    assert (len(first.added), first.skipped, first.refused) == (PATIENTS, (), ())
    again = await services.handle(command)  # the same file, imported again
    assert (again.added, len(again.skipped), again.refused) == ((), PATIENTS, ())
    assert await _bans(services) == PATIENTS
    [events] = await table(
        services, "SELECT count(*) AS n FROM outbox WHERE topic = 'patient.blacklisted'"
    )
    assert events["n"] == PATIENTS


async def test_the_same_file_imported_twice_at_once_adds_each_ban_once(services, cards):
    actor = await _actor(services)
    command = blacklist.ImportBlacklist(hospital_code=None, lines=_lines(cards), actor=actor)
    first, second = await asyncio.gather(services.handle(command), services.handle(command))
    assert sorted([len(first.added), len(second.added)]) == [0, PATIENTS]
    assert sorted([len(first.skipped), len(second.skipped)]) == [0, PATIENTS]
    assert await _bans(services) == PATIENTS


async def test_a_line_repeated_in_the_file_is_skipped(services, cards):
    actor = await _actor(services)
    lines = (*_lines(cards[:3]), blacklist.BanLine(9, cards[0], "2026-12-31", "again"))
    result = await services.handle(
        blacklist.ImportBlacklist(hospital_code=None, lines=lines, actor=actor)
    )
    assert (len(result.added), result.skipped) == (3, (9,))
    assert await _bans(services) == 3


async def test_the_console_reports_skipped_lines(browser, services, cards):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    csv_text = "card_no,until,reason\n" + "".join(f"{c},2026-12-31,倒号\n" for c in cards[:5])

    async def send() -> dict:
        form = aiohttp.FormData()
        form.add_field("csrf_token", admin.csrf_token)
        form.add_field("file", csv_text.encode(), filename="bans.csv", content_type="text/csv")
        async with admin.client.post(
            "/console/office/blacklist/import", data=form, headers={"Accept": "application/json"}
        ) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    first = await send()
    assert (first["added"], first["skipped"]) == (5, [])
    second = await send()
    assert (second["added"], second["skipped"], second["errors"]) == (0, [2, 3, 4, 5, 6], [])
    assert await _bans(services) == 5
