"""engine.config: the declared settings table, its precedence, and its documentation."""

import base64
import dataclasses
import re
from pathlib import Path

import pytest

from booking_core.kernel.clock import SystemClock
from booking_core.store import make_store
from engine import texting
from engine.config import (
    OUTBOX_CONSUMER_SWITCHES,
    OUTBOX_CONSUMERS,
    SETTINGS,
    SETTINGS_BY_NAME,
    ConfigError,
    Settings,
    _convert_text,
    load_settings,
    require_secret,
)
from sms.notifier import CONSUMER

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "guahao.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults():
    settings = load_settings(env={})
    assert settings.db == "guahao.db"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.timezone == "Asia/Shanghai"
    assert settings.pii_key is None
    assert settings.sqlite_max_batch == 256
    assert settings.sql_trace is False
    assert settings.outbox_consumers == ()
    for setting in SETTINGS:
        expected = tuple(setting.default) if setting.type is list else setting.default
        assert getattr(settings, setting.name) == expected, setting.name


def test_settings_class_declares_every_setting():
    assert [f.name for f in dataclasses.fields(Settings)] == [s.name for s in SETTINGS]


def test_no_secret_has_a_default():
    assert [s.name for s in SETTINGS if s.secret and s.default is not None] == []


def test_env_none_means_os_environ(monkeypatch):
    monkeypatch.setenv("GUAHAO_PORT", "9191")
    assert load_settings().port == 9191


def test_file_overrides_default(tmp_path):
    path = write_toml(tmp_path, 'port = 9000\ndb = "other.db"\n')
    settings = load_settings(path, env={})
    assert settings.port == 9000
    assert settings.db == "other.db"
    assert settings.host == "127.0.0.1"


def test_env_overrides_file(tmp_path):
    path = write_toml(tmp_path, "port = 9000\nsqlite_readers = 2\n")
    settings = load_settings(path, env={"GUAHAO_PORT": "9001"})
    assert settings.port == 9001
    assert settings.sqlite_readers == 2


def test_overrides_beat_env(tmp_path):
    path = write_toml(tmp_path, "port = 9000\n")
    settings = load_settings(
        path,
        env={"GUAHAO_PORT": "9001", "GUAHAO_HOST": "0.0.0.0"},
        overrides={"port": 9002, "host": None},  # None: flag not given
    )
    assert settings.port == 9002
    assert settings.host == "0.0.0.0"


def test_string_overrides_are_parsed_like_env():
    settings = load_settings(env={}, overrides={"port": "9003", "sql_trace": "yes"})
    assert settings.port == 9003
    assert settings.sql_trace is True


def test_unknown_key_in_file_rejected(tmp_path):
    path = write_toml(tmp_path, "port = 9000\nsqlite_reader = 2\nbogus = 1\n")
    with pytest.raises(ConfigError, match="unknown setting") as info:
        load_settings(path, env={})
    message = str(info.value)
    assert "bogus" in message
    assert "sqlite_reader (did you mean sqlite_readers?)" in message
    assert str(path) in message


def test_unknown_override_rejected():
    with pytest.raises(ConfigError, match="prot"):
        load_settings(env={}, overrides={"prot": 1})


def test_missing_file_rejected(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_invalid_toml_rejected(tmp_path):
    path = write_toml(tmp_path, "port = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, env={})


def test_wrong_type_in_file_rejected(tmp_path):
    path = write_toml(tmp_path, 'port = "9000"\n')
    with pytest.raises(ConfigError, match=r"port: expected a whole number.*configuration file"):
        load_settings(path, env={})


def test_bad_int_in_env_rejected_with_the_name():
    with pytest.raises(ConfigError) as info:
        load_settings(env={"GUAHAO_SQLITE_READERS": "four"})
    message = str(info.value)
    assert "sqlite_readers" in message
    assert "GUAHAO_SQLITE_READERS" in message
    assert "'four'" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        (" YES ", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("No", False),
    ],
)
def test_bool_parsing(text, expected):
    assert load_settings(env={"GUAHAO_SQL_TRACE": text}).sql_trace is expected


def test_bad_bool_rejected():
    with pytest.raises(ConfigError, match=r"sql_trace.*GUAHAO_SQL_TRACE"):
        load_settings(env={"GUAHAO_SQL_TRACE": "maybe"})


def test_bool_in_file_must_be_a_toml_bool(tmp_path):
    assert load_settings(write_toml(tmp_path, "sql_trace = true\n"), env={}).sql_trace is True
    with pytest.raises(ConfigError, match="sql_trace"):
        load_settings(write_toml(tmp_path, "sql_trace = 1\n"), env={})


NOTICES = {"GUAHAO_SMS_NOTICES": "twilio"}  # what the sms consumer needs to be allowed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("his_webhooks,sms_notices", ("his_webhooks", "sms_notices")),
        (" his_webhooks , sms_notices ,", ("his_webhooks", "sms_notices")),
        ("one", ("one",)),
        ("", ()),
    ],
)
def test_list_parsing(text, expected):
    setting = SETTINGS_BY_NAME["outbox_consumers"]
    assert _convert_text(setting, text, "environment variable GUAHAO_OUTBOX_CONSUMERS") == expected


