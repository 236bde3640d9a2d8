"""Where the engine finds the MQTT broker its kiosks use: ``mqtt://host:port`` or, with TLS,
``mqtts://host:port`` (the ``kiosk_broker_url`` setting), and what its user name there may
be. Pure, and light enough for the engine's settings to import: no client is made here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PORTS = {"mqtt": 1883, "mqtts": 8883}
"""MQTT's registered ports, without TLS and with."""

USER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""What the engine's MQTT user name may be: nothing that could break a line of mosquitto's
password file or ACL."""


@dataclass(frozen=True)
class BrokerAddress:
    """A broker's host and port, whether to speak TLS, and the CA that vouches for its
    certificate (None: the system's CAs)."""

    host: str
    port: int
    tls: bool
    ca_file: Path | None = None

    @classmethod
    def from_url(cls, url: str, ca_file: str | Path | None = None) -> BrokerAddress:
        """Read ``mqtt[s]://host[:port]``; ValueError saying what is wrong with it."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as err:
            raise ValueError(f"{url!r} is not a broker URL: {err}") from None
        if parts.scheme not in PORTS:
            raise ValueError(f"{url!r}: a broker URL starts mqtts:// (TLS) or mqtt://")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "a broker URL carries no user name or password: the engine's user and its "
                "password are settings of their own (the password a secret)"
            )
        if not parts.hostname:
            raise ValueError(f"{url!r} names no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{url!r}: only mqtt[s]://host:port, nothing after it")
        if port == 0:
            raise ValueError(f"{url!r}: port 0 is no broker's")
        tls = parts.scheme == "mqtts"
        if ca_file and not tls:
            raise ValueError(f"{url!r} is without TLS, yet a CA file is given: use mqtts://")
        return cls(
            parts.hostname, port or PORTS[parts.scheme], tls, Path(ca_file) if ca_file else None
        )

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"

    def __str__(self) -> str:
        return self.url()
