"""A patient registered at one hospital (实名制患者)."""

from __future__ import annotations

from dataclasses import dataclass


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
