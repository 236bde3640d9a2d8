"""The audit log (审计), on both stores: kept a year, then purged."""

from __future__ import annotations

from datetime import date, timedelta

from booking_core.events import PurgeAudit
from tests.booking_core.helpers import audit_rows, book
from tests.support.world import slot_ids

TOMORROW = date(2026, 7, 11)


async def test_audit_is_kept_a_year(world, services, clock):
    session = await world.basic(TOMORROW)
    await book(services, (await slot_ids(services, session.id))[0], await world.patient())
    count = len(await audit_rows(services))
    assert count > 0
    clock.advance(timedelta(days=365))
    assert await services.handle(PurgeAudit()) == 0
    clock.advance(seconds=1)
    assert await services.handle(PurgeAudit()) == count
    assert await audit_rows(services) == []
