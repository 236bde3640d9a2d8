"""The broker's password hash as the doors share it (edge/mosquitto.py): what the console
gives a new kiosk, and the names hardware/ still offers for the broker's files."""

from __future__ import annotations

import re

from edge import mosquitto
from hardware.hall import mosquitto as broker_files


def test_a_new_password_is_long_random_and_safe_to_type_into_a_file():
    drawn = {mosquitto.new_password() for _ in range(50)}
    assert len(drawn) == 50
    for password in drawn:
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", password)


def test_the_hash_matches_its_password_only_and_has_the_brokers_shape():
    password = mosquitto.new_password()
    hashed = mosquitto.password_hash(password)
    assert hashed.startswith(f"$7${mosquitto.PBKDF2_ITERATIONS}$")
    assert password not in hashed
    assert mosquitto.is_password_hash(hashed)
    assert mosquitto.password_matches(password, hashed)
    assert not mosquitto.password_matches(mosquitto.new_password(), hashed)
    for garbage in ("", "$7$", "plain", hashed + ":", "$6$101$abc$def"):
        assert not mosquitto.is_password_hash(garbage)


def test_hardware_writes_the_password_file_with_the_same_functions():
    assert broker_files.password_hash is mosquitto.password_hash
    assert broker_files.password_matches is mosquitto.password_matches
