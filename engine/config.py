"""Settings: declared once in ``SETTINGS``, read by ``load_settings``.

Precedence, later wins: the declared defaults, then the TOML file, then the environment
(``GUAHAO_<NAME>``), then explicit overrides (CLI flags). Secret settings are read from the
environment only, either ``GUAHAO_<NAME>`` or a file named by ``GUAHAO_<NAME>_FILE``: never from
the TOML file (files get committed) nor from the command line (the process list is public).

Every setting has a ``### <name>`` heading in docs/configuration.md; a test enforces it.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hardware.hall.address import USER_NAME, BrokerAddress

ENV_PREFIX = "GUAHAO_"
FILE_SUFFIX = "_FILE"
MASK = "***"


class ConfigError(Exception):
    """A setting is unknown, malformed, missing or given where it is not allowed."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any  # None for secrets and required values
    help: str
    type: type  # int, str, bool, float or list (a list of strings)
    secret: bool = False

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting, e.g. ``GUAHAO_SQLITE_MAX_BATCH``."""
        return ENV_PREFIX + self.name.upper()


OUTBOX_CONSUMERS: Mapping[str, str] = MappingProxyType(
    {
        "sms": "the SMS notifier, which sms_notices turns on and adds for you",
        "kiosk": "the kiosks' job publisher, which kiosk_broker_url turns on and adds for you",
        "feeds": "the hospital feeds' fan-out, which feeds turns on and adds for you",
    }
)
"""The outbox consumers this engine runs a delivery worker for, and what each is. Every
event gets a delivery row per configured consumer, so a name nothing delivers to would
pile up undelivered rows forever: ``outbox_consumers`` accepts only these names."""

OUTBOX_CONSUMER_SWITCHES: Mapping[str, str] = MappingProxyType(
    {"sms": "sms_notices", "kiosk": "kiosk_broker_url", "feeds": "feeds"}
)
"""The setting without which a consumer's worker does not run (so naming it alone is refused)."""


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "guahao.db", "SQLite file path, or a postgresql:// URL", str),
    Setting("host", "127.0.0.1", "Address the HTTP server listens on", str),
    Setting("port", 8080, "TCP port the HTTP server listens on (0 picks a free port)", int),
    Setting(
        "public_url",
        "",
        "Base URL the engine is reached at from outside (used by Twilio signature checks)",
        str,
    ),
    Setting("timezone", "Asia/Shanghai", "Hospital-local time zone for showing and for rules", str),
    Setting(
        "pii_key",
        None,
        "Base64 of 32 random bytes; encrypts ID numbers and phones at rest and keys their "
        "blind index",
        str,
        secret=True,
    ),
    Setting("sqlite_readers", 4, "Read connections (SQLite)", int),
    Setting("sqlite_max_batch", 256, "Most write functions committed together (group commit)", int),
    Setting("pg_pool_min", 2, "Connections a PostgreSQL pool keeps open when idle", int),
    Setting("pg_pool_max", 20, "Most connections a PostgreSQL pool opens", int),
    Setting("hold_sweep_seconds", 30, "Seconds between sweeps that release expired holds", int),
    Setting(
        "draw_sweep_seconds",
        1,
        "Seconds between looks for release draws (公平放号) whose window has closed",
        int,
    ),
    Setting("no_show_sweep_seconds", 300, "Seconds between sweeps that mark missed bookings", int),
    Setting("audit_retention_days", 365, "Days audit log entries are kept", int),
    Setting(
        "outbox_retention_days",
        7,
        "Days a delivered outbox event is kept before the hourly purge deletes it",
        int,
    ),
    Setting("max_body_bytes", 65536, "Largest HTTP request body accepted, in bytes", int),
    Setting(
        "http_header_timeout_seconds",
        30.0,
        "Seconds a client has to send a request's headers, from connecting or from the "
        "previous response; an idle connection is closed then too",
        float,
    ),
    Setting(
        "http_body_timeout_seconds",
        30.0,
        "Seconds a request's body has to arrive after its headers (0: no limit)",
        float,
    ),
    Setting(
        "http_connections_per_client",
        128,
        "Most open connections from one client address (0: no cap; console_trusted_proxies "
        "are never capped)",
        int,
    ),
    Setting(
        "token_cache_seconds",
        30,
        "How long a verified API token is trusted before it is looked up again",
        int,
    ),
    Setting("log_level", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL", str),
    Setting("sql_trace", False, "Debug aid: logs each SQL statement", bool),
    Setting(
        "outbox_consumers",
        (),
        "Names of outbox delivery workers that receive every event, from: "
        + ", ".join(OUTBOX_CONSUMERS),
        list,
    ),
    Setting(
        "uvloop",
        True,
        "Run on uvloop's faster event loop (when it is installed)",
        bool,
    ),
    Setting(
        "twilio_auth_token",
        None,
        "Twilio account auth token: checks the X-Twilio-Signature of webhooks and signs in "
        "to Twilio's REST API to send texts",
        str,
        secret=True,
    ),
    Setting("ivr_hospital", "H001", "Code of the hospital the phone line (IVR) books for", str),
    Setting("ivr_agent_queue", "guahao-agents", "Twilio queue callers wait in for an agent", str),
    Setting(
        "ivr_hold_music_url",
        "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3",  # Twilio's own
        "Music (an MP3 or WAV URL Twilio can fetch) played to callers waiting for an agent "
        "between two announcements of their place; empty: 30 s of quiet instead",
        str,
    ),
    Setting(
        "ivr_phone_number",
        "",
        "The phone number patients call to reach the phone line (IVR), as published to "
        "portals (SMART booking-phone); empty: none published",
        str,
    ),
    Setting(
        "callback_answer_within_minutes",
        30,
        "Minutes a call-back (回拨) may wait in the queue before the try counts as not "
        "reached and it is tried again (or closed with a text)",
        int,
    ),
    Setting(
        "callback_attempts",
        2,
        "Tries to reach a caller who asked for a call-back before it is closed with a text",
        int,
    ),
    Setting(
        "sms_hospital", "H001", "Code of the hospital the SMS number (and modem) books for", str
    ),
    Setting(
        "sms_phone_number",
        "",
        "The number patients text booking codes to, as published to portals (SMART "
        "booking-deep-link, sms:); empty: none published",
        str,
    ),
    Setting(
        "sms_notices",
        "",
        "Gateway that sends notices (confirmations, changes, 停诊, reminders, surveys): "
        "twilio, modem, or empty for none",
        str,
    ),
    Setting("reminder_hour", 18, "Hospital-local hour the day-before reminders go out from", int),
    Setting("twilio_account_sid", "", "Twilio account SID (AC…): sends texts over Twilio", str),
    Setting("twilio_sms_from", "", "The Twilio number texts are sent from (+86… or +1…)", str),
    Setting(
        "twilio_messaging_service_sid",
        "",
        "A Twilio Messaging Service (MG…) to send from instead of twilio_sms_from",
        str,
    ),
    Setting(
        "twilio_api_base",
        "",
        "Where Twilio's REST API is reached (empty: https://api.twilio.com; tests point it "
        "at a local server)",
        str,
    ),
    Setting(
        "twilio_api_key_sid",
        "",
        "Twilio API key (SK…) that signs the agents' softphone access tokens; empty: no softphone",
        str,
    ),
    Setting(
        "twilio_api_key_secret",
        None,
        "The secret of twilio_api_key_sid: signs the softphone's access tokens",
        str,
        secret=True,
    ),
    Setting(
        "twilio_twiml_app_sid",
        "",
        "Twilio TwiML App (AP…) whose Voice URL answers the calls an agent's softphone places",
        str,
    ),
    Setting(
        "voice_token_ttl_seconds",
        600,
        "Lifetime of a softphone access token, in seconds (60 to Twilio's 86400)",
        int,
    ),
    Setting("modem_port", "", "Serial port of the GSM modem (e.g. /dev/ttyUSB0); empty: none", str),
    Setting("modem_baud", 115200, "Serial speed of the GSM modem", int),
    Setting(
        "modem_send_interval_seconds",
        3.0,
        "Pause between two texts through the modem (modems manage about one every few seconds)",
        float,
    ),
    Setting(
        "modem_part_timeout_seconds",
        3600.0,
        "How long parts of a long text wait on the modem's SIM for the rest before what came "
        "is answered as incomplete and deleted",
        float,
    ),
    Setting(
        "modem_sim_warn_percent",
        80,
        "/healthz warns (and the log once) when the modem's SIM is at least this full",
        int,
    ),
    Setting(
        "sms_send_lease_seconds",
        120,
        "How long a text being sent is reserved for its sender before another may retry it",
        int,
    ),
    Setting(
        "console_session_hours",
        12,
        "Hours an agent-console log-in lasts at most, however busy (then log in again)",
        int,
    ),
    Setting(
        "console_idle_minutes",
        30,
        "Minutes without a request after which an agent-console session ends",
        int,
    ),
    Setting(
        "agent_wrap_up_seconds",
        120,
        "Seconds an agent stays in wrap-up after a call at most, then is available again",
        int,
    ),
    Setting(
        "console_trust_proxy",
        False,
        "Believe X-Forwarded-Proto and X-Forwarded-For (only behind your own reverse proxy)",
        bool,
    ),
    Setting(
        "console_trusted_proxies",
        ("127.0.0.1", "::1"),
        "Addresses or networks of your reverse proxies: forwarded headers only from these",
        list,
    ),
    Setting(
        "wallboard_service_level_seconds",
        20,
        "The wallboard's service level: the share of callers an agent took within this many "
        "seconds of their transfer",
        int,
    ),
    Setting(
        "kiosk_broker_url",
        "",
        "The kiosks' MQTT broker, mqtts://host:port (mqtt:// only on a closed test network); "
        "empty: no kiosks",
        str,
    ),
    Setting(
        "kiosk_broker_user", "engine", "The engine's MQTT user name on the kiosks' broker", str
    ),
    Setting(
        "kiosk_broker_password",
        None,
        "The engine's MQTT password on the kiosks' broker",
        str,
        secret=True,
    ),
    Setting(
        "kiosk_broker_ca_path",
        "",
        "CA certificate (PEM) that signed the kiosks' broker's certificate; empty: the "
        "system's CAs",
        str,
    ),
    Setting(
        "kiosk_broker_client_id",
        "",
        "This engine's MQTT client id, unique per engine process; empty: guahao-<host>-<pid>",
        str,
    ),
    Setting(
        "kiosk_broker_passwd_path",
        "",
        "mosquitto's password_file, which the engine writes from its kiosk registry; empty: "
        "the engine writes no broker files",
        str,
    ),
    Setting(
        "kiosk_broker_acl_path",
        "",
        "mosquitto's acl_file, which the engine writes with the password file",
        str,
    ),
    Setting(
        "kiosk_broker_pid_path",
        "",
        "mosquitto's pid_file: the engine sends that process SIGHUP to reload the files it "
        "wrote; empty: reload the broker yourself",
        str,
    ),
    Setting(
        "feeds",
        True,
        "Deliver events to the hospitals' subscriptions (signed webhooks, HL7 v2 over MLLP): "
        "adds the outbox consumer feeds",
        bool,
    ),
    Setting(
        "feeds_timeout_seconds",
        10.0,
        "How long a subscriber has to answer one delivery (a webhook's HTTP answer, an HL7 "
        "ACK) before the attempt counts as failed and is retried",
        float,
    ),
    Setting(
        "feeds_first_retry_seconds",
        5,
        "How long after a failed delivery it is tried again; each further failure doubles "
        "the wait (to an hour at most, ± 20 % at random), for up to 3 days",
        int,
    ),
    Setting(
        "feeds_allow_private_addresses",
        False,
        "Allow subscriber addresses on loopback, link-local and private networks (a HIS on "
        "the hospital's own network); false: refused, so a subscription cannot reach inside "
        "(SSRF)",
        bool,
    ),
    Setting(
        "his_blacklist_url",
        "",
        "URL of the hospital system's blacklist (JSON, as the body of PUT "
        "/api/v1/blacklist/his), pulled periodically to replace the HIS bans; empty: no pull",
        str,
    ),
    Setting(
        "his_blacklist_hospital",
        "",
        "Code of the hospital whose HIS bans the pulled list replaces",
        str,
    ),
    Setting(
        "his_blacklist_interval_seconds",
        900,
        "Seconds between two pulls of his_blacklist_url",
        int,
    ),
    Setting(
        "his_blacklist_token",
        None,
        "Bearer token sent to his_blacklist_url (Authorization: Bearer <token>); unset: none",
        str,
        secret=True,
    ),
    Setting(
        "hl7_listen_port",
        0,
        "Port of the MLLP listener that takes the HIS window's SIU S14 (checked in, paid) "
        "and S15 (cancelled); 0: no listener",
        int,
    ),
    Setting("hl7_listen_host", "127.0.0.1", "Address the HL7 MLLP listener listens on", str),
    Setting(
        "hl7_listen_hospital",
        "",
        "Code of the hospital whose bookings the HL7 listener may check in, pay and cancel",
        str,
    ),
    Setting(
        "hl7_listen_peers",
        ("127.0.0.1", "::1"),
        "Addresses or networks the HL7 listener takes connections from (the HIS's interface "
        "engine); any other is closed at once",
        list,
    ),
)

