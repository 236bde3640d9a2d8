"""Simulated kiosk devices on real pseudo-terminals, for tests and ``make demo``."""
