"""Fair admission at release (公平放号) at the API: a booking asked for in the window is
answered 202 with problem+json saying when the draw is (what the HIS tells its patient), a
repeat 409 ``already_queued``; FHIR words it as an information OperationOutcome."""

from __future__ import annotations

import json
from datetime import date

from booking_core.kernel.errors import Queued
from booking_core.kernel.unit import val
from booking_core.rules import RuleKey
from hospital_api.fhir.outcome import from_domain
from tests.booking_core.helpers import set_rule
from tests.support.world import local, slot_ids

DAY = date(2026, 7, 17)  # released 2026-07-10 07:30 Beijing


async def test_a_booking_in_the_window_is_accepted_202_and_queued(api, world, services, clock):
    session = await world.basic(DAY)
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, 10)
    patient = await world.patient()
    his = await api.token("his", "H001")
    clock.set(local(2026, 7, 10, 7, 30, 3))
    slot = (await slot_ids(services, session.id))[0]
    body = {"slot_id": slot, "patient_id": patient.id}
    status, problem = await api.call("POST", "/bookings", his, json=body)
    assert status == 202, problem
    assert problem["code"] == "queued"
    assert problem["draw_at"] == "2026-07-10T07:30:10+08:00"
    assert "texted" in problem["detail"]

    def queued(tx):
        return (yield val("SELECT count(*) FROM release_requests WHERE status = 'queued'"))

    assert await services.store.read(queued) == 1  # what 202 said is true
    status, problem = await api.call("POST", "/bookings", his, json=body)
    assert (status, problem["code"]) == (409, "already_queued")
    assert await services.store.read(queued) == 1


def test_fhir_says_queued_as_information_not_an_error():
    response = from_domain(Queued(draw_at=local(2026, 7, 10, 7, 30, 10)))
    assert response.status == 202
    (issue,) = json.loads(response.body)["issue"]
    assert (issue["severity"], issue["code"]) == ("information", "informational")
    assert issue["details"]["coding"][0]["code"] == "queued"
    assert "2026-07-10T07:30:10+08:00" in issue["diagnostics"]
