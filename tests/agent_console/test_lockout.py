"""Failed log-ins: the soft lock after 5, longer locks after, per-source and per-hour caps,
an audit row for every attempt (never the password)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pyotp

from agent_console.auth import LoginPolicy, code_streak, failure_streak, judge
from booking_core import events, operators
from booking_core.operators import LoginHistory
from tests.agent_console.helpers import (
    GOOD_PASSWORD,
    PASSWORDS,
    add_operator,
    console_settings,
    table,
)

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
            operators.RecordLoginAttempt(
                username="agent1",
                source="10.0.0.7",
                outcome=operators.LoginOutcome.LOCKED,
                evaluated=False,
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
        operators.ResetPassword(
            operator_id=agent_id, password_hash=PASSWORDS.hash("temp-pass-1234")
        )
    )
    status, body = await alice.login("agent1", "temp-pass-1234")
    assert (status, body["stage"]) == (200, "change_password")


async def test_a_sprayed_source_is_slowed_not_locked(browser, services, clock, hospitals):
    """20 failures for made-up names from one address (a NAT, a reverse proxy), then a real
    operator from it with the right password: let in, after the slowed source's delay."""
    await add_operator(services, "agent1", ("agent",), "H001")
    policy = LoginPolicy(source_delay_seconds=0.3)
    office = await browser(console_settings(policy=policy))
    for n in range(20):
        assert (await office.login(f"ghost{n}", WRONG))[0] == 401
    assert (await office.login("ghost20", WRONG))[0] == 401  # still evaluated, slowly

    started = time.monotonic()
    status, body = await office.login("agent1", GOOD_PASSWORD)
    assert (status, body["stage"]) == (200, "ready")
    assert time.monotonic() - started >= 0.3  # slowed down
    [row] = await table(
        services, "SELECT outcome, evaluated FROM login_attempts WHERE username = 'agent1'"
    )
    assert row == {"outcome": "ok", "evaluated": 1}
    clock.advance(minutes=16)  # the failures aged out: no delay any more
    started = time.monotonic()
    assert (await (await browser()).login("agent1", GOOD_PASSWORD))[0] == 200
    assert time.monotonic() - started < 0.3


