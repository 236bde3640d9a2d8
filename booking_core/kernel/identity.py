"""Identifiers people type and hear: resident ID numbers, phones, serial numbers.

Masking rules for logs and screens: phone ``138****5678``, resident ID only its
last 4, names ``张*``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from stdnum import damm
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from .errors import InvalidIdNumber, InvalidInput

_MOBILE = re.compile(r"1[3-9]\d{9}")


def normalize_id_number(raw: str) -> str:
    """Validate an 18-digit resident ID number (居民身份证号): checksum and birth date."""
    value = raw.strip().upper().replace(" ", "")
    if len(value) != 18:
        raise InvalidIdNumber("length")
    try:
        return ric.validate(value)
    except ValidationError as err:
        reason = {
            "InvalidChecksum": "checksum",
            "InvalidComponent": "birth_date",
            "InvalidFormat": "format",
            "InvalidLength": "length",
        }.get(type(err).__name__, "format")
        raise InvalidIdNumber(reason) from err


def normalize_phone(raw: str) -> str:
    """A mainland mobile number, 11 digits, with an optional +86 / 86 prefix removed."""
    digits = re.sub(r"[\s\-()]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise InvalidInput("phone", "not an 11-digit mobile number")
    return digits


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    return f"**************{id_number[-4:]}"


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else name


def sex_of(id_digits: str) -> str:
    """M or F from a resident ID's 17th digit (odd: male) — the 3rd of its last four, which
    a masked ID keeps; U when it is not there."""
    digit = id_digits[-2:-1]
    if len(id_digits) >= 4 and digit.isdigit():
        return "M" if int(digit) % 2 else "F"
    return "U"


def _with_check_digit(body: str) -> str:
    return body + damm.calc_check_digit(body)


def is_valid_serial(value: str, length: int) -> bool:
    return len(value) == length and value.isdigit() and damm.is_valid(value)


def new_booking_no() -> str:
    """8 random digits (first not 0) plus a Damm check digit: unguessable, typo-proof (预约号)."""
    return _with_check_digit(str(secrets.randbelow(9 * 10**7) + 10**7))


def is_booking_no(value: str) -> bool:
    return is_valid_serial(value, 9)


def new_card_no() -> str:
    """9 random digits plus a check digit, for patients the hospital gave no card (就诊卡号)."""
    return _with_check_digit(str(secrets.randbelow(9 * 10**8) + 10**8))


def new_tracking_no() -> str:
    """6 digits plus check digit, for complaints read to a caller."""
    return _with_check_digit(str(secrets.randbelow(9 * 10**5) + 10**5))


LONG_RUN_DIGITS = 15  # an old 15-digit or an 18-digit resident ID; no menu code is as long

_LONG_RUN = re.compile(rf"\d[\dXx*]{{{LONG_RUN_DIGITS - 1},}}")


def mask_long_digits(text: str) -> str:
    """Every run of 15 or more digits (a resident ID typed on a keypad, ``*`` or ``X`` for
    its last character) kept to its last 4, as the console shows ID numbers."""
    return _LONG_RUN.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text)


def mask_long_digits_in(value: Any) -> Any:
    """:func:`mask_long_digits` over every string of a JSON-like value (transfer contexts,
    event payloads); keys are kept."""
    if isinstance(value, str):
        return mask_long_digits(value)
    if isinstance(value, dict):
        return {k: mask_long_digits_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_long_digits_in(v) for v in value]
    return value
