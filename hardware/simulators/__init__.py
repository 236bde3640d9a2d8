"""Simulated kiosk devices on real pseudo-terminals, for tests and ``make demo``."""

from .card_reader import CardReaderSimulator
from .printer import PrinterSimulator

__all__ = ["CardReaderSimulator", "PrinterSimulator"]
