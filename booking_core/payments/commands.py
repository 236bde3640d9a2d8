"""Commands that move money (预交金): top-ups of a patient card's prepaid balance."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from ..patients.model import Patient


@dataclass(frozen=True, kw_only=True)
class TopUp(Command[Patient]):
    """Money onto a patient card's prepaid balance (fen)."""

    patient_id: int
    amount: int
    method: str = "cash"
    reference: str | None = None
