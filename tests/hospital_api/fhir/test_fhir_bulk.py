"""SMART Scheduling Links: the public manifest and its NDJSON files parse (each line as
its R4B resource), slots carry the IVR number and the SMS booking code, ``_since`` gives
only what changed, and a slot booked by SMS is busy in the next publication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from yarl import URL

from booking_core import bookings
from booking_core.kernel.actor import Channel
from tests.hospital_api.fhir.conftest import IVR_PHONE, SMS_PHONE
from tests.hospital_api.fhir.helpers import checked, error_code
from tests.hospital_api.helpers import TODAY, TOMORROW
from tests.support.world import World, slot_ids

DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"


async def get_manifest(fhir, since: str | None = None) -> dict[str, Any]:
    query = {"_since": since} if since else {}
    async with fhir.client.get(URL("/fhir/R4/$bulk-publish") % query) as resp:  # no token
        assert resp.status == 200, await resp.text()
        manifest = await resp.json()
    assert set(manifest) == {"transactionTime", "request", "output", "error"}
    assert manifest["error"] == []
    return manifest


async def get_lines(fhir, url: str) -> list[dict[str, Any]]:
    async with fhir.client.get(str(URL(url).relative())) as resp:  # no token
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "application/fhir+ndjson"
        text = await resp.read()
    lines = [orjson.loads(line) for line in text.splitlines()]
    return [checked(line) for line in lines]


async def files(fhir, manifest: dict[str, Any], hospital: str = "H001") -> dict[str, list]:
    out: dict[str, list] = {}
    for item in manifest["output"]:
        if f"/bulk/{hospital}/" in item["url"]:
            out[item["type"]] = await get_lines(fhir, item["url"])
    return out


async def test_manifest_and_files_parse_and_slots_say_how_to_book(fhir, services):
    world = World(services)
    session = await world.basic(TOMORROW)
    await world.at("H002").basic(TOMORROW)
    manifest = await get_manifest(fhir)
    assert manifest["transactionTime"] == "2026-07-10T01:00:00+00:00"
    assert manifest["request"].endswith("/fhir/R4/$bulk-publish")
    assert [(o["type"], o["url"].rsplit("/bulk/", 1)[1]) for o in manifest["output"]] == [
        ("Location", "H001/Location.ndjson"), ("Schedule", "H001/Schedule.ndjson"),
        ("Slot", "H001/Slot.ndjson"), ("Location", "H002/Location.ndjson"),
        ("Schedule", "H002/Schedule.ndjson"), ("Slot", "H002/Slot.ndjson"),
    ]  # fmt: skip
    got = await files(fhir, manifest)
    [location] = got["Location"]
    assert location["telecom"] == [{"system": "phone", "value": IVR_PHONE}]
    assert [s["id"] for s in got["Schedule"]] == [str(session.id)]
    assert {s["actor"][2]["reference"] for s in got["Schedule"]} == {f"Location/{location['id']}"}
    slots = got["Slot"]
    assert [s["id"] for s in slots] == [str(i) for i in await slot_ids(services, session.id)]
    first = slots[0]
    assert first["status"] == "free"
    assert (first["start"], first["end"]) == (
        "2026-07-11T08:00:00+08:00",
        "2026-07-11T08:30:00+08:00",
    )
    links = {e["url"]: e for e in first["extension"]}
    assert links[PHONE]["valueString"] == IVR_PHONE
    assert links[DEEP_LINK]["valueUrl"] == f"sms:{SMS_PHONE}?body=GHDH00868%2C07110800%2C"
    # the IVR and the SMS number book for H001 only: H002's slots do not claim them
    other = await files(fhir, manifest, "H002")
    assert all(e["url"] not in (PHONE, DEEP_LINK) for s in other["Slot"] for e in s["extension"])
    assert "telecom" not in other["Location"][0]
    # one hospital's own manifest names its files only
    async with fhir.client.get("/fhir/R4/bulk/H002/$bulk-publish") as resp:
        own = await resp.json()
    assert own["request"].endswith("/fhir/R4/bulk/H002/$bulk-publish")
    assert [o["url"].rsplit("/bulk/", 1)[1] for o in own["output"]] == [
        "H002/Location.ndjson", "H002/Schedule.ndjson", "H002/Slot.ndjson",
    ]  # fmt: skip


async def test_since_gives_only_what_changed_and_an_sms_booking_turns_busy(fhir, services, clock):
    world = World(services)
    session = await world.basic(TOMORROW, places=1)
    ids = await slot_ids(services, session.id)
    patient = await world.patient()
    before = await get_manifest(fhir)
    unchanged = await files(fhir, await get_manifest(fhir, before["transactionTime"]))
    assert len(unchanged["Slot"]) == len(ids)  # created at that very second: still "since"

    clock.advance(timedelta(minutes=1))
    since = (await get_manifest(fhir))["transactionTime"]
    clock.advance(timedelta(minutes=1))
    assert (await files(fhir, await get_manifest(fhir, since)))["Slot"] == []
    await world.book(ids[2], patient.id, channel=Channel.SMS)  # as a GHDH text books it
    later = await world.session(TOMORROW.replace(day=12), places=1)

    changed = await files(fhir, await get_manifest(fhir, since))
    assert [s["id"] for s in changed["Schedule"]] == [str(later.id)]
    later_ids = await slot_ids(services, later.id)
    assert [s["id"] for s in changed["Slot"]] == [str(ids[2])] + [str(i) for i in later_ids]
    assert changed["Slot"][0]["status"] == "busy"
    assert len(changed["Location"]) == 1  # always whole

    whole = await files(fhir, await get_manifest(fhir))
    status = {s["id"]: s["status"] for s in whole["Slot"]}
    assert status[str(ids[2])] == "busy"
    assert [k for k, v in status.items() if v != "free"] == [str(ids[2])]


async def test_past_days_are_not_published_and_a_stop_is(fhir, services, clock):
    world = World(services)
    await world.basic(TODAY - timedelta(days=1))
    session = await world.session(TOMORROW)
    got = await files(fhir, await get_manifest(fhir))
    assert [s["id"] for s in got["Schedule"]] == [str(session.id)]

    clock.advance(timedelta(minutes=1))
    since = (await get_manifest(fhir))["transactionTime"]
    clock.advance(timedelta(minutes=1))
    await services.handle(bookings.StopSession(session_id=session.id, mode="cancel"))  # 停诊
    changed = await files(fhir, await get_manifest(fhir, since))
    assert [(s["id"], s["active"]) for s in changed["Schedule"]] == [(str(session.id), False)]
    assert {s["status"] for s in changed["Slot"]} == {"busy-unavailable"}
    assert len(changed["Slot"]) == len(await slot_ids(services, session.id))


async def test_bad_bulk_requests_are_outcomes(fhir, services):
    await World(services).basic(TOMORROW)
    for path, status, code in [
        ("/$bulk-publish?_since=yesterday", 400, "invalid_since"),
        ("/$bulk-publish?colour=red", 400, "unknown_parameter"),
        ("/bulk/H001/Slot.ndjson?_since=2026-99-01", 400, "invalid_since"),
        ("/bulk/H001/Patient.ndjson", 404, "not_found"),
        ("/bulk/H404/Slot.ndjson", 404, "not_found"),
        ("/bulk/H404/$bulk-publish", 404, "not_found"),
        ("/bulk/H001/$bulk-publish?_since=x", 400, "invalid_since"),
    ]:
        got, outcome = await fhir.get(path)
        assert (got, error_code(outcome)) == (status, code), (path, outcome)
