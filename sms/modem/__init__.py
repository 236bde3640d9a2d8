"""The GSM modem (短信猫) gateway: a PDU codec (:mod:`.pdu`), the AT-command line
(:mod:`.at`), the :class:`~sms.gateway.Gateway` over it (:mod:`.gateway`) and a modem
simulator on a pseudo-terminal (:mod:`.simulator`) for tests and ``make demo``.

``ModemGateway`` and ``ModemSimulator`` are importable from here; they are loaded on
first use, so the simulator (standard library only) does not pull in the serial port
library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gateway import ModemGateway
    from .simulator import ModemSimulator

__all__ = ["ModemGateway", "ModemSimulator"]


def __getattr__(name: str) -> Any:
    if name == "ModemGateway":
        from .gateway import ModemGateway

        return ModemGateway
    if name == "ModemSimulator":
        from .simulator import ModemSimulator

        return ModemSimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
