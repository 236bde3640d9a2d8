"""The engine's side of the kiosks in the hospital hall (门诊大厅自助机): what the engine says
to them over MQTT (docs/kiosk-protocol.md) and the broker's files that let each kiosk in.

- :mod:`.link`: :class:`~.link.HallLink`, the engine's one MQTT connection (aiomqtt): shared
  subscriptions to the kiosks' requests, acks and status; ``publish_job`` and ``reply``
  that return once the broker has the message; reconnects with back-off.
- :mod:`.inbox`: what kiosks send, read and handed to the engine's handlers
  (:class:`~.inbox.KioskHandlers`) in order per kiosk; :mod:`.answers` answers each
  request once, within the protocol's 5 s.
- :mod:`.requests`: :class:`~.requests.KioskDoor`, those handlers: a patient's requests run
  against the booking core as the kiosk, acks and statuses recorded; :mod:`.wording` the
  screen's words for every refusal.
- :mod:`.sending`: the ``kiosk`` outbox consumer (jobs published, then marked sent), the
  re-sends, the broker's files kept in step with the registry; :mod:`.background` runs
  the link and these workers together (the engine's ``engine/kiosking.py``).
- :mod:`.address`: the broker's ``mqtt[s]://host:port``.
- :mod:`.mosquitto`: mosquitto's password file and ACL, written from the kiosk registry,
  and the broker's reload.
"""
