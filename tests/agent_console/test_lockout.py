"""Failed log-ins: the soft lock after 5, longer locks after, per-source and per-hour caps,
an audit row for every attempt (never the password)."""

from __future__ import annotations

import json
from datetime import timedelta

from agent_console.auth import LoginPolicy, judge
from booking_core import commands as c
from booking_core import operator_commands as oc
from booking_core.operator_queries import LoginHistory
from tests.agent_console.helpers import GOOD_PASSWORD, PASSWORDS, add_operator, table

WRONG = "not the password at all"


async def test_five_wrong_passwords_lock_the_account_for_15_minutes(
    browser, services, clock, hospitals
):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    for _ in range(5):
        status, body = await alice.login("agent1", WRONG)
        assert (status, body["error"]) == (401, "login_failed")

    status, body = await alice.login("agent1", GOOD_PASSWORD)  # right, but locked
    assert (status, body["error"]) == (429, "login_locked")
    clock.advance(minutes=14, seconds=59)
    assert (await alice.login("agent1", GOOD_PASSWORD))[0] == 429

    clock.advance(seconds=2)
    status, body = await alice.login("agent1", GOOD_PASSWORD)
    assert (status, body["stage"]) == (200, "ready")


async def test_each_failure_after_the_lock_locks_longer(browser, services, clock, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    for _ in range(5):
        await alice.login("agent1", WRONG)
    clock.advance(minutes=16)
    assert (await alice.login("agent1", WRONG))[0] == 401  # evaluated: the 6th failure
    clock.advance(minutes=29)
    assert (await alice.login("agent1", GOOD_PASSWORD))[0] == 429  # 30 minutes now
    clock.advance(minutes=2)
    assert (await alice.login("agent1", GOOD_PASSWORD))[0] == 200


async def test_hammering_a_locked_account_does_not_unlock_it(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    for _ in range(5):
        await alice.login("agent1", WRONG)
    for _ in range(120):  # refused attempts are kept too, but never end the streak
        await services.handle(
            oc.RecordLoginAttempt(
                username="agent1", source="10.0.0.7", outcome=oc.LOCKED, evaluated=False
            )
        )
    assert (await alice.login("agent1", GOOD_PASSWORD))[0] == 429


async def test_an_unknown_user_name_locks_like_a_real_one(browser, services, hospitals):
    alice = await browser()
    for _ in range(5):
        assert (await alice.login("ghost", WRONG))[0] == 401
    assert (await alice.login("ghost", WRONG))[0] == 429


async def test_a_password_reset_ends_the_lock(browser, services, hospitals):
    agent_id = await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    for _ in range(5):
        await alice.login("agent1", WRONG)
    await services.handle(
        oc.ResetPassword(operator_id=agent_id, password_hash=PASSWORDS.hash("temp-pass-1234"))
    )
    status, body = await alice.login("agent1", "temp-pass-1234")
    assert (status, body["stage"]) == (200, "change_password")


async def test_one_source_is_throttled_across_accounts(browser, services, clock, hospitals):
    for n in range(6):
        await add_operator(services, f"agent{n}", ("agent",), "H001")
    sprayer = await browser()
    for n in range(5):  # 4 guesses at each of 5 accounts: no account reaches its lock
        for _ in range(4):
            assert (await sprayer.login(f"agent{n}", WRONG))[0] == 401
    status, body = await sprayer.login("agent5", GOOD_PASSWORD)  # 21st: source throttled
    assert (status, body["error"]) == (429, "login_locked")
    [row] = await table(
        services, "SELECT outcome, evaluated FROM login_attempts WHERE username = 'agent5'"
    )
    assert row == {"outcome": "throttled", "evaluated": 0}
    clock.advance(minutes=16)
    assert (await sprayer.login("agent5", GOOD_PASSWORD))[0] == 200


async def test_never_more_than_100_evaluated_per_hour_per_account(
    browser, services, clock, hospitals
):
    agent_id = await add_operator(services, "agent1", ("agent",), "H001")
    for _ in range(100):  # successes and a few failures, none of them a lock
        await services.handle(
            oc.RecordLoginAttempt(
                username="agent1",
                source="10.0.0.9",
                outcome=oc.LOGIN_OK,
                evaluated=True,
                operator_id=agent_id,
            )
        )
    alice = await browser()
    status, body = await alice.login("agent1", GOOD_PASSWORD)
    assert (status, body["error"]) == (429, "login_locked")
    clock.advance(minutes=61)
    assert (await alice.login("agent1", GOOD_PASSWORD))[0] == 200


async def test_every_attempt_is_audited_without_the_password(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    for _ in range(5):
        await alice.login("agent1", WRONG)
    await alice.login("agent1", GOOD_PASSWORD)  # locked: refused, still audited
    audit = await table(
        services,
        "SELECT actor, action, after_state FROM audit WHERE entity = 'operator' "
        "AND entity_id = 'agent1' AND action LIKE 'login.%' ORDER BY id",
    )
    assert [a["action"] for a in audit] == ["login.bad_password"] * 5 + ["login.locked"]
    assert all(a["actor"] == "login:127.0.0.1" for a in audit)
    for row in audit:
        assert WRONG not in json.dumps(row)
        assert GOOD_PASSWORD not in json.dumps(row)
    attempts = await table(services, "SELECT * FROM login_attempts")
    assert len(attempts) == 6
    assert WRONG not in json.dumps(attempts)


def test_policy_lock_grows_and_is_capped():
    policy = LoginPolicy()
    assert [policy.lock_seconds(n) // 60 for n in range(3, 9)] == [0, 0, 15, 30, 45, 60]
    assert policy.lock_seconds(500) == 24 * 3600


def test_a_success_ends_the_streak():
    now = 1_000_000
    fails = tuple((now - i, oc.BAD_PASSWORD) for i in range(1, 5))
    history = LoginHistory(
        attempts=((now - 1, oc.BAD_PASSWORD), (now - 2, oc.LOGIN_OK), *fails),
        evaluated_last_hour=6,
        source_failures=0,
    )
    assert judge(history, now, LoginPolicy()).allowed
    locked = LoginHistory(
        attempts=((now - 1, oc.BAD_TOTP), *fails), evaluated_last_hour=5, source_failures=0
    )
    verdict = judge(locked, now, LoginPolicy())
    assert (verdict.allowed, verdict.outcome) == (False, oc.LOCKED)
    assert verdict.retry_at == now - 1 + 15 * 60
    assert timedelta(seconds=verdict.retry_at - now) < timedelta(minutes=15)


async def test_log_in_attempts_are_purged_after_a_month(browser, services, hospitals, clock):
    await add_operator(services, "agent9", ("agent",), "H001")
    alice = await browser()
    await alice.login("agent9", WRONG)
    assert len(await table(services, "SELECT * FROM login_attempts")) == 1
    clock.advance(timedelta(days=29))
    await services.handle(c.PurgeAudit())
    assert len(await table(services, "SELECT * FROM login_attempts")) == 1
    clock.advance(timedelta(days=2))
    await services.handle(c.PurgeAudit())
    assert await table(services, "SELECT * FROM login_attempts") == []
    assert await table(services, "SELECT * FROM audit WHERE action = 'login.bad_password'")
