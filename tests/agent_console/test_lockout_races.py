"""The lockout under a real parallel burst of log-in requests, on SQLite and on PostgreSQL
(issue #10, items 2 and 17).

Each race sends many real HTTP requests at once (``asyncio.gather``) to the console app over
the real bus and store. An attempt is reserved (judged, and a pending attempt written) in one
write before its password or code is checked, so the burst is judged one attempt after the
other and exactly the policy's number is evaluated.

The negative controls run the very same burst with the guard off: ``CHECK_IN_ONE_WRITE``
False brings back the check-then-act (the history read in one transaction, the pending
attempt written in another), and the burst must then get more attempts evaluated than the
policy allows, else the race could not have caught a broken guard and would prove nothing.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pyotp
import pytest

from agent_console.auth import LoginPolicy
from agent_console.views import login
from booking_core import operators
from booking_core.operators import lockout as login_lockout
from tests.agent_console.helpers import (
    GOOD_PASSWORD,
    Console,
    add_operator,
    code_at,
    console_settings,
    table,
)
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WRONG = "not the password at all"


@pytest.fixture
def check_then_act(monkeypatch):
    """The negative control: the guard off (judged in one transaction, reserved in another)."""
    monkeypatch.setattr(login, "CHECK_IN_ONE_WRITE", False)


def wrong_code() -> str:
    return "123456" if pyotp.TOTP(SECRET).now() != "123456" else "654321"


async def burst(console: Console, path: str, forms: list[dict]) -> Counter[int]:
    """Every form posted at once from one browser: how many answers of each status."""
    answers = await asyncio.gather(*(console.post(path, f) for f in forms))
    return Counter(status for status, _body in answers)


async def evaluated(services, username: str) -> Counter[str]:
    found = await table(
        services,
        "SELECT outcome, tally FROM login_attempts WHERE username = ? AND evaluated = 1",
        username,
    )
    return Counter(r["outcome"] for r in found)


# --- item 2: forty wrong passwords at once ---------------------------------------------------


async def _forty_wrong_passwords(browser, services) -> Counter[int]:
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    await alice.open_login()
    return await burst(alice, "/login", [{"username": "agent1", "password": WRONG}] * 40)


async def test_forty_parallel_wrong_passwords_get_five_evaluated(browser, services, hospitals):
    statuses = await _forty_wrong_passwords(browser, services)

    assert statuses == {401: 5, 429: 35}
    assert await evaluated(services, "agent1") == {operators.LoginOutcome.BAD_PASSWORD: 5}
    alice = await browser()
    assert (await alice.login("agent1", GOOD_PASSWORD))[0] == 429  # and it is locked


async def test_control_forty_wrong_passwords_without_the_guard(
    browser, services, hospitals, check_then_act
):
    statuses = await _forty_wrong_passwords(browser, services)

    assert statuses[401] > 5, f"the race cannot fail: it proves nothing ({statuses})"


# --- item 2: the per-hour cap of one account -------------------------------------------------


async def _burst_at_the_hourly_cap(browser, services) -> Counter[int]:
    agent_id = await add_operator(services, "agent1", ("agent",), "H001")
    for _ in range(97):  # three evaluations left this hour
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
    await alice.open_login()
    return await burst(alice, "/login", [{"username": "agent1", "password": GOOD_PASSWORD}] * 30)


async def test_a_burst_at_the_hourly_cap_gets_only_what_is_left(browser, services, hospitals):
    statuses = await _burst_at_the_hourly_cap(browser, services)

    assert statuses == {200: 3, 429: 27}
    assert sum((await evaluated(services, "agent1")).values()) == 100


async def test_control_the_hourly_cap_without_the_guard(
    browser, services, hospitals, check_then_act
):
    statuses = await _burst_at_the_hourly_cap(browser, services)

    assert statuses[200] > 3, f"the race cannot fail: it proves nothing ({statuses})"


# --- item 2: the per-source rules ------------------------------------------------------------


SLOWED = LoginPolicy(source_delay_seconds=0.5)


async def _spray_from_one_address(browser, services) -> Counter[int]:
    """Forty made-up user names at once from one address: the first 20 failures slow the
    source down, and a slowed source has at most 4 attempts checked at once."""
    sprayer = await browser(console_settings(policy=SLOWED))
    await sprayer.open_login()
    forms = [{"username": f"ghost{n}", "password": WRONG} for n in range(40)]
    return await burst(sprayer, "/login", forms)


async def test_a_spray_from_one_address_gets_twenty_evaluated(browser, services, hospitals):
    statuses = await _spray_from_one_address(browser, services)

    # 20 before the source is slowed; then a few at a time (the 20 pending ones settled in
    # the meantime make room for at most 4 more, each after its delay)
    assert 20 <= statuses[401] <= 20 + SLOWED.source_in_flight, statuses
    assert statuses[401] + statuses[429] == 40
    [row] = await table(
        services, "SELECT count(*) AS n FROM login_attempts WHERE outcome = 'bad_password'"
    )
    assert row["n"] == statuses[401]


async def test_control_a_spray_without_the_guard(browser, services, hospitals, check_then_act):
    statuses = await _spray_from_one_address(browser, services)

    assert statuses[401] > 20 + SLOWED.source_in_flight, (
        f"the race cannot fail: it proves nothing ({statuses})"
    )


# --- item 2: three hundred wrong codes on one session ----------------------------------------


async def _wrong_codes_at_once(browser, services, n: int) -> tuple[Console, Counter[int]]:
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    alice = await browser()
    status, body = await alice.login("root")
    assert (status, body["stage"]) == (200, "totp")
    return alice, await burst(alice, "/login/totp", [{"code": wrong_code()}] * n)


async def test_three_hundred_parallel_wrong_codes_get_five_evaluated(
    browser, services, clock, hospitals
):
    alice, statuses = await _wrong_codes_at_once(browser, services, 300)

    assert statuses == {401: 5, 429: 295}
    assert (await evaluated(services, "root"))[operators.LoginOutcome.BAD_TOTP] == 5
    assert (await alice.totp(code_at(SECRET, clock)))[0] == 429  # the right code: locked


async def test_control_wrong_codes_without_the_guard(browser, services, hospitals, check_then_act):
    _alice, statuses = await _wrong_codes_at_once(browser, services, 300)

    assert statuses[401] > 5, f"the race cannot fail: it proves nothing ({statuses})"


# --- item 17: wrong codes between right passwords, in bursts ---------------------------------


@pytest.fixture
def code_streak_ended_by_a_password(monkeypatch):
    """The negative control for item 17: a right password ends the code streak (as before)."""
    pass

    monkeypatch.setattr(login_lockout, "CODE_SUCCESSES", operators.SUCCESSES)


async def _codes_between_passwords(browser, services) -> list[Counter[int]]:
    """Four cycles of a right password then 4 wrong codes at once (4: one short of the lock
    that each cycle's right password used to end)."""
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    rounds = []
    for _ in range(4):
        thief = await browser()  # knows the password, guesses the code
        status, _body = await thief.login("root")
        if status != 200:
            rounds.append(Counter({f"password {status}": 1}))
            continue
        rounds.append(await burst(thief, "/login/totp", [{"code": wrong_code()}] * 4))
    return rounds


async def test_code_bursts_between_right_passwords_lock_after_five(browser, services, hospitals):
    rounds = await _codes_between_passwords(browser, services)

    assert rounds == [
        {401: 4},
        {401: 1, 429: 3},  # the 5th wrong code since the last right one locks
        {"password 429": 1},  # the right password no longer gets in
        {"password 429": 1},
    ]
    assert (await evaluated(services, "root"))[operators.LoginOutcome.BAD_TOTP] == 5


async def test_control_code_bursts_with_the_streak_ended_by_passwords(
    browser, services, hospitals, code_streak_ended_by_a_password
):
    rounds = await _codes_between_passwords(browser, services)

    assert (await evaluated(services, "root"))[operators.LoginOutcome.BAD_TOTP] == 16, (
        rounds
    )  # never locked


async def _burst_in_the_second_cycle(browser, services) -> Counter[int]:
    """4 wrong codes, a right password again, then 60 wrong codes at once."""
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    thief = await browser()
    await thief.login("root")
    await burst(thief, "/login/totp", [{"code": wrong_code()}] * 4)
    thief = await browser()
    assert (await thief.login("root"))[0] == 200
    return await burst(thief, "/login/totp", [{"code": wrong_code()}] * 60)


async def test_a_burst_in_the_second_cycle_gets_one_code_checked(browser, services, hospitals):
    statuses = await _burst_in_the_second_cycle(browser, services)

    assert statuses == {401: 1, 429: 59}


async def test_control_a_burst_in_the_second_cycle_without_the_guard(
    browser, services, hospitals, check_then_act
):
    statuses = await _burst_in_the_second_cycle(browser, services)

    assert statuses[401] > 1, f"the race cannot fail: it proves nothing ({statuses})"