SETTINGS_BY_NAME: Mapping[str, Setting] = MappingProxyType({s.name: s for s in SETTINGS})


@dataclass(frozen=True, repr=False)
class Settings:
    """The engine's configuration; build it with ``load_settings``. List settings are tuples."""

    db: str
    host: str
    port: int
    public_url: str
    timezone: str
    pii_key: str | None
    sqlite_readers: int
    sqlite_max_batch: int
    pg_pool_min: int
    pg_pool_max: int
    hold_sweep_seconds: int
    draw_sweep_seconds: int
    no_show_sweep_seconds: int
    audit_retention_days: int
    outbox_retention_days: int
    max_body_bytes: int
    http_header_timeout_seconds: float
    http_body_timeout_seconds: float
    http_connections_per_client: int
    token_cache_seconds: int
    log_level: str
    sql_trace: bool
    outbox_consumers: tuple[str, ...]
    uvloop: bool
    twilio_auth_token: str | None
    ivr_hospital: str
    ivr_agent_queue: str
    ivr_hold_music_url: str
    ivr_phone_number: str
    callback_answer_within_minutes: int
    callback_attempts: int
    sms_hospital: str
    sms_phone_number: str
    sms_notices: str
    reminder_hour: int
    twilio_account_sid: str
    twilio_sms_from: str
    twilio_messaging_service_sid: str
    twilio_api_base: str
    twilio_api_key_sid: str
    twilio_api_key_secret: str | None
    twilio_twiml_app_sid: str
    voice_token_ttl_seconds: int
    modem_port: str
    modem_baud: int
    modem_send_interval_seconds: float
    modem_part_timeout_seconds: float
    modem_sim_warn_percent: int
    sms_send_lease_seconds: int
    console_session_hours: int
    console_idle_minutes: int
    agent_wrap_up_seconds: int
    console_trust_proxy: bool
    console_trusted_proxies: tuple[str, ...]
    wallboard_service_level_seconds: int
    kiosk_broker_url: str
    kiosk_broker_user: str
    kiosk_broker_password: str | None
    kiosk_broker_ca_path: str
    kiosk_broker_client_id: str
    kiosk_broker_passwd_path: str
    kiosk_broker_acl_path: str
    kiosk_broker_pid_path: str
    feeds: bool
    feeds_timeout_seconds: float
    feeds_first_retry_seconds: int
    feeds_allow_private_addresses: bool
    his_blacklist_url: str
    his_blacklist_hospital: str
    his_blacklist_interval_seconds: int
    his_blacklist_token: str | None
    hl7_listen_port: int
    hl7_listen_host: str
    hl7_listen_hospital: str
    hl7_listen_peers: tuple[str, ...]

    def __repr__(self) -> str:
        parts = []
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            shown = repr(MASK) if setting.secret and value is not None else repr(value)
            parts.append(f"{setting.name}={shown}")
        return f"Settings({', '.join(parts)})"


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the settings: defaults < TOML file at ``path`` < ``env`` < ``overrides``.

    ``env=None`` means ``os.environ``. An override whose value is None is treated as not given
    (argparse leaves unset flags as None). Raises ConfigError naming the setting and the source.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        default = setting.default
        values[setting.name] = tuple(default) if setting.type is list else default
        sources[setting.name] = "the default"
    if path is not None:
        _read_file(Path(path), values, sources)
    _read_env(os.environ if env is None else env, values, sources)
    if overrides:
        _read_overrides(overrides, values, sources)
    _validate(values, sources)
    return Settings(**values)


