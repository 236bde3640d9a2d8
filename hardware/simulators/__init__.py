"""Simulated kiosk devices on real pseudo-terminals, for tests and ``make demo``."""

from .card_reader import CardReaderSimulator
from .card_terminal import CardTerminalSimulator
from .printer import PrinterSimulator

__all__ = ["CardReaderSimulator", "CardTerminalSimulator", "PrinterSimulator"]
