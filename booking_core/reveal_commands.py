"""Revealing a patient's clear ID number and phone (查看完整证件号/手机号): a command, so
that every look is one audit row (who, which patient, which fields — never the values)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from . import queries
from .commands import Command
from .errors import InvalidInput
from .handlers import Deps
from .store.base import Query, Tx, one

Gen = Generator[Query, Any, Any]

REVEALABLE = ("id_number", "phone")


@dataclass(frozen=True, kw_only=True)
class RevealPatient(Command):
    patient_id: int
    fields: tuple[str, ...] = REVEALABLE


def reveal_patient(tx: Tx, cmd: RevealPatient, deps: Deps) -> Gen:
    """The clear values of ``cmd.fields`` (NotFound for another hospital's patient)."""
    fields = tuple(dict.fromkeys(cmd.fields))
    if not fields or any(f not in REVEALABLE for f in fields):
        raise InvalidInput("fields", " | ".join(REVEALABLE))
    clear = yield from queries.reveal_patient(tx, cmd.patient_id, cmd.actor, deps.cipher)
    hospital_id = yield one("SELECT hospital_id FROM patients WHERE id = ?", cmd.patient_id)
    tx.audit(
        cmd.actor,
        "patient.reveal",
        "patient",
        cmd.patient_id,
        hospital_id=hospital_id["hospital_id"],
        after={"fields": list(fields), "channel": str(cmd.actor.channel)},
    )
    return {f: clear[f] or "" for f in fields}


HANDLERS: dict[type[Command], Callable[..., Any]] = {RevealPatient: reveal_patient}
