"""Fixtures for the FHIR tests."""

from __future__ import annotations

import pytest

from tests.hospital_api.fhir.helpers import Fhir, make_root

IVR_PHONE = "+86 10 6512 3456"
SMS_PHONE = "1065123456"


@pytest.fixture
async def fhir(aiohttp_client, services) -> Fhir:
    root = make_root(
        services, ivr_phone=IVR_PHONE, ivr_hospital="H001", sms_phone=SMS_PHONE, sms_hospital="H001"
    )
    return Fhir(await aiohttp_client(root), services)
