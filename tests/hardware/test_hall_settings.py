"""The engine's kiosk settings: off without a broker URL, the URL and the user checked at
start, the password from the environment only, and the settings that go together."""

from __future__ import annotations

import pytest

from engine.config import SETTINGS, ConfigError, load_settings, require_secret

KIOSK_SETTINGS = [s.name for s in SETTINGS if s.name.startswith("kiosk_broker_")]


def test_without_a_broker_url_the_engine_has_no_kiosks():
    settings = load_settings(env={})
    assert settings.kiosk_broker_url == ""
    assert settings.kiosk_broker_user == "engine"
    assert settings.kiosk_broker_password is None
    assert KIOSK_SETTINGS == [
        "kiosk_broker_url",
        "kiosk_broker_user",
        "kiosk_broker_password",
        "kiosk_broker_ca_path",
        "kiosk_broker_client_id",
        "kiosk_broker_passwd_path",
        "kiosk_broker_acl_path",
        "kiosk_broker_pid_path",
    ]


def test_the_broker_url_is_read_with_its_port_and_refused_when_it_is_none():
    env = {"GUAHAO_KIOSK_BROKER_URL": "MQTTS://mqtt.hospital.example"}
    assert load_settings(env=env).kiosk_broker_url == "mqtts://mqtt.hospital.example:8883"
    for url, words in (
        ("https://mqtt:8883", "starts mqtts://"),
        ("mqtts://engine:pw@mqtt", "no user name or password"),
    ):
        with pytest.raises(ConfigError, match=f"kiosk_broker_url: .*{words}"):
            load_settings(env={"GUAHAO_KIOSK_BROKER_URL": url})


def test_the_password_comes_from_the_environment_only(tmp_path):
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cr3t\n")
    env = {"GUAHAO_KIOSK_BROKER_PASSWORD_FILE": str(secret)}
    settings = load_settings(env=env)
    assert require_secret(settings, "kiosk_broker_password") == "s3cr3t"
    assert "s3cr3t" not in repr(settings)
    toml = tmp_path / "guahao.toml"
    toml.write_text('kiosk_broker_password = "s3cr3t"\n')
    with pytest.raises(ConfigError, match="must not be in configuration file"):
        load_settings(toml, env={})
    with pytest.raises(ConfigError, match="cannot be given on the command line"):
        load_settings(env={}, overrides={"kiosk_broker_password": "s3cr3t"})


@pytest.mark.parametrize("user", ["engine:1", "engine one", "", "e" * 65])
def test_a_user_name_that_would_break_the_broker_s_files_is_refused(user):
    with pytest.raises(ConfigError, match="kiosk_broker_user"):
        load_settings(env={"GUAHAO_KIOSK_BROKER_USER": user})


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"GUAHAO_KIOSK_BROKER_CA_PATH": "/etc/ca.pem"}, "a CA vouches for a TLS broker"),
        (
            {"GUAHAO_KIOSK_BROKER_URL": "mqtt://mqtt", "GUAHAO_KIOSK_BROKER_CA_PATH": "/ca.pem"},
            "a CA vouches for a TLS broker",
        ),
        ({"GUAHAO_KIOSK_BROKER_PASSWD_PATH": "/etc/mosquitto/passwd"}, "together, or neither"),
        ({"GUAHAO_KIOSK_BROKER_ACL_PATH": "/etc/mosquitto/guahao.acl"}, "together, or neither"),
        ({"GUAHAO_KIOSK_BROKER_PID_PATH": "/run/mosquitto.pid"}, "no broker files to reload"),
    ],
)
def test_settings_that_go_together_are_refused_alone(env, words):
    with pytest.raises(ConfigError, match=words):
        load_settings(env=env)


def test_the_whole_set_loads():
    env = {
        "GUAHAO_KIOSK_BROKER_URL": "mqtts://mqtt.hospital.example:8883",
        "GUAHAO_KIOSK_BROKER_CA_PATH": "/etc/guahao/hospital-ca.pem",
        "GUAHAO_KIOSK_BROKER_PASSWD_PATH": "/etc/mosquitto/passwd",
        "GUAHAO_KIOSK_BROKER_ACL_PATH": "/etc/mosquitto/guahao.acl",
        "GUAHAO_KIOSK_BROKER_PID_PATH": "/run/mosquitto/mosquitto.pid",
        "GUAHAO_KIOSK_BROKER_CLIENT_ID": "guahao-a",
    }
    settings = load_settings(env=env)
    assert (settings.kiosk_broker_pid_path, settings.kiosk_broker_client_id) == (
        "/run/mosquitto/mosquitto.pid",
        "guahao-a",
    )


def test_no_setting_reads_like_a_secret_s_file():
    """``GUAHAO_<SECRET>_FILE`` names the file holding a secret: no other setting may have
    that variable (a ``kiosk_broker_password_file`` would have been read as the password)."""
    names = {s.env_var for s in SETTINGS}
    assert [s.name for s in SETTINGS if s.secret and f"{s.env_var}_FILE" in names] == []