@pytest.mark.parametrize(("text", "expected"), [(" sms ,", ("sms",)), ("", ())])
def test_list_from_the_environment(text, expected):
    env = {"GUAHAO_OUTBOX_CONSUMERS": text, **NOTICES}
    assert load_settings(env=env).outbox_consumers == expected


def test_list_in_file(tmp_path):
    path = write_toml(tmp_path, 'outbox_consumers = ["sms"]\nsms_notices = "modem"\n')
    assert load_settings(path, env={}).outbox_consumers == ("sms",)
    with pytest.raises(ConfigError, match="outbox_consumers: expected a list of strings"):
        load_settings(write_toml(tmp_path, "outbox_consumers = [1]\n"), env={})


@pytest.mark.parametrize("text", ["his_webhooks", "sms,his_webhooks", "sms_notices"])
def test_unknown_outbox_consumers_are_refused_with_the_real_ones(text):
    """An unknown name would get a delivery row per event that nothing ever delivers."""
    unknown = [name for name in text.split(",") if name != "sms"]
    with pytest.raises(ConfigError) as refused:
        load_settings(env={"GUAHAO_OUTBOX_CONSUMERS": text, **NOTICES})
    message = str(refused.value)
    assert message.startswith("outbox_consumers: unknown consumer(s) ")
    for name in unknown:
        assert repr(name) in message
    for name, what in OUTBOX_CONSUMERS.items():
        assert f"{name} ({what})" in message
    assert "(from environment variable GUAHAO_OUTBOX_CONSUMERS)" in message


def test_unknown_outbox_consumer_in_the_file_is_refused(tmp_path):
    path = write_toml(tmp_path, 'outbox_consumers = ["his_webhooks"]\n')
    with pytest.raises(ConfigError, match=r"'his_webhooks'.*The consumers are: sms \(") as err:
        load_settings(path, env={})
    assert f"(from configuration file {path})" in str(err.value)


def test_a_consumer_whose_worker_is_off_is_refused():
    with pytest.raises(ConfigError, match=r"outbox_consumers names sms .* but sms_notices is not"):
        load_settings(env={"GUAHAO_OUTBOX_CONSUMERS": "sms"})


def test_every_consumer_the_engine_adds_is_a_known_one():
    assert CONSUMER in OUTBOX_CONSUMERS
    assert set(OUTBOX_CONSUMER_SWITCHES) <= set(OUTBOX_CONSUMERS)
    for notices in ("", "twilio", "modem"):
        settings = load_settings(env={"GUAHAO_SMS_NOTICES": notices})
        assert set(texting.outbox_consumers(settings)) <= set(OUTBOX_CONSUMERS)


