"""The engine's side of the kiosks in the hospital hall (门诊大厅自助机): what the engine says
to them over MQTT (docs/kiosk-protocol.md) and the broker's files that let each kiosk in.

- :mod:`.link`: :class:`~.link.HallLink`, the engine's one MQTT connection (aiomqtt): shared
  subscriptions to the kiosks' requests, acks and status; ``publish_job`` and ``reply``
  that return once the broker has the message; reconnects with back-off.
- :mod:`.inbox`: what kiosks send, read and handed to the engine's handlers
  (:class:`~.inbox.KioskHandlers`) in order per kiosk; :mod:`.answers` answers each
  request once, within the protocol's 5 s.
- :mod:`.address`: the broker's ``mqtt[s]://host:port``.
- :mod:`.mosquitto`: mosquitto's password file and ACL, written from the kiosk registry,
  and the broker's reload.
"""
