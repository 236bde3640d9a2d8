"""Helpers for the FHIR tests: a client over the real services (a root app with the FHIR
door mounted at /fhir/R4/), tokens, and :func:`checked`, which parses every FHIR body
with the R4B model of its resourceType — every response the tests read goes through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient
from fhir.resources.R4B import get_fhir_model_class
from yarl import URL

from booking_core import operators
from booking_core.bus import BookingServices
from booking_core.kernel.unit import rows
from hospital_api.auth import hash_token, new_token
from hospital_api.fhir.keys import FhirSettings
from hospital_api.fhir.web import make_app

FHIR_JSON = "application/fhir+json"
CARD_SYSTEM = "urn:guahao:fhir:{}:card-no"


def checked(body: Any) -> dict[str, Any]:
    """``body`` parsed by the R4B model its resourceType names (a Bundle with its entries)."""
    assert isinstance(body, dict), body
    assert "resourceType" in body, body
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


@dataclass
class Fhir:
    client: TestClient
    services: BookingServices

    async def token(self, role: str, hospital: str | None = None) -> dict[str, str]:
        token = new_token()
        await self.services.handle(
            operators.CreateToken(
                name=f"{role}-{hospital or 'platform'}",
                role=role,
                hospital_code=hospital,
                token_hash=hash_token(token),
            )
        )
        return {"Authorization": f"Bearer {token}"}

    async def call(
        self, method: str, path: str, auth: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        """Any FHIR answer: its status and its body, checked as its resource."""
        headers = {**(auth or {}), **kwargs.pop("headers", {})}
        if "json" in kwargs:  # as a FHIR client sends it
            kwargs["data"] = orjson.dumps(kwargs.pop("json"))
            headers.setdefault("Content-Type", FHIR_JSON)
        # a link the server gave (absolute) is followed as it is, on the test server
        url = str(URL(path).relative()) if path.startswith("http") else "/fhir/R4" + path
        async with self.client.request(method, url, headers=headers, **kwargs) as resp:
            assert resp.content_type == FHIR_JSON, (resp.status, await resp.text())
            body = checked(await resp.json(content_type=None))
            if resp.status >= 400:
                assert body["resourceType"] == "OperationOutcome", body
            return resp.status, body

    async def get(self, path: str, auth: dict[str, str] | None = None, **kw: Any):
        return await self.call("GET", path, auth, **kw)


def make_root(services: BookingServices, **settings: Any) -> web.Application:
    root = web.Application()
    root.add_subapp("/fhir/R4/", make_app(services, FhirSettings(**settings)))
    return root


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", [])]


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((x["url"] for x in bundle.get("link", []) if x["relation"] == relation), None)


def error_code(outcome: dict[str, Any]) -> str:
    """The core's (or the door's) error code an OperationOutcome names."""
    return outcome["issue"][0]["details"]["coding"][0]["code"]


async def card_numbers(services: BookingServices) -> dict[int, str]:
    def read(tx):
        found = yield rows("SELECT id, card_no FROM patients")
        return {r["id"]: r["card_no"] for r in found}

    return await services.read(read)


def appointment_for(slot_id: int, hospital: str, card_no: str, name: str | None = None) -> dict:
    """An appointment-resource: one slot and the patient by card number (name as display)."""
    patient: dict[str, Any] = {
        "type": "Patient",
        "identifier": {"system": CARD_SYSTEM.format(hospital), "value": card_no},
    }
    if name is not None:
        patient["display"] = name
    return {
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": patient, "status": "accepted"}],
    }


def parameters(**named: Any) -> dict[str, Any]:
    """A Parameters resource: ``appointment_resource=…`` or ``appointment_reference="…"``."""
    out = []
    for name, value in named.items():
        name = name.replace("_", "-")
        if isinstance(value, dict):
            out.append({"name": name, "resource": value})
        else:
            out.append({"name": name, "valueReference": {"reference": value}})
    return {"resourceType": "Parameters", "parameter": out}
