"""Kiosks and devices: MQTT jobs, ticket printers and card terminals on serial ports (自助机)."""
