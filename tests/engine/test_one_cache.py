"""#11 item 7: the doors' hospital caches are one cache in the core, with one staleness rule.
A catalogue or rule change made through this engine is seen at once by every door; one made
by another engine on the same store (a second BookingServices) is seen within the cache's
TTL, and not before it. Time moves on a fake monotonic clock (no sleeping)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from booking_core import bookings, catalogue, rules
from booking_core.bus import BookingServices, bootstrap
from booking_core.kernel.actor import Channel
from booking_core.kernel.cache import CACHE_TTL_SECONDS, Cache
from booking_core.kernel.unit import rows
from booking_core.rules import Rule, RuleKey
from booking_core.rules.repo import cached_rules
from hospital_api.directory import Directory
from ivr.actions import Call, CoreActions
from ivr.state import ListDepartments
from sms.inbox import Inbox
from sms.notifier import Notifier
from sms.replies import Replies
from tests.support.world import World

DAY = date(2026, 7, 11)  # the clock is 2026-07-10 09:00 Beijing
OLD = {"hospital": "协和医院", "departments": ["心内科"], "hold_minutes": 15}
NEW = {"hospital": "协和医院东院", "departments": ["心内科", "眼科"], "hold_minutes": 20}


def hold_minutes(tx, deps, hospital_id: int):
    """What a booking unit reads of the hospital's rules (through ``deps.cache``)."""
    ruleset = yield from cached_rules(deps.cache, hospital_id)
    return ruleset.value(RuleKey.HOLD_MINUTES)


@dataclass
class Doors:
    """What each door of one engine (one BookingServices) says about hospital H001."""

    services: BookingServices
    world: World
    hospital_id: int
    notifier: Notifier = field(init=False)
    texted: int = 0  # bookings made to have a confirmation text signed

    def __post_init__(self) -> None:
        self.notifier = Notifier(self.services, Replies(), "twilio", consumer="test")

    async def seen(self) -> dict:
        call = Call("CA1", "H001", self.hospital_id, "Asia/Shanghai", caller="")
        listed = await CoreActions(self.services, "agents").perform(ListDepartments(), call)
        inbox = Inbox(self.services, Replies(), "H001")
        names = {
            "sms inbox": (await inbox.hospital()).name,
            "api directory": (await Directory(self.services).by_code("H001")).name,
            "sms notice": await self._notice_signed(),
        }
        assert len(set(names.values())) == 1, names  # every door says the same
        return {
            "hospital": names["sms inbox"],
            "departments": [d["name"] for d in listed.value],
            "hold_minutes": await self.services.store.write(
                hold_minutes, self.services.deps, self.hospital_id
            ),
        }

    async def _notice_signed(self) -> str:
        """The hospital name a confirmation text is signed with (a new booking each time)."""
        self.texted += 1
        patient = await self.world.patient("患者" + "甲乙丙丁戊己"[self.texted])
        slot = await self.services.read(
            lambda tx: (yield rows("SELECT id FROM slots WHERE booked < capacity ORDER BY id"))
        )
        await self.services.handle(
            bookings.BookSlot(slot_id=slot[0]["id"], patient_id=patient.id, channel=Channel.AGENT)
        )
        while await self.notifier.run_once():
            pass
        [hospital] = self.notifier.hospitals.values()
        assert hospital is not None
        return hospital.name


@pytest.fixture
def monotonic() -> list[float]:
    return [1000.0]


@pytest.fixture
async def engines(store, cipher, monotonic):
    """Two engines on one store: ``here`` (its cache on the fake clock) and ``elsewhere``."""
    here = BookingServices(store, cipher, cache=Cache(clock=lambda: monotonic[0]))
    world = World(here)
    await world.basic(DAY, places=3)
    hospital = await here.read(catalogue.hospital, "H001")
    return Doors(here, world, hospital.id), bootstrap(store, cipher)


async def _change(services: BookingServices, hospital_id: int) -> None:
    """Rename the hospital, add a department, lengthen the unpaid hold."""
    await services.handle(catalogue.UpsertHospital(code="H001", name=NEW["hospital"]))
    await services.handle(catalogue.UpsertDepartment(hospital_code="H001", code="103", name="眼科"))
    rule = Rule(key=RuleKey.HOLD_MINUTES, value=NEW["hold_minutes"], hospital_id=hospital_id)
    await services.handle(rules.SetRule(rule=rule))


async def test_a_change_made_here_is_seen_at_once_by_every_door(engines):
    doors, _elsewhere = engines
    assert await doors.seen() == OLD  # now kept in the cache
    await _change(doors.services, doors.hospital_id)
    assert await doors.seen() == NEW  # the clock has not moved


async def test_a_change_made_elsewhere_is_seen_within_the_ttl_and_not_before(engines, monotonic):
    doors, elsewhere = engines
    assert await doors.seen() == OLD
    await _change(elsewhere, doors.hospital_id)
    monotonic[0] += CACHE_TTL_SECONDS - 0.1
    assert await doors.seen() == OLD  # kept: this engine has not heard of it
    monotonic[0] += 0.2
    assert await doors.seen() == NEW
