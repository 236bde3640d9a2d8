"""Kiosk devices (自助机外设): the interfaces and errors of :mod:`.base`, the ticket, and a
driver per device on a serial port (``serial_*``: the only modules that import pyserial)."""

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
from .serial_card_reader import SerialCardReader
from .serial_card_terminal import SerialCardTerminal
from .serial_printer import SerialPrinter
from .ticket import Ticket

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
