"""The kiosk agent (``guahao-kiosk run``): the process on the kiosk PC between the engine (MQTT,
docs/kiosk-protocol.md) and the kiosk's devices (serial ports, :mod:`hardware.devices`).

- :mod:`.config`: the TOML file (docs/kiosk.md lists every key).
- :mod:`.payloads`: each job kind's payload, checked (the envelopes and topics are
  :mod:`hardware.protocol`'s, shared with the engine), pure.
- :mod:`.link`: the MQTT connection (the agent's one aiomqtt importer): reconnects, status, will.
- :mod:`.journal`: the job journal in SQLite; :mod:`.jobs` runs jobs once, acks each once;
  :mod:`.money` the terminal's jobs and the reversal of charges whose answer never came.
- :mod:`.requests`, :mod:`.flow`, :mod:`.screen`: a patient at the kiosk.
- :mod:`.agent`: wires it together; :mod:`.cli`: the command line.
"""