async def test_a_slowed_source_has_a_few_attempts_checked_at_once(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    policy = LoginPolicy(source_delay_seconds=0.5)
    office = await browser(console_settings(policy=policy))
    for n in range(20):
        await office.login(f"ghost{n}", WRONG)
    answers = await asyncio.gather(*(office.login(f"spray{n}", WRONG) for n in range(10)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [401] * 4 + [429] * 6
    refused = next(body for status, body in answers if status == 429)
    assert refused["error"] == "login_locked"


async def test_never_more_than_100_evaluated_per_hour_per_account(
    browser, services, clock, hospitals
):
    agent_id = await add_operator(services, "agent1", ("agent",), "H001")
    for _ in range(100):  # successes and a few failures, none of them a lock
        await services.handle(
            operators.RecordLoginAttempt(
                username="agent1",
                source="10.0.0.9",
                outcome=operators.LoginOutcome.OK,
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
    fails = tuple((now - i, operators.LoginOutcome.BAD_PASSWORD) for i in range(1, 5))
    history = LoginHistory(
        attempts=(
            (now - 1, operators.LoginOutcome.BAD_PASSWORD),
            (now - 2, operators.LoginOutcome.OK),
            *fails,
        ),
        evaluated_last_hour=6,
        source_failures=0,
    )
    assert judge(history, now, LoginPolicy()).allowed
    locked = LoginHistory(
        attempts=((now - 1, operators.LoginOutcome.BAD_TOTP), *fails),
        evaluated_last_hour=5,
        source_failures=0,
    )
    verdict = judge(locked, now, LoginPolicy())
    assert (verdict.allowed, verdict.outcome) == (False, operators.LoginOutcome.LOCKED)
    assert verdict.retry_at == now - 1 + 15 * 60
    assert timedelta(seconds=verdict.retry_at - now) < timedelta(minutes=15)


async def test_log_in_attempts_are_purged_after_a_month(browser, services, hospitals, clock):
    await add_operator(services, "agent9", ("agent",), "H001")
    alice = await browser()
    await alice.login("agent9", WRONG)
    assert len(await table(services, "SELECT * FROM login_attempts")) == 1
    clock.advance(timedelta(days=29))
    await services.handle(events.PurgeAudit())
    assert len(await table(services, "SELECT * FROM login_attempts")) == 1
    clock.advance(timedelta(days=2))
    await services.handle(events.PurgeAudit())
    assert await table(services, "SELECT * FROM login_attempts") == []
    assert await table(services, "SELECT * FROM audit WHERE action = 'login.bad_password'")


# --- refused attempts are tallied (#10 item 13) ----------------------------------------------


async def test_refused_attempts_are_one_row_per_source_and_minute(
    browser, services, clock, hospitals
):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    for _ in range(5):
        await alice.login("agent1", WRONG)
    for _ in range(300):  # hammering the locked account: not 300 rows and 300 audit records
        assert (await alice.login("agent1", WRONG))[0] == 429
    await alice.login("ghost", WRONG)  # another name, same source, same minute
    clock.advance(minutes=1)
    assert (await alice.login("agent1", WRONG))[0] == 429  # a new minute, a new row

    attempts = await table(
        services,
        "SELECT username, outcome, evaluated, tally FROM login_attempts ORDER BY id",
    )
    assert attempts == [
        *[{"username": "agent1", "outcome": "bad_password", "evaluated": 1, "tally": 1}] * 5,
        {"username": "agent1", "outcome": "locked", "evaluated": 0, "tally": 300},
        {"username": "ghost", "outcome": "bad_password", "evaluated": 1, "tally": 1},
        {"username": "agent1", "outcome": "locked", "evaluated": 0, "tally": 1},
    ]
    audit = await table(
        services, "SELECT action FROM audit WHERE action LIKE 'login.%' ORDER BY id"
    )
    assert [a["action"] for a in audit] == (
        ["login.bad_password"] * 5 + ["login.locked", "login.bad_password", "login.locked"]
    )


async def test_a_tally_over_several_names_names_none(browser, services, hospitals):
    for name in ("agent1", "agent2"):
        await services.handle(
            operators.RecordLoginAttempt(
                username=name,
                source="10.0.0.7",
                outcome=operators.LoginOutcome.THROTTLED,
                evaluated=False,
            )
        )
    [row] = await table(services, "SELECT username, tally, operator_id FROM login_attempts")
    assert row == {"username": "*", "tally": 2, "operator_id": None}


# --- wrong codes between right passwords (#10 item 17) ---------------------------------------

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _wrong_code() -> str:
    return "123456" if pyotp.TOTP(SECRET).now() != "123456" else "654321"


async def _password_then_codes(browser, codes: int) -> list[int]:
    thief = await browser()
    status, body = await thief.login("root")
    if status != 200:
        return [status]
    assert body["stage"] == "totp"
    return [status] + [(await thief.totp(_wrong_code()))[0] for _ in range(codes)]


async def test_wrong_codes_lock_even_with_right_passwords_between(
    browser, services, clock, hospitals
):
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    assert await _password_then_codes(browser, 4) == [200, 401, 401, 401, 401]
    assert await _password_then_codes(browser, 2) == [200, 401, 429]  # the 5th code locks
    assert await _password_then_codes(browser, 0) == [429]  # the password no longer helps
    clock.advance(minutes=16)
    # the lock ended, the code streak did not: one more wrong code locks 30 minutes
    assert await _password_then_codes(browser, 1) == [200, 401]
    clock.advance(minutes=29)
    assert await _password_then_codes(browser, 0) == [429]


async def test_a_right_code_ends_the_code_streak(browser, services, clock, hospitals):
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    assert await _password_then_codes(browser, 4) == [200, 401, 401, 401, 401]
    alice = await browser()
    await alice.sign_in("root", secret=SECRET)
    clock.advance(seconds=30)  # a new code (each step is accepted once)
    assert await _password_then_codes(browser, 4) == [200, 401, 401, 401, 401]


async def test_an_admin_reset_ends_the_code_streak(browser, services, hospitals):
    root_id = await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    assert await _password_then_codes(browser, 4) == [200, 401, 401, 401, 401]
    assert await _password_then_codes(browser, 1) == [200, 401]  # locked now
    await services.handle(
        operators.ResetPassword(operator_id=root_id, password_hash=PASSWORDS.hash(GOOD_PASSWORD))
    )
    assert await _password_then_codes(browser, 4) == [200, 401, 401, 401, 401]


def test_the_code_streak_ignores_right_passwords():
    now = 1_000_000
    cycle = ((operators.LoginOutcome.BAD_TOTP,) * 4) + (operators.LoginOutcome.OK,)
    attempts = tuple((now - i, outcome) for i, outcome in enumerate(cycle * 2, start=1))
    history = LoginHistory(attempts=attempts, evaluated_last_hour=10, source_failures=0)
    assert failure_streak(history) == (4, now - 1)
    assert code_streak(history) == (8, now - 1)
    assert judge(history, now, LoginPolicy()).outcome == operators.LoginOutcome.LOCKED