def require_secret(settings: Settings, name: str) -> str:
    """The value of the secret setting ``name``; ConfigError saying where to put it if unset."""
    setting = SETTINGS_BY_NAME.get(name)
    if setting is None or not setting.secret:
        raise ValueError(f"{name!r} is not a secret setting")
    value = getattr(settings, name)
    if not value:
        raise ConfigError(
            f"{name} is not set: put it in {setting.env_var} "
            f"or a file named by {setting.env_var}{FILE_SUFFIX}"
        )
    return value


# --- reading each source -------------------------------------------------------------------


def _read_file(path: Path, values: dict[str, Any], sources: dict[str, str]) -> None:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except OSError as err:
        raise ConfigError(f"cannot read configuration file {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"configuration file {path} is not valid TOML: {err}") from err

    unknown = sorted(set(data) - set(SETTINGS_BY_NAME))
    if unknown:
        raise ConfigError(
            f"configuration file {path} has unknown setting(s): "
            + "; ".join(_unknown_with_hint(name) for name in unknown)
        )
    for name, value in data.items():
        setting = SETTINGS_BY_NAME[name]
        if setting.secret:
            raise ConfigError(
                f"{name} must not be in configuration file {path}: secrets are never kept in "
                f"files that may be committed. Set {setting.env_var}, or put the value in a "
                f"file named by {setting.env_var}{FILE_SUFFIX}"
            )
        source = f"configuration file {path}"
        values[name] = _convert(setting, value, source)
        sources[name] = source


def _read_env(env: Mapping[str, str], values: dict[str, Any], sources: dict[str, str]) -> None:
    for setting in SETTINGS:
        var = setting.env_var
        if setting.secret:
            found = _read_secret_from_env(setting, env)
            if found is not None:
                values[setting.name], sources[setting.name] = found
        elif var in env:
            source = f"environment variable {var}"
            values[setting.name] = _convert_text(setting, env[var], source)
            sources[setting.name] = source


def _read_secret_from_env(setting: Setting, env: Mapping[str, str]) -> tuple[str, str] | None:
    var = setting.env_var
    file_var = var + FILE_SUFFIX
    direct = env.get(var)
    file_name = env.get(file_var)
    if direct is not None and file_name is not None:
        raise ConfigError(f"{setting.name}: both {var} and {file_var} are set; set only one")
    if file_name is not None:
        if not file_name.strip():
            raise ConfigError(f"{setting.name}: {file_var} is set but empty; name a file")
        source = f"the file {file_name} named by {file_var}"
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(f"{setting.name}: cannot read {source}: {err.strerror}") from err
        except UnicodeDecodeError as err:
            raise ConfigError(f"{setting.name}: {source} is not UTF-8 text") from err
    elif direct is not None:
        source = f"environment variable {var}"
        value = direct.strip()
    else:
        return None
    if not value:
        raise ConfigError(f"{setting.name} is empty (from {source})")
    return value, source


def _read_overrides(
    overrides: Mapping[str, Any], values: dict[str, Any], sources: dict[str, str]
) -> None:
    for name, value in overrides.items():
        if value is None:
            continue
        setting = SETTINGS_BY_NAME.get(name)
        if setting is None:
            hint = _unknown_with_hint(name)
            raise ConfigError(f"unknown setting in command-line overrides: {hint}")
        if setting.secret:
            raise ConfigError(
                f"{name} cannot be given on the command line, where other users can read it "
                f"in the process list. Set {setting.env_var}, or put the value in a file named "
                f"by {setting.env_var}{FILE_SUFFIX}"
            )
        source = "the command-line overrides"
        if isinstance(value, str) and setting.type is not str:
            values[name] = _convert_text(setting, value, source)
        else:
            values[name] = _convert(setting, value, source)
        sources[name] = source


def _unknown_with_hint(name: str) -> str:
    close = difflib.get_close_matches(name, SETTINGS_BY_NAME, n=1)
    return f"{name} (did you mean {close[0]}?)" if close else name


# --- coercion ------------------------------------------------------------------------------

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_TYPE_WORDS = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list of strings",
}


