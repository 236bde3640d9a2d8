"""The engine's side of the kiosks in the hospital hall (门诊大厅自助机): what the engine says
to them over MQTT (docs/kiosk-protocol.md) and the broker's files that let each kiosk in.

- :mod:`.mosquitto`: mosquitto's password file and ACL, written from the kiosk registry,
  and the broker's reload.
- :mod:`.inbox`: what kiosks send (requests, job acks, status), read and handed to the
  engine's handlers (:class:`~.inbox.KioskHandlers`) in order per kiosk; :mod:`.answers`
  answers each request once, within the protocol's 5 s.
"""
