"""Both message catalogues have the same keys, and every domain error is worded in both."""

from __future__ import annotations

import string

from agent_console.i18n import MESSAGES
from booking_core.kernel.errors import ALL_ERRORS
from booking_core.operators import Role


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys_and_placeholders():
    zh, en = MESSAGES["zh"], MESSAGES["en"]
    assert set(zh) == set(en)
    for key in zh:
        assert _fields(zh[key]) == _fields(en[key]), key


def test_every_error_code_and_role_is_worded():
    for catalogue in MESSAGES.values():
        for err in ALL_ERRORS:
            assert err.code in catalogue, err.code
        for role in Role:
            assert f"role_{role}" in catalogue