def _convert_text(setting: Setting, text: str, source: str) -> Any:
    """Parse a string from the environment or the command line into the setting's type."""
    kind = setting.type
    if kind is str:
        return text
    stripped = text.strip()
    if kind is list:
        return tuple(item.strip() for item in stripped.split(",") if item.strip())
    if kind is bool:
        lowered = stripped.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _bad(setting, f"expected true/false, yes/no or 1/0, got {text!r}", source)
    try:
        return kind(stripped)  # int or float
    except ValueError:
        raise _bad(setting, f"expected {_TYPE_WORDS[kind]}, got {text!r}", source) from None


def _convert(setting: Setting, value: Any, source: str) -> Any:
    """Check a typed value (from TOML or a typed override) against the setting's type."""
    kind = setting.type
    if kind is list:
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return tuple(value)
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, kind):
        return value
    raise _bad(
        setting, f"expected {_TYPE_WORDS[kind]}, got {type(value).__name__} {value!r}", source
    )


def _bad(setting: Setting, problem: str, source: str) -> ConfigError:
    if setting.secret:  # never echo a secret, not even a malformed one
        problem = problem.split(", got")[0]
    return ConfigError(f"{setting.name}: {problem} (from {source})")


# --- validation ----------------------------------------------------------------------------

_PG_SCHEMES = ("postgresql://", "postgres://")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Invalid(ValueError):
    pass


