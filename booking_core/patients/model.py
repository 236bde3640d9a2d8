"""A patient registered at one hospital (实名制患者)."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.identity import sex_of


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient registered at one hospital (实名制患者)."""

    id: int
    hospital_id: int
    name: str
    card_no: str  # 就诊卡号
    id_last4: str
    phone_masked: str
    balance: int  # prepaid, fen
    sms_opt_out: bool = False
    birth_year: int | None = None  # from the ID number (None: no ID number, or not yet filled)

    @property
    def sex(self) -> str:
        """M, F or U, from the ID number's last 4 (its 17th digit: odd is male)."""
        return sex_of(self.id_last4) if len(self.id_last4) == 4 else "U"
