"""The kiosk agent's configuration: one TOML file, every key declared in :data:`KEYS`.

::

    kiosk_id = "k3f9c01a2"
    password_file = "/etc/guahao-kiosk/password"
    state_dir = "/var/lib/guahao-kiosk"

    [broker]
    host = "mqtt.hospital.example"
    tls = true
    ca_file = "/etc/guahao-kiosk/broker-ca.pem"

    [printer]
    port = "/dev/serial/by-id/usb-…-printer"

The password is never in the file (files are copied, backed up and committed): it comes
from ``GUAHAO_KIOSK_PASSWORD``, from a file named by ``GUAHAO_KIOSK_PASSWORD_FILE`` (how
systemd's ``LoadCredential`` hands it over) or from the file ``password_file`` names, in
that order. A device whose section is missing is not on this kiosk. Every key has a row in
docs/kiosk.md; a test keeps it so.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.protocol import KIOSK_ID

PASSWORD_ENV = "GUAHAO_KIOSK_PASSWORD"
PASSWORD_FILE_ENV = "GUAHAO_KIOSK_PASSWORD_FILE"
DEVICES = ("printer", "card_reader", "terminal")
"""The device sections, named as the status names them."""


class ConfigError(Exception):
    """The configuration is unreadable, a key unknown or wrong, or the password missing."""


@dataclass(frozen=True)
class Key:
    name: str  # "broker.host": section and key
    type: type
    default: Any  # None: required (or, in a device section, absent)
    help: str


KEYS: tuple[Key, ...] = (
    Key("kiosk_id", str, None, "The kiosk's id (k and 8 hex digits), its MQTT user name"),
    Key("password_file", str, "", "A file holding the kiosk's MQTT password (one line)"),
    Key("state_dir", str, None, "Where the job journal, screen.txt and touch.in live"),
    Key("log_level", str, "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Key("broker.host", str, None, "The MQTT broker's host name (it must match its certificate)"),
    Key("broker.port", int, 0, "The broker's port (0: 8883 with TLS, 1883 without)"),
    Key("broker.tls", bool, True, "TLS to the broker; off only on a closed test network"),
    Key("broker.ca_file", str, "", "The CA that signed the broker's certificate (PEM)"),
    *(
        key
        for device, baudrate in (("printer", 115200), ("card_reader", 9600), ("terminal", 115200))
        for key in (
            Key(f"{device}.port", str, None, "The device's serial port (/dev/serial/by-id/…)"),
            Key(f"{device}.baudrate", int, baudrate, "Its speed, as set on the device"),
            Key(f"{device}.reconnect_seconds", float, 5.0, "How often a missing one is retried"),
        )
    ),
)
KEYS_BY_NAME = {key.name: key for key in KEYS}
SECRET_KEYS = frozenset({"password", "broker.password"})


@dataclass(frozen=True)
class DeviceConfig:
    port: str
    baudrate: int
    reconnect_seconds: float


@dataclass(frozen=True)
class BrokerConfig:
    host: str
    port: int
    tls: bool
    ca_file: Path | None


@dataclass(frozen=True)
class KioskConfig:
    kiosk_id: str
    password: str
    state_dir: Path
    broker: BrokerConfig
    devices: Mapping[str, DeviceConfig]  # only those this kiosk has
    log_level: str = "INFO"


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> KioskConfig:
    """Read and check the file at ``path``; ``env`` (``os.environ`` by default) for the
    password. Raises :class:`ConfigError` saying which key is wrong and how."""
    env = os.environ if env is None else env
    try:
        with open(path, "rb") as file:
            raw = tomllib.load(file)
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not TOML: {err}") from err
    values = _flatten(raw)
    for name in values:
        if name in SECRET_KEYS:
            raise ConfigError(
                f"{name}: the password never goes in the configuration file; put it in the "
                f"file password_file names, or in {PASSWORD_ENV} (or {PASSWORD_FILE_ENV})"
            )
        if name not in KEYS_BY_NAME:
            close = difflib.get_close_matches(name, KEYS_BY_NAME, n=1)
            raise ConfigError(
                f"unknown key {name}" + (f" (did you mean {close[0]}?)" if close else "")
            )
    value = {key.name: _typed(key, values.get(key.name, key.default)) for key in KEYS}
    for name in ("kiosk_id", "state_dir", "broker.host"):
        if not value[name]:
            raise ConfigError(f"{name} is missing")
    if not KIOSK_ID.fullmatch(value["kiosk_id"]):
        raise ConfigError(
            f"kiosk_id must be k and 8 lower-case hex digits, not {value['kiosk_id']!r}"
        )
    if value["log_level"].upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log_level {value['log_level']!r}: DEBUG, INFO, WARNING or ERROR")
    base = Path(path).resolve().parent
    tls, port = value["broker.tls"], value["broker.port"]
    if not 0 <= port <= 65535:
        raise ConfigError(f"broker.port {port} is no TCP port")
    ca_file = _path(base, value["broker.ca_file"]) if value["broker.ca_file"] else None
    if ca_file is not None and not tls:
        raise ConfigError("broker.ca_file is set but broker.tls is false")
    devices = {
        device: DeviceConfig(
            port=value[f"{device}.port"],
            baudrate=value[f"{device}.baudrate"],
            reconnect_seconds=value[f"{device}.reconnect_seconds"],
        )
        for device in DEVICES
        if device in raw
    }
    for device, config in devices.items():
        if not config.port:
            raise ConfigError(f"{device}.port is missing (leave out [{device}] if there is none)")
        if config.reconnect_seconds <= 0 or config.baudrate <= 0:
            raise ConfigError(f"{device}: baudrate and reconnect_seconds must be positive")
    return KioskConfig(
        kiosk_id=value["kiosk_id"],
        password=_password(env, value["password_file"], base),
        state_dir=_path(base, value["state_dir"]),
        broker=BrokerConfig(value["broker.host"], port or (8883 if tls else 1883), tls, ca_file),
        devices=devices,
        log_level=value["log_level"].upper(),
    )


def _flatten(raw: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, item in raw.items():
        if isinstance(item, dict):
            if name not in ("broker", *DEVICES):
                raise ConfigError(f"unknown section [{name}]")
            values |= {f"{name}.{key}": inner for key, inner in item.items()}
        else:
            values[name] = item
    return values


def _typed(key: Key, value: Any) -> Any:
    if value is None:
        return "" if key.type is str else value
    if key.type is float and type(value) is int:
        value = float(value)
    if type(value) is not key.type:
        words = {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}
        raise ConfigError(f"{key.name} must be {words[key.type]}, not {value!r}")
    return value


def _path(base: Path, value: str) -> Path:
    """A path in the file is read from the file's folder when relative."""
    return base / Path(value).expanduser()


def _password(env: Mapping[str, str], password_file: str, base: Path) -> str:
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    source = env.get(PASSWORD_FILE_ENV) or password_file
    if not source:
        raise ConfigError(
            f"no password: set password_file in the configuration, or {PASSWORD_ENV} "
            f"or {PASSWORD_FILE_ENV} in the environment"
        )
    path = _path(base, source) if source == password_file else Path(source)
    try:
        password = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"cannot read the password file {path}: {err.strerror}") from err
    if not password:
        raise ConfigError(f"the password file {path} is empty")
    return password
