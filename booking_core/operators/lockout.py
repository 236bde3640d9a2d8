"""The log-in lockout (登录锁定) as a pure judgement over the stored attempts.

It is worked out from the stored attempts, never from a counter on the operator row, so an
unknown user name is locked exactly like a known one (no user-name probing). What counts:

* per account (user name), the password streak: after ``lock_after`` (5) failures in a row
  (a wrong password or a wrong code) the account is soft-locked for ``lock_minutes`` (15).
  The streak goes on after the lock ends (until a right password or code, or an
  administrator's password reset): each further failure locks again, 15 minutes longer each
  time (30, 45 …, at most a day), the "increasing delay";
* per account, the code streak: wrong one-time codes counted on their own, across right
  passwords; only a right code or an administrator's reset ends it. ``lock_after`` of them
  lock the account as above, so a stolen password cannot be used to guess codes 4 at a time;
* per account: never more than ``account_per_hour`` (100) attempts evaluated in an hour;
* per source (address): after ``source_failures`` (20) failures within ``source_minutes``
  (15) the source is *slowed*, never locked: each of its attempts waits
  ``source_delay_seconds`` before the password is checked and at most
  ``source_in_flight`` of its attempts are checked at once. So a correct password for a
  known, unlocked account is not refused because of where it comes from (one NAT address,
  a reverse proxy) while a sprayer behind that address gets a handful of guesses a second.

An attempt is *reserved* before its password or code is checked: the counts are read and a
``pending`` attempt written in one unit of work (serialised per user name and per source), so
a burst of parallel guesses is judged one after the other. A pending attempt counts as a
failure until it is settled with its real outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import FAILURES, PENDING, SUCCESSES, LoginOutcome


@dataclass(frozen=True)
class LoginPolicy:
    lock_after: int = 5  # failures in a row before the first soft lock
    lock_minutes: int = 15  # the first lock; each later failure locks 15 minutes more
    max_lock_minutes: int = 24 * 60
    streak_hours: int = 24  # failures older than this no longer count towards a streak
    account_per_hour: int = 100  # attempts evaluated per account per hour, at most
    source_failures: int = 20  # failures from one address before it is slowed down
    source_minutes: int = 15
    # a slowed source: each attempt waits this long before its password is checked (a
    # sequential guesser gets one guess per 2 s; a person typing does not notice) ...
    source_delay_seconds: float = 2.0
    # ... and no more than this many of its attempts are checked at once (a parallel guesser
    # gets 4 guesses per 2 s; an office of agents logging in at 08:00 rarely has 4 at once)
    source_in_flight: int = 4
    in_flight_seconds: int = 60  # a pending attempt older than this is no longer in flight

    def streak_since(self, now: int) -> int:
        return now - self.streak_hours * 3600

    def source_since(self, now: int) -> int:
        return now - self.source_minutes * 60

    def lock_seconds(self, streak: int) -> int:
        if streak < self.lock_after:
            return 0
        minutes = self.lock_minutes * (streak - self.lock_after + 1)
        return min(minutes, self.max_lock_minutes) * 60


@dataclass(frozen=True, slots=True)
class LoginHistory:
    """Recent attempts for one user name and one source, newest first (for the lockout)."""

    attempts: tuple[tuple[int, str], ...]  # (epoch, outcome) since ``since``, newest first
    evaluated_last_hour: int  # attempts for the account whose password was checked
    source_failures: int  # failed (or pending) attempts from the source within its window
    source_in_flight: int = 0  # attempts from the source reserved but not yet settled


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may be evaluated; if not, why (an outcome) and until when."""

    allowed: bool
    outcome: LoginOutcome | None = None  # LOCKED or THROTTLED when refused
    retry_at: int | None = None  # epoch seconds
    delay_seconds: float = 0.0  # allowed, but from a slowed source: wait this long first
    attempt_id: int | None = None  # the pending attempt reserved, to be settled


PASSWORD_STREAK = FAILURES + PENDING  # what a right password or code ends

CODE_FAILURES = (LoginOutcome.BAD_TOTP, LoginOutcome.PENDING_TOTP)

CODE_SUCCESSES = (LoginOutcome.TOTP_OK, LoginOutcome.RESET)  # never a right password alone


def failure_streak(history: LoginHistory) -> tuple[int, int | None]:
    """Failures in a row since the last success, and the instant of the latest one."""
    return _streak(history, PASSWORD_STREAK, SUCCESSES)


def code_streak(history: LoginHistory) -> tuple[int, int | None]:
    """Wrong codes since the last right code or reset (right passwords between do not count)."""
    return _streak(history, CODE_FAILURES, CODE_SUCCESSES)


def _streak(
    history: LoginHistory, failures: tuple[str, ...], successes: tuple[str, ...]
) -> tuple[int, int | None]:
    streak, latest = 0, None
    for at, outcome in history.attempts:
        if outcome in successes:
            break
        if outcome in failures:
            streak += 1
            latest = at if latest is None else latest
    return streak, latest


def judge(history: LoginHistory, now: int, policy: LoginPolicy) -> Verdict:
    """May the next attempt for this account from this source be evaluated?"""
    until = 0
    for streak, latest in (failure_streak(history), code_streak(history)):
        if latest is not None:
            until = max(until, latest + policy.lock_seconds(streak))
    if until > now:
        return Verdict(False, LoginOutcome.LOCKED, until)
    if history.evaluated_last_hour >= policy.account_per_hour:
        return Verdict(False, LoginOutcome.THROTTLED, now + 3600)
    if history.source_failures >= policy.source_failures:  # slowed, not locked
        delay = policy.source_delay_seconds
        if history.source_in_flight >= policy.source_in_flight:
            return Verdict(False, LoginOutcome.THROTTLED, now + max(1, round(delay)))
        return Verdict(True, delay_seconds=delay)
    return Verdict(True)
