"""Simulated kiosk devices on real pseudo-terminals, for tests and ``make demo``."""

from .printer import PrinterSimulator

__all__ = ["PrinterSimulator"]
