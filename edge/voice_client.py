"""The name an agent's browser softphone has at Twilio (its ``identity``).

Twilio routes a call to a browser by this name (``<Dial><Client>op-17</Client></Dial>``)
and says it back as ``From=client:op-17`` when the browser places a call through the
TwiML App. It is ``op-<operator id>``, not the log-in name: an operator's id never changes
nor passes to another person, and it tells Twilio's logs (kept abroad) nothing about who
the person is — the console's operator page says who ``op-17`` is.
"""

from __future__ import annotations

import re

CLIENT_PREFIX = "client:"
_IDENTITY = re.compile(r"op-([1-9][0-9]{0,17})")


def client_identity(operator_id: int) -> str:
    """The softphone identity of operator ``operator_id``: ``op-17``."""
    return f"op-{operator_id}"


def operator_of(identity: str) -> int | None:
    """The operator id behind ``op-17`` or ``client:op-17``; None for anything else."""
    name = identity.removeprefix(CLIENT_PREFIX)
    found = _IDENTITY.fullmatch(name)
    return int(found.group(1)) if found else None
