"""Hospitals by code and by id, cached in-process: answers show hospital codes and
hospital-local times without a database read per request.

A hospital changed through this API is re-cached at once; one changed elsewhere (the
CLI, another engine) shows its old name or time zone here until the process restarts.
"""

from __future__ import annotations

from collections import OrderedDict
from zoneinfo import ZoneInfo

from booking_core import catalogue
from booking_core.bus import BookingServices
from booking_core.catalogue import Hospital

MAX_HOSPITALS = 4096  # far more than a platform has; the bound only stops abuse


class Directory:
    def __init__(self, services: BookingServices, max_entries: int = MAX_HOSPITALS) -> None:
        self._services = services
        self._max = max_entries
        self._by_code: OrderedDict[str, Hospital] = OrderedDict()
        self._by_id: dict[int, Hospital] = {}

    def remember(self, hospital: Hospital) -> Hospital:
        old = self._by_code.pop(hospital.code, None)
        if old is not None:
            self._by_id.pop(old.id, None)
        self._by_code[hospital.code] = hospital
        self._by_id[hospital.id] = hospital
        while len(self._by_code) > self._max:
            _, dropped = self._by_code.popitem(last=False)
            self._by_id.pop(dropped.id, None)
        return hospital

    async def by_code(self, code: str) -> Hospital:
        """The hospital (NotFound when there is none); callers check the actor's scope."""
        hospital = self._by_code.get(code)
        if hospital is None:
            hospital = self.remember(await self._services.read(catalogue.hospital, code))
        return hospital

    async def by_id(self, hospital_id: int) -> Hospital:
        hospital = self._by_id.get(hospital_id)
        if hospital is None:
            hospital = self.remember(
                await self._services.read(catalogue.hospital_with_id, hospital_id)
            )
        return hospital

    async def code_of(self, hospital_id: int | None) -> str | None:
        return None if hospital_id is None else (await self.by_id(hospital_id)).code

    async def zone(self, code: str) -> ZoneInfo:
        return zone_of(await self.by_code(code))


def zone_of(hospital: Hospital) -> ZoneInfo:
    return ZoneInfo(hospital.timezone)