def _check_db(value: str) -> str:
    if not value.strip():
        raise _Invalid("must be an SQLite file path or a postgresql:// URL, got an empty string")
    if "://" in value and not value.startswith(_PG_SCHEMES):
        raise _Invalid("a URL must start with postgresql://; anything else is an SQLite path")
    return value


def _check_public_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise _Invalid(f"must start with https:// (or http://), got {value!r}")
    return value.rstrip("/")


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _Invalid(
            f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai"
        ) from None
    return value


def _check_pii_key(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid("is not valid base64") from None
    if len(raw) != 32:
        raise _Invalid(f"must be base64 of 32 bytes, got {len(raw)} bytes")
    return value


def _check_log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in _LOG_LEVELS:
        raise _Invalid(f"must be one of {', '.join(_LOG_LEVELS)}, got {value!r}")
    return level


def _at_least(minimum: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value < minimum:
            raise _Invalid(f"must be at least {minimum}, got {value}")
        return value

    return check


def _one_of(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = value.strip().lower()
        if value not in allowed:
            raise _Invalid(f"must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
        return value

    return check


def _between(low: int, high: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise _Invalid(f"must be between {low} and {high}, got {value}")
        return value

    return check


_SID = re.compile(r"[0-9a-fA-F]{32}")


def _check_sid(prefix: str) -> Callable[[str], str]:
    """A Twilio SID: ``prefix`` and 32 hex digits (empty: not set)."""

    def check(value: str) -> str:
        value = value.strip()
        if value and not (value.startswith(prefix) and _SID.fullmatch(value[2:])):
            raise _Invalid(
                f"must be {prefix} followed by 32 hex digits (as the Twilio console shows it), "
                f"got {value!r}"
            )
        return value

    return check


def _check_port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise _Invalid(f"must be between 0 and 65535, got {value}")
    return value


def _check_networks(value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise _Invalid(
                f"{item!r} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return value


def _check_broker_url(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return BrokerAddress.from_url(value).url()
    except ValueError as err:
        raise _Invalid(str(err)) from None


def _check_broker_user(value: str) -> str:
    if not USER_NAME.fullmatch(value):
        raise _Invalid(f"must be 1-64 letters, digits, _ . or -, got {value!r}")
    return value


def _check_consumers(value: tuple[str, ...]) -> tuple[str, ...]:
    duplicates = sorted({name for name in value if value.count(name) > 1})
    if duplicates:
        raise _Invalid(f"names appear more than once: {', '.join(duplicates)}")
    unknown = [name for name in value if name not in OUTBOX_CONSUMERS]
    if unknown:
        known = "; ".join(f"{name} ({what})" for name, what in OUTBOX_CONSUMERS.items())
        raise _Invalid(
            f"unknown consumer(s) {', '.join(repr(name) for name in unknown)}: nothing in this "
            f"engine delivers to them, so their outbox deliveries would wait forever. "
            f"The consumers are: {known}"
        )
    return value


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "db": _check_db,
    "port": _check_port,
    "public_url": _check_public_url,
    "timezone": _check_timezone,
    "pii_key": _check_pii_key,
    "sqlite_readers": _at_least(1),
    "sqlite_max_batch": _at_least(1),
    "pg_pool_min": _at_least(0),
    "pg_pool_max": _at_least(1),
    "hold_sweep_seconds": _at_least(1),
    "draw_sweep_seconds": _at_least(1),
    "no_show_sweep_seconds": _at_least(1),
    "audit_retention_days": _at_least(1),
    "outbox_retention_days": _at_least(1),
    "max_body_bytes": _at_least(1),
    "http_header_timeout_seconds": _at_least(1),
    "http_body_timeout_seconds": _at_least(0),
    "http_connections_per_client": _at_least(0),
    "token_cache_seconds": _at_least(0),
    "log_level": _check_log_level,
    "outbox_consumers": _check_consumers,
    "sms_notices": _one_of("", "twilio", "modem"),
    "reminder_hour": _between(0, 23),
    "callback_answer_within_minutes": _between(1, 24 * 60),
    "callback_attempts": _between(1, 10),
    "twilio_api_base": _check_public_url,
    "twilio_account_sid": _check_sid("AC"),
    "twilio_api_key_sid": _check_sid("SK"),
    "twilio_twiml_app_sid": _check_sid("AP"),
    # Twilio refuses a token living past 24 hours; under a minute the browser would spend
    # its time fetching new ones (the SDK asks 10 seconds before the old one ends)
    "voice_token_ttl_seconds": _between(60, 86400),
    "modem_baud": _at_least(1200),
    "sms_send_lease_seconds": _at_least(1),
    "modem_send_interval_seconds": _at_least(0),
    "modem_part_timeout_seconds": _at_least(1),
    "modem_sim_warn_percent": _between(1, 100),
    "feeds_timeout_seconds": _between(1, 120),
    "feeds_first_retry_seconds": _between(1, 3600),
    "console_session_hours": _between(1, 24 * 7),
    "console_idle_minutes": _at_least(1),
    "agent_wrap_up_seconds": _between(0, 3600),
    "console_trusted_proxies": _check_networks,
    "wallboard_service_level_seconds": _between(1, 3600),
    "kiosk_broker_url": _check_broker_url,
    "kiosk_broker_user": _check_broker_user,
    "his_blacklist_url": _check_public_url,
    "ivr_hold_music_url": _check_public_url,  # a URL Twilio can fetch, or ""
    "his_blacklist_interval_seconds": _at_least(10),
    "hl7_listen_port": _check_port,
    "hl7_listen_peers": _check_networks,
}


def _validate(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Check ranges and formats; normalise in place (log level upper case, no trailing '/')."""
    for name, check in _CHECKS.items():
        try:
            values[name] = check(values[name])
        except _Invalid as err:
            raise ConfigError(f"{name}: {err} (from {sources[name]})") from None
    for consumer, switch in OUTBOX_CONSUMER_SWITCHES.items():
        if consumer in values["outbox_consumers"] and not values[switch]:
            raise ConfigError(
                f"outbox_consumers names {consumer} (from {sources['outbox_consumers']}) but "
                f"{switch} is not set, so nothing would deliver its events: set {switch} "
                f"(which adds {consumer} for you) or leave {consumer} out"
            )
    _validate_kiosk_broker(values, sources)
    _validate_softphone(values, sources)
    if values["his_blacklist_url"] and not values["his_blacklist_hospital"]:
        raise ConfigError(
            f"his_blacklist_url is set (from {sources['his_blacklist_url']}) but "
            "his_blacklist_hospital is not: name the hospital whose HIS bans it replaces"
        )
    if values["hl7_listen_port"] and not values["hl7_listen_hospital"]:
        raise ConfigError(
            f"hl7_listen_port is set (from {sources['hl7_listen_port']}) but "
            "hl7_listen_hospital is not: name the hospital whose bookings the HIS's "
            "messages may change"
        )
    if values["pg_pool_min"] > values["pg_pool_max"]:
        raise ConfigError(
            f"pg_pool_min ({values['pg_pool_min']}, from {sources['pg_pool_min']}) is larger "
            f"than pg_pool_max ({values['pg_pool_max']}, from {sources['pg_pool_max']})"
        )


def _validate_kiosk_broker(values: dict[str, Any], sources: dict[str, str]) -> None:
    """The kiosk settings that only make sense together."""
    url, ca = values["kiosk_broker_url"], values["kiosk_broker_ca_path"]
    if ca and not url.startswith("mqtts://"):
        raise ConfigError(
            f"kiosk_broker_ca_path is set (from {sources['kiosk_broker_ca_path']}) but "
            f"kiosk_broker_url is {url or 'empty'!r}: a CA vouches for a TLS broker, "
            "mqtts://host:port"
        )
    files = ("kiosk_broker_passwd_path", "kiosk_broker_acl_path")
    given = [name for name in files if values[name]]
    if len(given) == 1:
        other = next(name for name in files if name not in given)
        raise ConfigError(
            f"{given[0]} is set (from {sources[given[0]]}) but {other} is not: the engine "
            "writes mosquitto's password file and its ACL together, or neither"
        )
    if values["kiosk_broker_pid_path"] and not given:
        raise ConfigError(
            f"kiosk_broker_pid_path is set (from {sources['kiosk_broker_pid_path']}) but "
            "the engine writes no broker files to reload: set kiosk_broker_passwd_path and "
            "kiosk_broker_acl_path too, or leave it empty"
        )


SOFTPHONE_SETTINGS = (
    "twilio_account_sid",
    "twilio_api_key_sid",
    "twilio_api_key_secret",
    "twilio_twiml_app_sid",
)
"""What an agent's softphone access token is made of; all of them, or no softphone."""


def _validate_softphone(values: dict[str, Any], sources: dict[str, str]) -> None:
    """The softphone's settings go together: one of its own set alone is refused at start,
    rather than every agent's desk failing later (the account SID alone is the texts')."""
    own = SOFTPHONE_SETTINGS[1:]
    given = [name for name in own if values[name]]
    if not given:
        return
    missing = [name for name in SOFTPHONE_SETTINGS if not values[name]]
    if missing:
        # a secret's source is named, never its value
        said = ", ".join(f"{name} (from {sources[name]})" for name in given)
        raise ConfigError(
            f"{said} set for the agents' softphone, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not: a softphone access token needs "
            f"{', '.join(SOFTPHONE_SETTINGS)} (docs/twilio.md)"
        )
