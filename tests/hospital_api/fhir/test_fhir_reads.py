"""Reads and searches: the catalogue, sessions as Schedule, slots as Slot in pages that
never cut a list silently, times hospital-local, one hospital's token blind to another's."""

from __future__ import annotations

from datetime import time

from tests.hospital_api.fhir.helpers import link, resources
from tests.hospital_api.helpers import TOMORROW
from tests.support.world import World, slot_ids


async def test_metadata_names_only_what_is_served(fhir):
    status, cs = await fhir.get("/metadata")
    assert status == 200
    assert cs["resourceType"] == "CapabilityStatement"
    rest = cs["rest"][0]
    kinds = {r["type"]: r for r in rest["resource"]}
    assert set(kinds) == {
        "Organization", "Location", "HealthcareService", "Practitioner", "PractitionerRole",
        "Schedule", "Slot", "Appointment",
    }  # fmt: skip
    assert {i["code"] for i in kinds["Appointment"]["interaction"]} == {
        "search-type", "read", "update", "patch",
    }  # fmt: skip
    assert {o["name"] for o in kinds["Appointment"]["operation"]} == {"find", "hold", "book"}
    assert {i["code"] for i in kinds["Slot"]["interaction"]} == {"search-type", "read"}
    assert {p["name"] for p in kinds["Slot"]["searchParam"]} == {
        "schedule", "service-type", "start", "status", "_count", "_cursor",
    }  # fmt: skip


