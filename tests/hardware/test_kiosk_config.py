"""The kiosk's configuration file: every key declared, documented, checked; the password
never in the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hardware.agent import cli
from hardware.agent.config import (
    KEYS,
    PASSWORD_ENV,
    PASSWORD_FILE_ENV,
    ConfigError,
    load_config,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "hardware" / "agent" / "kiosk.example.toml"
MINIMAL = 'kiosk_id = "k0000000a"\nstate_dir = "state"\n[broker]\nhost = "mqtt.example"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_reads_as_documented():
    config = load_config(EXAMPLE, env={PASSWORD_ENV: "from-the-environment"})
    assert config.kiosk_id == "k3f9c01a2"
    assert config.password == "from-the-environment"
    assert (config.broker.host, config.broker.port, config.broker.tls) == (
        "mqtt.hospital.example",
        8883,
        True,
    )
    assert set(config.devices) == {"printer", "card_reader", "terminal"}
    assert config.devices["card_reader"].baudrate == 9600
    assert config.devices["printer"].reconnect_seconds == 5.0


def test_defaults_paths_and_absent_devices(tmp_path):
    (tmp_path / "pw").write_text("secret-1\n")
    config = load_config(write(tmp_path, 'password_file = "pw"\n' + MINIMAL), env={})
    assert config.password == "secret-1"  # the file's line, relative to the config's folder
    assert config.state_dir == tmp_path / "state"
    assert (config.broker.port, config.broker.tls, config.broker.ca_file) == (8883, True, None)
    assert config.devices == {}
    plain = load_config(write(tmp_path, MINIMAL + "tls = false\n"), env={PASSWORD_ENV: "x"})
    assert plain.broker.port == 1883


def test_the_password_comes_from_the_environment_before_the_file(tmp_path):
    (tmp_path / "pw").write_text("from-the-file\n")
    (tmp_path / "cred").write_text("from-systemd\n")
    path = write(tmp_path, 'password_file = "pw"\n' + MINIMAL)
    assert load_config(path, env={PASSWORD_FILE_ENV: str(tmp_path / "cred")}).password == (
        "from-systemd"
    )
    env = {PASSWORD_ENV: "from-env", PASSWORD_FILE_ENV: str(tmp_path / "cred")}
    assert load_config(path, env=env).password == "from-env"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('password = "hunter2"\n' + MINIMAL, "never goes in the configuration file"),
        (MINIMAL + 'password = "hunter2"\n', "never goes in the configuration file"),
        (MINIMAL, "no password"),
        ('kiosk_id = "K-1"\nstate_dir = "s"\n[broker]\nhost = "h"\n', "kiosk_id must be"),
        (MINIMAL + "prot = 1\n", r"unknown key broker.prot \(did you mean broker.port\?\)"),
        (MINIMAL + "port = 70000\n", "no TCP port"),
        (MINIMAL + 'tls = "yes"\n', "broker.tls must be true or false"),
        (MINIMAL + "tls = false\nca_file = 'ca.pem'\n", "ca_file is set but broker.tls"),
        (MINIMAL + "[printer]\nbaudrate = 9600\n", r"printer.port is missing"),
        (MINIMAL + "[scanner]\nport = 'x'\n", r"unknown section \[scanner\]"),
        ('state_dir = "s"\n[broker]\nhost = "h"\n', "kiosk_id is missing"),
        ("kiosk_id = ", "is not TOML"),
    ],
)
def test_a_wrong_file_is_refused_saying_what_is_wrong(tmp_path, text, message):
    env = {} if message == "no password" else {PASSWORD_ENV: "x"}
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), env=env)


def test_every_key_has_a_row_in_docs_kiosk_md():
    docs = (REPO / "docs" / "kiosk.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", docs, re.MULTILINE))
    declared = {key.name for key in KEYS}
    assert declared <= documented, f"undocumented: {sorted(declared - documented)}"


def test_the_command_line_refuses_a_bad_file_before_starting(tmp_path, capsys):
    assert cli.main(["run", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "guahao-kiosk: configuration: cannot read" in capsys.readouterr().err


def test_guahao_kiosk_is_a_console_script_of_the_distribution():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'guahao-kiosk = "hardware.agent.cli:main"' in pyproject
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--help"])
    assert exit_.value.code == 0


def test_the_systemd_unit_in_the_docs_is_the_one_shipped():
    docs = (REPO / "docs" / "kiosk.md").read_text(encoding="utf-8")
    block = docs.split("```ini\n")[1].split("```")[0]
    shipped = (REPO / "hardware" / "agent" / "guahao-kiosk.service").read_text(encoding="utf-8")
    assert [line.strip() for line in block.rstrip().splitlines()] == shipped.splitlines()
