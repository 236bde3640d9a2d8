"""The one tenancy rule (院区隔离): an actor bound to a hospital (``Actor.hospital_id``)
sees and changes that hospital's rows only; a platform-wide actor (``hospital_id`` None:
the engine, a platform admin, an admin token) sees every hospital's.

These two helpers are the only code in the core that compares an actor's hospital:

- :func:`check` answers "may this actor see this hospital's row?". When not, the row is
  :class:`~.errors.NotFound`, which every door words exactly as a missing one: another
  hospital's booking numbers, patients or operators cannot be probed for. Only where the
  refusal is deliberate and tells nothing of another hospital does the caller ask for
  :class:`~.errors.Forbidden` instead (``forbidden=``): a row that belongs to no hospital
  (a platform rule, a platform-wide ban, a platform operator or token, a new hospital)
  is the platform's, and a hospital's actor may not create or change one.
- :func:`scope` limits a query to what the actor may see: the where-clause and its
  arguments for a hospital column, to a hospital the caller named or else to the actor's.

Each caller names the hospital by its id; a hospital named by its code is found, and
checked, by ``booking_core.catalogue.repo.hospital_for``. Callers call these through the
module (``tenancy.check(...)``), so a test can switch the rule off in one place and show
that every command and query depends on it (tests/booking_core/kernel/test_tenancy.py).
"""

from __future__ import annotations

from typing import Any

from .actor import Actor
from .errors import Forbidden, NotFound


def check(
    actor: Actor, hospital_id: int | None, entity: str, key: Any, *, forbidden: str = ""
) -> None:
    """Return if ``actor`` may see a row of hospital ``hospital_id`` (None: a platform
    row); else raise ``NotFound(entity, key)``, or ``Forbidden(action=forbidden)`` when
    the caller names the refused action."""
    if actor.hospital_id is None or actor.hospital_id == hospital_id:
        return
    if forbidden:
        raise Forbidden(action=forbidden)
    raise NotFound(entity, key)


def scope(actor: Actor, column: str, hospital_id: int | None = None) -> tuple[list[str], list[Any]]:
    """(where clauses, args) limiting ``column`` to hospital ``hospital_id`` when the
    caller names one (``NotFound("hospital", …)`` if the actor may not see it), else to
    the actor's hospital; none for a platform-wide actor. The lists are new: add to them."""
    if hospital_id is not None:
        check(actor, hospital_id, "hospital", hospital_id)
        return [f"{column} = ?"], [hospital_id]
    if actor.hospital_id is not None:
        return [f"{column} = ?"], [actor.hospital_id]
    return [], []