async def test_catalogue_as_resources(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    his = await fhir.token("his", "H001")

    status, bundle = await fhir.get("/Organization", his)
    [org] = resources(bundle)
    assert org["name"] == "协和医院"
    assert org["identifier"][0]["value"] == "H001"
    assert bundle["total"] == 1

    status, loc = await fhir.get(f"/Location/{org['id']}", his)
    assert status == 200
    assert loc["telecom"] == [{"system": "phone", "value": "+86 10 6512 3456"}]

    status, bundle = await fhir.get("/HealthcareService?identifier=101", his)
    [dept] = resources(bundle)
    assert dept["name"] == "心内科"

    status, bundle = await fhir.get(
        "/Practitioner?identifier=urn:guahao:fhir:H001:work-no|00868", his
    )
    [doc] = resources(bundle)
    assert doc["identifier"] == [{"system": "urn:guahao:fhir:H001:work-no", "value": "00868"}]
    status, role = await fhir.get(f"/PractitionerRole/{doc['id']}", his)
    assert role["practitioner"]["reference"] == f"Practitioner/{doc['id']}"
    assert role["healthcareService"] == [{"reference": f"HealthcareService/{dept['id']}"}]
    assert role["code"] == [{"text": "主任医师"}]

    status, sched = await fhir.get(f"/Schedule/{session.id}", his)
    assert sched["planningHorizon"] == {
        "start": "2026-07-11T08:00:00+08:00",
        "end": "2026-07-11T12:00:00+08:00",
    }
    assert {"reference": f"Practitioner/{doc['id']}", "display": "医生00868"} in sched["actor"]
    status, bundle = await fhir.get(f"/Schedule?actor=Practitioner/{doc['id']}", his)
    assert [s["id"] for s in resources(bundle)] == [str(session.id)]


async def test_slot_pages_follow_next_to_the_end(fhir, services):
    session = await World(services).basic(TOMORROW)  # 8 slots of 30 minutes
    ids = await slot_ids(services, session.id)
    his = await fhir.token("his", "H001")
    seen: list[str] = []
    url: str | None = f"/Slot?schedule=Schedule/{session.id}&_count=3"
    pages = 0
    while url:
        status, bundle = await fhir.get(url, his)
        assert status == 200
        seen += [s["id"] for s in resources(bundle)]
        url = link(bundle, "next")
        pages += 1
        if url:
            assert "total" not in bundle  # a page that is not the whole answer says so
    assert pages == 3
    assert seen == [str(i) for i in ids]
    status, bundle = await fhir.get(f"/Slot?schedule=Schedule/{session.id}&_count=8", his)
    assert link(bundle, "next") is None
    assert bundle["total"] == 8


async def test_slot_search_by_start_status_and_service(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW, places=1)
    ids = await slot_ids(services, session.id)
    patient = await world.patient()
    await world.book(ids[0], patient.id)
    his = await fhir.token("his", "H001")

    _, bundle = await fhir.get(
        "/Slot?start=ge2026-07-11T09:00:00%2B08:00&start=le2026-07-11T10:00", his
    )
    assert [s["start"] for s in resources(bundle)] == [
        "2026-07-11T09:00:00+08:00", "2026-07-11T09:30:00+08:00", "2026-07-11T10:00:00+08:00",
    ]  # fmt: skip
    _, bundle = await fhir.get("/Slot?status=busy", his)
    assert [s["id"] for s in resources(bundle)] == [str(ids[0])]
    _, bundle = await fhir.get("/Slot?status=free&service-type=101&start=2026-07-11", his)
    assert len(resources(bundle)) == len(ids) - 1
    _, bundle = await fhir.get("/Slot?service-type=999", his)
    assert resources(bundle) == []
    _, bundle = await fhir.get("/Slot?start=lt2026-07-11", his)
    assert resources(bundle) == []


async def test_a_token_sees_its_own_hospital_only(fhir, services):
    world = World(services)
    await world.basic(TOMORROW)
    other = await world.at("H002").basic(TOMORROW, start=time(13, 0), end=time(14, 0))
    other_slots = await slot_ids(services, other.id)
    his = await fhir.token("his", "H001")
    status, _outcome = await fhir.get(f"/Schedule/{other.id}", his)
    assert status == 404
    status, _ = await fhir.get(f"/Slot/{other_slots[0]}", his)
    assert status == 404
    _, bundle = await fhir.get("/Slot?_count=500", his)
    assert not {str(i) for i in other_slots} & {s["id"] for s in resources(bundle)}
    _, bundle = await fhir.get("/Organization", his)
    assert [o["identifier"][0]["value"] for o in resources(bundle)] == ["H001"]
    admin = await fhir.token("admin", None)  # the platform's token sees both
    _, bundle = await fhir.get("/Organization", admin)
    assert len(resources(bundle)) == 2


INTERACTION_CALLS = {
    "read": ("GET", "/{type}/{id}"),
    "search-type": ("GET", "/{type}"),
    "update": ("PUT", "/{type}/{id}"),
    "patch": ("PATCH", "/{type}/{id}"),
}


async def test_every_interaction_and_operation_the_metadata_names_is_served(fhir, services):
    """The CapabilityStatement tells the truth: each interaction and operation it names
    has an endpoint here (an answer that is neither 'no such endpoint' nor 405)."""
    world = World(services)
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    booked = await world.book((await slot_ids(services, session.id))[0], patient.id)
    ids = {
        "Appointment": booked.booking.booking_no,
        "Schedule": str(session.id),
        "Slot": str((await slot_ids(services, session.id))[0]),
    }
    admin = await fhir.token("admin", "H001")
    _, cs = await fhir.get("/metadata")
    rest = cs["rest"][0]
    for resource in rest["resource"]:
        kind = resource["type"]
        for interaction in resource["interaction"]:
            method, path = INTERACTION_CALLS[interaction["code"]]
            url = path.format(type=kind, id=ids.get(kind, "1"))
            body = {"json": {"resourceType": kind}} if method in ("PUT", "PATCH") else {}
            status, outcome = await fhir.call(method, url, admin, **body)
            assert status != 405, (method, url)
            if status == 404:  # a row not found, not an endpoint missing
                assert "No resource type" not in outcome["issue"][0]["diagnostics"], url
        for operation in resource.get("operation", []):
            status, _ = await fhir.call("POST", f"/{kind}/${operation['name']}", admin, json={})
            assert status == 400  # the operation is there, and says what it needs
    assert [o["name"] for o in rest["operation"]] == ["bulk-publish"]
    async with fhir.client.get("/fhir/R4/$bulk-publish") as resp:
        assert resp.status == 200
