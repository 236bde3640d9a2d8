"""Where the engine finds its kiosks' broker: ``mqtt[s]://host:port``, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.hall.address import BrokerAddress


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtts://mqtt.hospital.example", BrokerAddress("mqtt.hospital.example", 8883, True)),
        ("mqtt://10.0.0.5", BrokerAddress("10.0.0.5", 1883, False)),
        (
            "mqtts://mqtt.hospital.example:18883/",
            BrokerAddress("mqtt.hospital.example", 18883, True),
        ),
        ("MQTT://[::1]:1884", BrokerAddress("::1", 1884, False)),
    ],
)
def test_a_broker_url_names_host_port_and_tls(url, address):
    assert BrokerAddress.from_url(url) == address
    assert BrokerAddress.from_url(address.url()) == address


def test_a_ca_file_goes_with_tls_only():
    ca = Path("/etc/guahao/hospital-ca.pem")
    assert BrokerAddress.from_url("mqtts://mqtt", ca).ca_file == ca
    with pytest.raises(ValueError, match="use mqtts://"):
        BrokerAddress.from_url("mqtt://mqtt", ca)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("tcp://mqtt:1883", "starts mqtts://"),
        ("mqtt.hospital.example:8883", "starts mqtts://"),
        ("mqtts://engine:s3cr3t@mqtt:8883", "no user name or password"),
        ("mqtts://:8883", "names no host"),
        ("mqtts://mqtt:8883/guahao", "nothing after it"),
        ("mqtts://mqtt:8883?x=1", "nothing after it"),
        ("mqtts://mqtt:99999", "not a broker URL"),
        ("mqtts://mqtt:0", "port 0"),
    ],
)
def test_what_is_not_a_broker_url_is_refused_saying_why(url, words):
    with pytest.raises(ValueError, match=words) as refused:
        BrokerAddress.from_url(url)
    assert "s3cr3t" not in str(refused.value)
