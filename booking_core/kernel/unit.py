"""The unit of work's vocabulary: :class:`Query` builders, the transaction a unit sees
(:class:`Tx`), commands, and the helpers every domain uses.

Unit-of-work functions are *generators* that yield :class:`Query` objects and receive
their results (a sans-I/O style); each store (:mod:`booking_core.store`) decides how to run
them. SQL uses ``?`` placeholders; the PostgreSQL driver rewrites them to ``$n``."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, NamedTuple, Protocol, TypeVar, overload

import orjson

from .actor import SYSTEM, Actor

T = TypeVar("T")
R = TypeVar("R")  # what a command's unit returns (invariant: a handler must return exactly it)

Row = Mapping[str, Any]
"""A row as a unit receives it: values by column name (sqlite3.Row, asyncpg.Record)."""

MAX_ROWS = 500
"""The most rows a read hands back at once."""

Op = Literal["one", "rows", "val", "exec"]


class Query(NamedTuple):
    """One statement a unit of work asks its driver to run (a tuple: made per statement)."""

    op: Op
    sql: str
    args: tuple[Any, ...] = ()
    # PostgreSQL row locks: True → FOR UPDATE, "skip" → FOR UPDATE SKIP LOCKED.
    # SQLite ignores it: its writes are serial anyway.
    lock: bool | str = False


def one(sql: str, *args: Any, lock: bool | str = False) -> Query:
    """The first row (a mapping by column name) or None."""
    return Query("one", sql, args, lock)


def rows(sql: str, *args: Any, lock: bool | str = False) -> Query:
    return Query("rows", sql, args, lock)


def val(sql: str, *args: Any) -> Query:
    """The first column of the first row, or None."""
    return Query("val", sql, args)


def execute(sql: str, *args: Any) -> Query:
    """Returns the number of rows changed."""
    return Query("exec", sql, args)


Unit = Generator[Query, Any, R]
"""A unit of work returning ``R``: ``def book_slot(tx, cmd, deps) -> Unit[BookingView]``.
It yields :class:`Query` objects, receives their results and returns its answer."""

UnitOfWork = Callable[..., Unit[T]]


@dataclass(frozen=True, kw_only=True)
class Command(Generic[R]):
    """What a door asks the core to do (imperative: ``BookSlot``), answered with an ``R``
    (``class BookSlot(Command[BookingView])``): ``services.handle(cmd)`` is typed ``R``."""

    actor: Actor = field(default=SYSTEM)


class UniqueViolation(Exception):
    """A unique index refused a row; ``constraint`` is the index name from the schema."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


class CheckViolation(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Recordable(Protocol):
    """What :meth:`Tx.emit` records: a typed event (:class:`booking_core.events.Event`; the
    kernel sits below the events package, so it names only what the store writes of one)."""

    topic: ClassVar[str]

    @property
    def hospital_id(self) -> int | None: ...

    @property
    def key(self) -> str: ...

    def payload(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class PendingAudit:
    actor: str
    action: str
    entity: str
    entity_id: str
    hospital_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(slots=True)
class Tx:
    """What a unit of work may use besides queries: the instant, the dialect, and
    recorders for outbox events and audit records (written before the commit)."""

    now: datetime
    dialect: str
    epoch: int = 0  # ``now`` in epoch seconds, as the store keeps instants
    events: list[Recordable] = field(default_factory=list)
    audits: list[PendingAudit] = field(default_factory=list)
    unsafe_capacity_check: bool = False  # test-only negative control, see Settings

    def __post_init__(self) -> None:
        self.epoch = to_epoch(self.now)

    def emit(self, event: Recordable) -> None:
        """Record ``event`` for the outbox (written with the unit, kept only if it commits)."""
        self.events.append(event)

    def audit(
        self,
        actor: Actor,
        action: StrEnum,
        entity: str,
        entity_id: Any,
        *,
        hospital_id: int | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Record an audit row. ``action`` is a :class:`booking_core.events.AuditAction`,
        never a free string: one vocabulary for the audit log and the events."""
        if not isinstance(action, StrEnum):
            raise TypeError(f"an audit action is an AuditAction, not {action!r}")
        self.audits.append(
            PendingAudit(
                actor.label, str(action), entity, str(entity_id), hospital_id, before, after
            )
        )


def to_epoch(instant: datetime) -> int:
    return int(instant.timestamp())


@overload
def from_epoch(value: int) -> datetime: ...
@overload
def from_epoch(value: None) -> None: ...
@overload
def from_epoch(value: int | None) -> datetime | None: ...
def from_epoch(value: int | None) -> datetime | None:
    """An instant the store keeps as epoch seconds (None stays None)."""
    return None if value is None else datetime.fromtimestamp(value, UTC)


def dumps(value: Any) -> str:
    """Compact JSON for event payloads and audit states (orjson: several times the stdlib)."""
    return orjson.dumps(value, default=str).decode()
