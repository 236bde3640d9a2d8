"""Kiosks and devices (自助机): MQTT jobs, ticket printers and card terminals on serial ports.

- :mod:`hardware.protocol`: docs/kiosk-protocol.md as both sides read and write it (pure).
- :mod:`hardware.devices`: the printer, card reader and card terminal drivers (pyserial).
- :mod:`hardware.simulators`: each device on a pseudo-terminal, for tests and the demo.
- :mod:`hardware.agent`: ``guahao-kiosk``, the agent on the kiosk PC (aiomqtt), speaking
  docs/kiosk-protocol.md to the engine.
"""
