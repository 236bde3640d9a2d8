"""Migration 20 (the credit ladder) on both stores: where the platform or a hospital had
stored its own fixed no-show rule, the upgrade adds a switched-off ladder record of the same
scope and priority, so that rule stays in force; elsewhere the ladder (on by default) is."""

from __future__ import annotations

from booking_core.kernel.unit import execute, rows
from booking_core.rules import PLATFORM_DEFAULTS, RuleKey, RuleSet
from booking_core.rules.repo import stored_rules
from booking_core.store import make_store
from booking_core.store.migrations import all_migrations


async def test_a_stored_fixed_rule_keeps_the_ladder_off(db_url, clock):
    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:

        def before_the_ladder(tx):
            for table in ("appeals", "credit_cancels", "credit_strikes"):
                yield execute(f"DROP TABLE {table}")
            yield execute("DELETE FROM schema_migrations WHERE version = 20")
            yield execute(
                "INSERT INTO rules (key, value, enabled, priority, hospital_id, period_type, "
                "period_value, updated_at) VALUES ('no_show_blacklist', '2', 1, 3, NULL, "
                "'days', 60, 0)"
            )

        await store.write(before_the_ladder)
    finally:
        await store.close()

    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:

        def read(tx):
            found = yield rows("SELECT key, value, enabled, priority FROM rules ORDER BY id")
            records = yield from stored_rules(None)
            return [dict(r) for r in found], records

        found, records = await store.read(read)
    finally:
        await store.close()
    assert 20 in {m.version for m in all_migrations()}
    assert found == [
        {"key": "no_show_blacklist", "value": "2", "enabled": 1, "priority": 3},
        {"key": "credit_ladder", "value": "[0, 30, 90]", "enabled": 0, "priority": 3},
    ]
    rules = RuleSet(records, None)
    assert not rules.on(RuleKey.CREDIT_LADDER)
    assert rules.limit(RuleKey.NO_SHOW_BLACKLIST) == 2
    assert RuleSet((), None).on(RuleKey.CREDIT_LADDER)  # no stored rule: the ladder
    assert any(r.key is RuleKey.CREDIT_LADDER and r.enabled for r in PLATFORM_DEFAULTS)
