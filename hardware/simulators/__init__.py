"""Simulated kiosk devices on real pseudo-terminals (tests and ``make demo``): a ticket
printer, a card reader and a card terminal. ``python -m hardware.simulators DIR`` runs all
three."""

from .card_reader import CardReaderSimulator
from .card_terminal import CardTerminalSimulator
from .printer import PrinterSimulator

__all__ = ["CardReaderSimulator", "CardTerminalSimulator", "PrinterSimulator"]