def test_outbox_retention_days():
    assert load_settings(env={}).outbox_retention_days == 7
    assert load_settings(env={"GUAHAO_OUTBOX_RETENTION_DAYS": "30"}).outbox_retention_days == 30
    with pytest.raises(ConfigError, match="outbox_retention_days: must be at least 1, got 0"):
        load_settings(env={"GUAHAO_OUTBOX_RETENTION_DAYS": "0"})


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"GUAHAO_PORT": "70000"}, "port"),
        ({"GUAHAO_SQLITE_READERS": "0"}, "sqlite_readers"),
        ({"GUAHAO_TIMEZONE": "Mars/Olympus"}, "timezone"),
        ({"GUAHAO_LOG_LEVEL": "LOUD"}, "log_level"),
        ({"GUAHAO_DB": "mysql://x/y"}, "db"),
        ({"GUAHAO_PUBLIC_URL": "guahao.example.cn"}, "public_url"),
        ({"GUAHAO_PG_POOL_MIN": "30"}, "pg_pool_min"),
        ({"GUAHAO_OUTBOX_CONSUMERS": "sms,sms", **NOTICES}, "outbox_consumers: names appear"),
        ({"GUAHAO_HL7_LISTEN_PORT": "65536"}, "hl7_listen_port"),
        ({"GUAHAO_HL7_LISTEN_PEERS": "10.0.0.0/8,his.local"}, "hl7_listen_peers"),
        ({"GUAHAO_HL7_LISTEN_PORT": "2575"}, "hl7_listen_port is set .* hl7_listen_hospital"),
    ],
)
def test_out_of_range_values_rejected(env, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(env=env)


def test_values_are_normalised():
    settings = load_settings(
        env={"GUAHAO_LOG_LEVEL": "debug", "GUAHAO_PUBLIC_URL": "https://guahao.example.cn/"}
    )
    assert settings.log_level == "DEBUG"
    assert settings.public_url == "https://guahao.example.cn"


def test_the_db_setting_picks_the_store():
    """An SQLite file path by default, PostgreSQL for a postgresql:// URL (not connected)."""
    clock = SystemClock()
    assert make_store(load_settings(env={}).db, clock).dialect == "sqlite"
    assert (
        make_store(load_settings(env={"GUAHAO_DB": "postgresql://u@h/db"}).db, clock).dialect
        == "postgres"
    )


def test_secret_from_env():
    settings = load_settings(env={"GUAHAO_PII_KEY": f" {KEY}\n"})
    assert settings.pii_key == KEY
    assert require_secret(settings, "pii_key") == KEY


def test_secret_from_file(tmp_path):
    key_file = tmp_path / "pii_key"
    key_file.write_text(f"{KEY}\n", encoding="utf-8")
    settings = load_settings(env={"GUAHAO_PII_KEY_FILE": str(key_file)})
    assert settings.pii_key == KEY


def test_secret_file_missing(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match="GUAHAO_PII_KEY_FILE"):
        load_settings(env={"GUAHAO_PII_KEY_FILE": str(missing)})


def test_secret_from_both_env_and_file_rejected(tmp_path):
    key_file = tmp_path / "pii_key"
    key_file.write_text(KEY, encoding="utf-8")
    env = {"GUAHAO_PII_KEY": OTHER_KEY, "GUAHAO_PII_KEY_FILE": str(key_file)}
    with pytest.raises(ConfigError, match="set only one"):
        load_settings(env=env)


def test_malformed_secret_rejected_without_echoing_it():
    with pytest.raises(ConfigError, match="pii_key") as info:
        load_settings(env={"GUAHAO_PII_KEY": "not-a-key!"})
    assert "not-a-key" not in str(info.value)
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(ConfigError, match="32 bytes") as info:
        load_settings(env={"GUAHAO_PII_KEY": short})
    assert short not in str(info.value)


def test_secret_in_toml_rejected(tmp_path):
    path = write_toml(tmp_path, f'pii_key = "{KEY}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert "GUAHAO_PII_KEY" in message
    assert KEY not in message


def test_secret_in_overrides_rejected():
    with pytest.raises(ConfigError, match="GUAHAO_PII_KEY"):
        load_settings(env={}, overrides={"pii_key": KEY})


def test_missing_secret_require_secret_raises():
    settings = load_settings(env={})
    with pytest.raises(ConfigError) as info:
        require_secret(settings, "pii_key")
    assert str(info.value) == (
        "pii_key is not set: put it in GUAHAO_PII_KEY or a file named by GUAHAO_PII_KEY_FILE"
    )


def test_require_secret_only_for_secrets():
    with pytest.raises(ValueError, match="not a secret"):
        require_secret(load_settings(env={}), "port")


def test_repr_masks_the_secret():
    settings = load_settings(env={"GUAHAO_PII_KEY": KEY})
    for text in (repr(settings), str(settings), f"{settings}"):
        assert KEY not in text
        assert "pii_key='***'" in text
    assert "port=8080" in repr(settings)
    assert "pii_key=None" in repr(load_settings(env={}))


def documented_settings() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(r"^### (\S+)\s*$", text, flags=re.MULTILINE)


def test_every_setting_is_documented():
    headings = documented_settings()
    names = [s.name for s in SETTINGS]
    assert sorted(set(names) - set(headings)) == [], "settings without a heading in docs"
    assert sorted(set(headings) - set(names)) == [], "headings for settings that do not exist"
    assert len(headings) == len(set(headings)), "a setting is documented twice"


def test_docs_name_every_env_var():
    text = DOCS.read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert setting.env_var in text, setting.env_var


def test_docs_example_toml_loads(tmp_path):
    text = DOCS.read_text(encoding="utf-8")
    examples = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    assert examples, "docs/configuration.md has no TOML example"
    for example in examples:
        load_settings(write_toml(tmp_path, example), env={})


def test_the_hl7_listener_is_off_unless_given_a_port_and_a_hospital():
    assert load_settings(env={}).hl7_listen_port == 0
    on = load_settings(
        env={
            "GUAHAO_HL7_LISTEN_PORT": "2575",
            "GUAHAO_HL7_LISTEN_HOSPITAL": "H001",
            "GUAHAO_HL7_LISTEN_PEERS": "10.20.0.0/16, 10.30.1.5",
        }
    )
    assert (on.hl7_listen_port, on.hl7_listen_hospital) == (2575, "H001")
    assert on.hl7_listen_peers == ("10.20.0.0/16", "10.30.1.5")


SOFTPHONE_ENV = {
    "GUAHAO_TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "GUAHAO_TWILIO_API_KEY_SID": "SK" + "b" * 32,
    "GUAHAO_TWILIO_API_KEY_SECRET": "test-api-key-secret-0123456789abcdef",
    "GUAHAO_TWILIO_TWIML_APP_SID": "AP" + "c" * 32,
}


def test_the_softphone_settings_together(tmp_path):
    settings = load_settings(env=SOFTPHONE_ENV)
    assert settings.twilio_api_key_sid == "SK" + "b" * 32
    assert settings.twilio_twiml_app_sid == "AP" + "c" * 32
    assert settings.voice_token_ttl_seconds == 600
    assert "test-api-key-secret" not in repr(settings)
    secret_file = tmp_path / "api_key_secret"
    secret_file.write_text("from-a-file-0123456789abcdef0123\n", encoding="utf-8")
    env = {k: v for k, v in SOFTPHONE_ENV.items() if k != "GUAHAO_TWILIO_API_KEY_SECRET"}
    env["GUAHAO_TWILIO_API_KEY_SECRET_FILE"] = str(secret_file)
    assert load_settings(env=env).twilio_api_key_secret == "from-a-file-0123456789abcdef0123"


def test_the_api_key_secret_is_never_read_from_the_file_or_a_flag(tmp_path):
    path = write_toml(tmp_path, 'twilio_api_key_secret = "leaked-secret"\n')
    with pytest.raises(ConfigError, match="GUAHAO_TWILIO_API_KEY_SECRET") as info:
        load_settings(path, env={})
    assert "leaked-secret" not in str(info.value)
    with pytest.raises(ConfigError, match="GUAHAO_TWILIO_API_KEY_SECRET"):
        load_settings(env={}, overrides={"twilio_api_key_secret": "leaked-secret"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GUAHAO_TWILIO_API_KEY_SID", "AC" + "b" * 32),  # an account, not a key
        ("GUAHAO_TWILIO_API_KEY_SID", "SK" + "b" * 31),
        ("GUAHAO_TWILIO_TWIML_APP_SID", "AP" + "z" * 32),
        ("GUAHAO_TWILIO_TWIML_APP_SID", "PN" + "c" * 32),  # a phone number's SID
        ("GUAHAO_TWILIO_ACCOUNT_SID", "AC-my-account"),
    ],
)
def test_twilio_sids_must_have_their_shape(name, value):
    setting = name.removeprefix("GUAHAO_").lower()
    with pytest.raises(ConfigError, match=f"{setting}: must be .. followed by 32 hex digits"):
        load_settings(env={**SOFTPHONE_ENV, name: value})


@pytest.mark.parametrize(("ttl", "ok"), [("59", False), ("60", True), ("86400", True),
                                         ("86401", False), ("0", False)])  # fmt: skip
def test_the_token_lifetime_is_bounded_by_twilios(ttl, ok):
    env = {**SOFTPHONE_ENV, "GUAHAO_VOICE_TOKEN_TTL_SECONDS": ttl}
    if ok:
        assert load_settings(env=env).voice_token_ttl_seconds == int(ttl)
    else:
        with pytest.raises(ConfigError, match="voice_token_ttl_seconds: must be between 60"):
            load_settings(env=env)


@pytest.mark.parametrize("left_out", sorted(SOFTPHONE_ENV))
def test_half_a_softphone_is_refused_at_start(left_out):
    env = {k: v for k, v in SOFTPHONE_ENV.items() if k != left_out}
    missing = left_out.removeprefix("GUAHAO_").lower()
    with pytest.raises(ConfigError, match=f"but {missing} is not") as info:
        load_settings(env=env)
    assert "test-api-key-secret" not in str(info.value)


def test_no_softphone_settings_is_no_softphone():
    settings = load_settings(env={"GUAHAO_TWILIO_ACCOUNT_SID": "AC" + "a" * 32})
    assert (settings.twilio_api_key_sid, settings.twilio_api_key_secret) == ("", None)
