"""Hospitals by code and by id: answers show hospital codes and hospital-local times
without a database read per request. They are read through the core's cache
(:meth:`~booking_core.bus.BookingServices.cached`): a hospital changed through this
process is seen at once, one changed elsewhere (the CLI, another engine) within the
cache's TTL.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from booking_core import catalogue
from booking_core.bus import BookingServices
from booking_core.catalogue import Hospital


class Directory:
    def __init__(self, services: BookingServices) -> None:
        self._services = services

    async def by_code(self, code: str) -> Hospital:
        """The hospital (NotFound when there is none); callers check the actor's scope."""
        return await self._services.cached(catalogue.hospital, code)

    async def by_id(self, hospital_id: int) -> Hospital:
        return await self._services.cached(catalogue.hospital_with_id, hospital_id)

    async def code_of(self, hospital_id: int | None) -> str | None:
        return None if hospital_id is None else (await self.by_id(hospital_id)).code

    async def zone(self, code: str) -> ZoneInfo:
        return zone_of(await self.by_code(code))


def zone_of(hospital: Hospital) -> ZoneInfo:
    return ZoneInfo(hospital.timezone)
