"""Kiosk devices (自助机外设): the interfaces and errors of :mod:`.base`, the ticket, and a
driver per device on a serial port (``serial_*``: the only modules that import pyserial)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .base import (
    ALL_DEVICE_ERRORS,
    Approval,
    Card,
    CardReader,
    CardTerminal,
    CardUnreadable,
    CoverOpen,
    Device,
    DeviceBusy,
    DeviceConnectionError,
    DeviceError,
    DeviceProtocolError,
    DeviceState,
    DeviceTimeout,
    IdCard,
    PaperOut,
    PatientCard,
    PaymentDeclined,
    Printer,
    PrinterFault,
    PrinterNotReady,
    PrinterOffline,
    PrinterStatus,
)
from .ticket import Ticket

if TYPE_CHECKING:
    from .serial_card_reader import SerialCardReader
    from .serial_card_terminal import SerialCardTerminal
    from .serial_printer import SerialPrinter

# The serial drivers are imported when first named (PEP 562): the engine reads the device
# errors here for the kiosk protocol and never drives a port, and python-escpos alone takes
# 0.4 s to import (its capabilities file) in every engine process.
_DRIVERS = {
    "SerialCardReader": ".serial_card_reader",
    "SerialCardTerminal": ".serial_card_terminal",
    "SerialPrinter": ".serial_printer",
}


def __getattr__(name: str) -> Any:
    if name in _DRIVERS:
        return getattr(import_module(_DRIVERS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALL_DEVICE_ERRORS",
    "Approval",
    "Card",
    "CardReader",
    "CardTerminal",
    "CardUnreadable",
    "CoverOpen",
    "Device",
    "DeviceBusy",
    "DeviceConnectionError",
    "DeviceError",
    "DeviceProtocolError",
    "DeviceState",
    "DeviceTimeout",
    "IdCard",
    "PaperOut",
    "PatientCard",
    "PaymentDeclined",
    "Printer",
    "PrinterFault",
    "PrinterNotReady",
    "PrinterOffline",
    "PrinterStatus",
    "SerialCardReader",
    "SerialCardTerminal",
    "SerialPrinter",
    "Ticket",
]
