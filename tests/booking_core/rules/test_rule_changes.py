"""Rule records changed through the services, on both stores: each change audited with its
before and after, and a hospital's operator sets its own hospital's rules only."""

from __future__ import annotations

import json
from datetime import date

import pytest

from booking_core import catalogue, rules
from booking_core.events import outbox
from booking_core.kernel.actor import SYSTEM, Actor
from booking_core.kernel.errors import Forbidden
from booking_core.rules import Rule, RuleKey
from tests.booking_core.helpers import audit_rows

TOMORROW = date(2026, 7, 11)


# --- rule changes and their audit -----------------------------------------------------------


async def test_rule_changes_are_audited_with_before_and_after(world, services):
    await world.basic(TOMORROW)
    admin = Actor("operator", "admin01")
    hid = (await services.read(catalogue.hospital, "H001")).id
    await services.handle(
        rules.SetRule(rule=Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 3, hospital_id=hid), actor=admin)
    )
    await services.handle(
        rules.SetRule(rule=Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 4, hospital_id=hid), actor=admin)
    )
    rule_rows = [r for r in await audit_rows(services, "max_active_per_patient")]
    assert [r["action"] for r in rule_rows] == ["rule.changed", "rule.changed"]
    assert rule_rows[0]["before_state"] is None
    assert json.loads(rule_rows[1]["before_state"]) == {"value": "3", "enabled": True}
    assert json.loads(rule_rows[1]["after_state"])["value"] == 4
    _, stored = await services.read(rules.effective_rules, "H001", SYSTEM)
    assert [(r.key, r.value) for r in stored] == [(RuleKey.MAX_ACTIVE_PER_PATIENT, 4)]
    topics = [e.topic for e in await services.read(outbox.events, topic="rule.changed")]
    assert topics == ["rule.changed", "rule.changed"]


async def test_scoped_actor_sets_only_its_own_hospitals_rules(world, services):
    await world.basic(TOMORROW)
    hid = (await services.read(catalogue.hospital, "H001")).id
    scoped = Actor("operator", "h1admin", hid)
    with pytest.raises(Forbidden):
        await services.handle(
            rules.SetRule(rule=Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 9), actor=scoped)
        )
    await services.handle(
        rules.SetRule(rule=Rule(RuleKey.MAX_ACTIVE_PER_PATIENT, 9, hospital_id=hid), actor=scoped)
    )
